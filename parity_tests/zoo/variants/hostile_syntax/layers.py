import numpy as np


class Relu:
    def forward(self, x):
        self.on = np.heaviside(x, 0.0)
        return x * self.on

    def backward(self, dout):
        return dout * self.on
