import numpy as np


class Affine:
    """stateless about its weights: forward(x, W, b) is handed them every call"""

    def forward(self, x, W, b):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        self.W = W
        return self.x @ W + b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)
