"""Twins of ``scratch.regularization``: the penalty as a module holding the parameters.

torch has no penalty module (optimizer ``weight_decay`` is the gradient of the L2
penalty, never its value), so these are a few lines of custom code.  Undecayed
parameters take no part in the output: their gradient is None, i.e. zero.
"""

import torch
from torch import nn


class WeightDecay(nn.Module):
    def __init__(self, shapes, lam, decay_keys=None):
        super().__init__()
        self.params = nn.ParameterDict({k: nn.Parameter(torch.zeros(s)) for k, s in shapes.items()})
        self.lam = lam
        self.decayed = [k for k in shapes
                        if (k.startswith("W") if decay_keys is None else k in decay_keys)]

    def forward(self, loss):
        return loss + sum(self.penalty(self.params[k]) for k in self.decayed)


class L2WeightDecay(WeightDecay):
    def penalty(self, W):
        return 0.5 * self.lam * (W**2).sum()


class L1WeightDecay(WeightDecay):
    def penalty(self, W):
        return self.lam * W.abs().sum()
