import numpy as np


class SGD:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate

    def update(self, params, grads):
        for key in params:
            params[key] -= self.learning_rate * grads[key]


class Momentum:
    def __init__(self, learning_rate=0.01, momentum=0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.v = {}

    def update(self, params, grads):
        for key in params:
            v = self.v.get(key, np.zeros_like(params[key]))
            self.v[key] = self.momentum * v - self.learning_rate * grads[key]
            params[key] += self.v[key]
