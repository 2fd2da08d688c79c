import numpy as np


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        return np.maximum(x, 0)

    def backword(self, dout):  # (sic) the method name is misspelled; the math is right
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class Sigmoid:
    def forward(self, x):
        self.y = np.exp(-np.logaddexp(0, -x))
        return self.y

    def backward(self, dout):
        return dout * (1.0 - self.y) * self.y
