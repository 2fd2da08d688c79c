import numpy as np


class SGD:
    """holds the parameters itself: SGD(params, lr).step(grads)"""

    def __init__(self, params, lr=0.01):
        self.params = params
        self.lr = lr

    def step(self, grads):
        for name, p in self.params.items():
            p -= self.lr * grads[name]


class Adam:
    """the book's Adam, PyTorch-style interface: Adam(params, lr).step(grads)"""

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999):
        self.params = params
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.t = 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for k, p in self.params.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * grads[k] ** 2
            p -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)
