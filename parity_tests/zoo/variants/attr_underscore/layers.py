import numpy as np


class Affine:
    """gradients in self.d_W / self.d_b"""

    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.d_W = None
        self.d_b = None

    def forward(self, x):
        self.original_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.matmul(self.x, self.W) + self.b

    def backward(self, dout):
        self.d_W = np.matmul(self.x.T, dout)
        self.d_b = np.sum(dout, axis=0)
        return np.matmul(dout, self.W.T).reshape(self.original_shape)
