import numpy as np


class ReLU:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)


class softmaxWithLoss:
    def forward(self, x, t):
        shifted = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.t = t
        n = x.shape[0]
        if t.ndim == 1:
            return -np.log(self.y[np.arange(n), t] + 1e-7).sum() / n
        return -(t * np.log(self.y + 1e-7)).sum() / n

    def backward(self, dout=1):
        n = self.y.shape[0]
        grad = self.y.copy()
        if self.t.ndim == 1:
            grad[np.arange(n), self.t] -= 1
        else:
            grad -= self.t
        return grad * dout / n
