"""Weight-decay penalties as the book applies them (``MultiLayerNet.loss``/``gradient``).

The penalty is added to the data loss, over weights only (keys starting with "W",
or ``decay_keys``): biases and batch-norm parameters are not decayed.

  L2: loss + 0.5 * lam * sum(W**2)   gradient lam * W
  L1: loss + lam * sum(|W|)          gradient lam * sign(W)   (0 at W == 0, as torch.abs)
"""

import numpy as np

from scratch.layers import Layer


class WeightDecay(Layer):
    """forward(loss) -> loss + penalty(params); backward fills grads (0 for undecayed keys)."""

    def __init__(self, params, lam, decay_keys=None):
        super().__init__()
        self.params, self.lam = params, lam
        self.decayed = [k for k in params
                        if (k.startswith("W") if decay_keys is None else k in decay_keys)]

    def forward(self, loss):
        return loss + sum(self.penalty(self.params[k]) for k in self.decayed)

    def backward(self, dout=1):
        for key, W in self.params.items():
            self.grads[key] = dout * self.gradient(W) if key in self.decayed else np.zeros_like(W)
        return np.array(dout, copy=True)  # d(loss + penalty) / d loss = 1


class L2WeightDecay(WeightDecay):
    def penalty(self, W):
        return 0.5 * self.lam * np.sum(W**2)

    def gradient(self, W):
        return self.lam * W


class L1WeightDecay(WeightDecay):
    def penalty(self, W):
        return self.lam * np.sum(np.abs(W))

    def gradient(self, W):
        return self.lam * np.sign(W)
