"""A generative adversarial network from the book's layers (the study notes' "applications").

Generator G: noise z -> Affine -> ReLU -> Affine -> Sigmoid -> an image in [0, 1].
Discriminator D: image -> Affine -> ReLU -> Affine -> one logit ("real").
One training step alternates (Goodfellow et al. 2014):
  D step: real images labelled 1 and G(z) labelled 0, binary cross-entropy on D's
          logits; only D is updated (G's output is taken as data);
  G step: fresh noise, loss BCE(D(G(z)), 1) -- the "non-saturating" loss, which still
          has a gradient while D rejects G's images -- backward through D into G;
          only G is updated (D's gradients from this pass are thrown away).
Each network has its own optimizer (Adam).
"""

import numpy as np

from scratch.functions import sigmoid
from scratch.layers import Affine, Layer, Relu, Sigmoid


class BCEWithLogits(Layer):
    """Mean binary cross-entropy of logits x against targets t in {0, 1}:
    -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), written as
    max(x, 0) - x t + log(1 + exp(-|x|)) -- never exp of a large number, never log(0):
    finite for any logit (the log of a sigmoid overflows or gives -inf at |x| ~ 800).
    """

    def forward(self, x, t):
        self.x, self.t = x, t.astype(x.dtype)
        loss = np.maximum(x, 0) - x * self.t + np.log1p(np.exp(-np.abs(x)))
        return loss.sum() / x.dtype.type(x.size)

    def backward(self, dout=1):
        return (sigmoid(self.x) - self.t) * (dout / self.x.dtype.type(self.x.size))


class MLP:
    """Affine layers with ReLU between them and an optional last activation;
    params "W1", "b1", ... in the book's layout and numbering."""

    def __init__(self, params, last=None):
        self.params = params
        n = sum(1 for k in params if k.startswith("W"))
        self.layers = []
        for i in range(1, n + 1):
            self.layers.append((str(i), Affine(params[f"W{i}"], params[f"b{i}"])))
            if i < n:
                self.layers.append(("", Relu()))
        if last is not None:
            self.layers.append(("", last))
        self.grads = {}

    def forward(self, x):
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        self.grads = {k + i: g for i, layer in self.layers if i for k, g in layer.grads.items()}
        return dout


def mlp_params(sizes, rng):
    """He-scaled weights, zero biases."""
    return {k: v for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)
            for k, v in ((f"W{i}", rng.standard_normal((a, b)) * np.sqrt(2.0 / a)),
                         (f"b{i}", np.zeros(b)))}


class GAN:
    def __init__(self, g_params, d_params, g_optimizer, d_optimizer):
        self.G = MLP(g_params, last=Sigmoid())
        self.D = MLP(d_params)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.bce = BCEWithLogits()

    def d_step(self, real, z):
        """One discriminator update on ``real`` and G(z); returns D's loss (the mean over
        the real and fake halves of the batch)."""
        fake = self.G.forward(z)
        x = np.concatenate([real, fake])
        t = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])[:, None]
        loss = self.bce.forward(self.D.forward(x), t)
        self.D.backward(self.bce.backward())
        self.d_optimizer.update(self.D.params, self.D.grads)
        return loss

    def g_step(self, z):
        """One generator update with the non-saturating loss BCE(D(G(z)), 1)."""
        logits = self.D.forward(self.G.forward(z))
        loss = self.bce.forward(logits, np.ones((len(z), 1)))
        dfake = self.D.backward(self.bce.backward())
        self.G.backward(dfake)
        self.g_optimizer.update(self.G.params, self.G.grads)
        return loss

    def train_step(self, real, z_d, z_g):
        return self.d_step(real, z_d), self.g_step(z_g)

    def sample(self, z):
        return self.G.forward(z)
