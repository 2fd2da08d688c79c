"""Activation and loss functions (the book's ``common/functions.py``).

Every function keeps its input's dtype: float32 in, float32 out.
"""

import numpy as np

from scratch.checks import check_labels, fail


def step_function(x):
    """1 where x > 0, else 0 (so 0 at the kink), in x's dtype.

    The book returns ``np.array(x > 0, dtype=int)``; we keep the float dtype so the
    result can flow into the next layer unchanged.
    """
    return (x > 0).astype(x.dtype)


def sigmoid(x):
    """1 / (1 + exp(-x)), the book's formula.

    For x < -709 (float32: -88) exp(-x) overflows to inf and the result is the right
    limit, 0; only NumPy's overflow warning is wrong, so it is silenced.  (Splitting on
    the sign of x avoids the overflow too, but measured 6-10x slower.)
    """
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def relu(x):
    """The book's ch03 function (the layer is ``scratch.layers.Relu``); ``make check``
    compares a learner's ``relu`` with it."""
    return np.maximum(x, 0)


def softmax(x):
    """Softmax over the last axis; subtracting the max keeps exp() finite (book p. 69)."""
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    """log(softmax(x)) without ever taking log of a rounded-to-zero probability."""
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def mean_squared_error(y, t):
    """The book's MSE: 0.5 * sum((y - t)**2) -- a sum, not a mean, and not divided by N."""
    return 0.5 * np.sum((y - t) ** 2)


def as_target_distribution(t, num_classes, dtype, where, n):
    """Labels for n samples as rows of class probabilities: index labels become one-hot.

    ``t``: class indices (n,) in [0, num_classes), or rows (n, num_classes) of
    probabilities (one-hot).  Anything else is an error naming ``where`` -- e.g.
    labels (n, 1) would otherwise index np.eye into an (n, 1, C) array and broadcast.
    """
    t = np.asarray(t)
    if t.ndim == 2 and t.shape == (n, num_classes):
        return t.astype(dtype, copy=False)
    check_labels(where, t, n, num_classes)
    return np.eye(num_classes, dtype=dtype)[t]


def cross_entropy_error(y, t, eps=1e-7):
    """The book's cross-entropy on probabilities: -sum(t * log(y + eps)) / N.

    ``eps`` keeps log() finite when a probability underflows to 0; it also caps the
    loss at -log(eps) = 16.12 and makes a perfect prediction's loss slightly negative.
    """
    if y.ndim == 1:  # one sample: make it a batch of one
        t = np.asarray(t)
        y, t = y.reshape(1, -1), (t.reshape(1, -1) if t.ndim == 1 else t.reshape(1))
    if y.ndim != 2:
        fail("cross_entropy_error", f"y must be probabilities (N, C) or one row (C,), "
             f"got shape {y.shape}")
    n = y.shape[0]
    t = as_target_distribution(t, y.shape[1], y.dtype, "cross_entropy_error", n)
    return -np.sum(t * np.log(y + y.dtype.type(eps))) / y.dtype.type(n)
