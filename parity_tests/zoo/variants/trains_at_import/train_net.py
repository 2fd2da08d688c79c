# A learner's script: the layers and, at module level (no __main__ guard), a training run
# with prints. Importing it trains for a few thousand steps.
import numpy as np


class Relu:
    def forward(self, x):
        self.keep = x > 0
        return x * self.keep

    def backward(self, dout):
        return dout * self.keep


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x.dot(self.W) + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T.dot(dout), dout.sum(axis=0)
        return dout.dot(self.W.T)


class SoftmaxWithLoss:
    def forward(self, x, t):
        if t.ndim == 2:  # one-hot labels
            t = t.argmax(axis=1)
        p = np.exp(x - x.max(axis=1, keepdims=True))
        self.y, self.t = p / p.sum(axis=1, keepdims=True), t
        return -np.mean(np.log(self.y[np.arange(len(t)), t] + 1e-7))

    def backward(self, dout=1):
        g = self.y.copy()
        g[np.arange(len(self.t)), self.t] -= 1
        return g * dout / len(self.t)


rng = np.random.default_rng(0)
X = rng.standard_normal((64, 4))
T = (X[:, 0] * X[:, 1] > 0).astype(int)
layers = [Affine(0.5 * rng.standard_normal((4, 16)), np.zeros(16)), Relu(),
          Affine(0.5 * rng.standard_normal((16, 2)), np.zeros(2))]
loss_layer = SoftmaxWithLoss()
for step in range(3000):
    h = X
    for layer in layers:
        h = layer.forward(h)
    loss = loss_layer.forward(h, T)
    d = loss_layer.backward()
    for layer in reversed(layers):
        d = layer.backward(d)
    for layer in (layers[0], layers[2]):
        layer.W -= 0.1 * layer.dW
        layer.b -= 0.1 * layer.db
    if step % 500 == 0:
        print("step", step, "loss", loss)
