"""Twins of ``scratch.initializers``: ``torch.nn.init`` on torch-layout weights.

Each takes a weight tensor (Linear: (out, in); Conv2d: (FN, C, FH, FW)) and an
optional ``torch.Generator``, and fills the tensor in place.  The book's "Xavier"
is ``kaiming_normal_(nonlinearity='sigmoid')`` (gain 1, std 1/sqrt(fan_in)),
not ``xavier_normal_``.
"""

from torch import nn


def fans(weight):
    """(fan_in, fan_out) exactly as torch.nn.init computes them (a private helper of torch)."""
    return nn.init._calculate_fan_in_and_fan_out(weight)


def std_init(weight, generator=None, std=0.01):
    return nn.init.normal_(weight, 0.0, std, generator=generator)


def book_xavier(weight, generator=None):
    return nn.init.kaiming_normal_(weight, nonlinearity="sigmoid", generator=generator)


def glorot_normal(weight, generator=None):
    return nn.init.xavier_normal_(weight, generator=generator)


def glorot_uniform(weight, generator=None):
    return nn.init.xavier_uniform_(weight, generator=generator)


def he_normal(weight, generator=None):
    return nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)


def he_uniform(weight, generator=None):
    return nn.init.kaiming_uniform_(weight, nonlinearity="relu", generator=generator)
