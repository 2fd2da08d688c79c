"""PyTorch twins of ``scratch.layers`` (same names, same conventions).

Stock modules where torch has the book's behaviour; a few lines of custom code
where it has no setting for it.  Weights are copied in by ``parity.transfer``.
"""

import torch
import torch.nn.functional as F
from torch import nn


class Step(nn.Module):
    """Step function: 1 where x > 0, else 0 (``heaviside`` with value 0 at the kink)."""

    def forward(self, x):
        return torch.heaviside(x, torch.zeros((), dtype=x.dtype))


Relu = nn.ReLU          # gradient 0 at x == 0 (torch.maximum(x, 0) would give 0.5)
Sigmoid = nn.Sigmoid
Tanh = nn.Tanh


def Softmax():
    return nn.Softmax(dim=-1)


def Affine(in_features, out_features):
    """The book's Affine flattens its input silently; nn.Linear stores weight (out, in)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, out_features))


def _targets_for(x, t):
    """Index labels as int64, one-hot rows in x's dtype (what F.cross_entropy expects)."""
    return t.to(x.dtype) if t.dim() == 2 else t.long()


class SoftmaxWithLoss(nn.Module):
    """Mean softmax cross-entropy over the batch, in the book's two forms.

    ``"log_softmax"`` is plain ``F.cross_entropy``.  ``"book"`` reports the book's
    value -sum(t * log(softmax(x) + eps)) / N, but -- like the book's backward --
    passes on the gradient of the exact log-softmax loss, (softmax(x) - t) / N.
    That is not the derivative of the reported value; the finite-difference
    oracle measures the gap.
    """

    def __init__(self, convention="book", eps=1e-7):
        super().__init__()
        self.convention, self.eps = convention, eps

    def forward(self, x, t):
        t = _targets_for(x, t)
        exact = F.cross_entropy(x, t)
        if self.convention == "log_softmax":
            return exact
        dist = t if t.dim() == 2 else F.one_hot(t, x.shape[-1]).to(x.dtype)
        book = -(dist * torch.log(F.softmax(x, dim=-1) + self.eps)).sum() / x.shape[0]
        # value of the book's loss, gradient of the exact one (straight-through)
        return exact + (book - exact).detach()


class MeanSquaredError(nn.Module):
    """``"book"``: 0.5 * sum((y - t)**2); ``"mean"``: ``nn.MSELoss()``."""

    def __init__(self, convention="book"):
        super().__init__()
        self.convention = convention

    def forward(self, y, t):
        if self.convention == "book":
            return 0.5 * F.mse_loss(y, t, reduction="sum")
        return F.mse_loss(y, t)
