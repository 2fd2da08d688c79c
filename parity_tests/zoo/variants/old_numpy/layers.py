# written for NumPy < 1.24: np.float and np.int were removed since (AttributeError on import)
import numpy as np

DTYPE = np.float


class Relu:
    def forward(self, x):
        self.mask = (x <= 0)
        out = x.astype(DTYPE)
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.astype(DTYPE)
        dx[self.mask] = 0
        return dx


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(np.int(x.shape[0]), -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T).reshape(self.shape)
