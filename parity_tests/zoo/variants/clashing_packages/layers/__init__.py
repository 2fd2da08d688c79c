# a package called `layers` that is not common/layers.py
import numpy as np


class Sigmoid:
    def forward(self, x):
        self.out = np.exp(-np.logaddexp(0.0, -x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1.0 - self.out)
