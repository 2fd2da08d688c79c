"""PyTorch twins of ``scratch.layers`` (same names, same conventions).

Stock modules where torch has the book's behaviour; a few lines of custom code
where it has no setting for it.  Weights are copied in by ``parity.engine.transfer``.
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
        n = x.shape[0] if x.dim() > 1 else 1  # one unbatched row (C,) is a batch of one
        book = -(dist * torch.log(F.softmax(x, dim=-1) + self.eps)).sum() / n
        # value of the book's loss, gradient of the exact one.  Written so that no large
        # numbers cancel: exact - exact.detach() is exactly 0 in value whatever its size
        # (exact + (book - exact).detach() returns 0.0 once exact reaches ~1e13).
        return book.detach() + (exact - exact.detach())


class MeanSquaredError(nn.Module):
    """``"book"``: 0.5 * sum((y - t)**2); ``"mean"``: ``nn.MSELoss()``."""

    def __init__(self, convention="book"):
        super().__init__()
        self.convention = convention

    def forward(self, y, t):
        if self.convention == "book":
            return 0.5 * F.mse_loss(y, t, reduction="sum")
        return F.mse_loss(y, t)


class BookBatchNorm(nn.Module):
    """The book's BatchNormalization; torch has no setting for it.

    Per activation (input flattened to (N, num_features)), running variance
    BIASED and starting at 0, running = momentum * running + (1 - momentum) *
    batch.  The normalisation itself is ``F.batch_norm``; only the running
    update is written out, because F.batch_norm would store the unbiased variance.
    """

    def __init__(self, num_features, momentum=0.9, eps=1e-6):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.zeros(num_features))

    def forward(self, x):
        flat = x.reshape(x.shape[0], -1)
        if self.training:
            out = F.batch_norm(flat, None, None, self.weight, self.bias, training=True,
                               eps=self.eps)
            with torch.no_grad():
                var, mean = torch.var_mean(flat, dim=0, correction=0)
                m = self.momentum
                self.running_mean.copy_(m * self.running_mean + (1 - m) * mean)
                self.running_var.copy_(m * self.running_var + (1 - m) * var)
        else:
            out = F.batch_norm(flat, self.running_mean, self.running_var, self.weight,
                               self.bias, training=False, eps=self.eps)
        return out.reshape(x.shape)


def BatchNormalization(num_features, momentum=0.9, eps=1e-6, convention="book",
                       input_ndim=2):
    """Twin of ``scratch.layers.BatchNormalization`` (``momentum`` in the book's sense).

    ``"book"``: ``BookBatchNorm`` over all C*H*W activations of 4-D input.
    ``"torch"``: stock ``nn.BatchNorm1d`` (2-D input) or ``nn.BatchNorm2d``
    (4-D input, per channel); momentum 0.9 here is torch's default 0.1.
    """
    if convention == "book":
        return BookBatchNorm(num_features, momentum, eps)
    stock = {2: nn.BatchNorm1d, 4: nn.BatchNorm2d}[input_ndim]
    return stock(num_features, eps=eps, momentum=1 - momentum)


class Dropout(nn.Module):
    """Dropout in the book's convention or torch's inverted one.

    Without ``mask_source`` this is ``F.dropout`` -- nn.Dropout's own random
    mask: x * mask / (1 - p) in training, x in eval -- times (1 - p) for the
    book.  ``mask_source(shape)`` injects the boolean keep-mask of each
    training call instead (the parity suite replays the scratch layer's masks).
    """

    def __init__(self, p=0.5, convention="book", mask_source=None):
        super().__init__()
        self.p, self.convention, self.mask_source = p, convention, mask_source

    def forward(self, x):
        book, keep = self.convention == "book", 1 - self.p
        if self.mask_source is None:  # nn.Dropout's own random mask
            out = F.dropout(x, self.p, self.training)
            return out * keep if book else out
        if not self.training:
            return x * keep if book else x
        mask = torch.as_tensor(self.mask_source(tuple(x.shape))).to(x.device, x.dtype)
        return x * mask if book else x * (mask / keep)  # nn.Dropout's arithmetic


Flatten = nn.Flatten
