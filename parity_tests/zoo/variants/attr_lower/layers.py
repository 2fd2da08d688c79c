import numpy as np


class Affine:
    """weights in self.w, gradients in self.dw / self.db"""

    def __init__(self, w, b):
        self.w = w
        self.b = b
        self.dw = None
        self.db = None

    def forward(self, x):
        self.in_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x.dot(self.w) + self.b

    def backward(self, dout):
        self.dw = self.x.T.dot(dout)
        self.db = dout.sum(0)
        return dout.dot(self.w.T).reshape(self.in_shape)
