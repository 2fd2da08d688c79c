"""The second, independent oracle: central finite differences in float64.

It knows nothing of torch or of the layer's backward: it perturbs one number
at a time and watches a scalar change.
"""

import numpy as np

from parity.engine.tolerances import FD_MAX_ELEMENTS, FD_STEP


def central_difference(f, x, h=FD_STEP, indices=None):
    """d f() / d x by (f(x + h) - f(x - h)) / 2h, perturbing ``x`` in place.

    ``f`` takes no arguments and must read ``x`` (the same array object) when
    called; ``x`` is restored exactly after each element.  ``indices`` (flat)
    limits the work to those elements; the result then has their length.
    """
    if x.dtype != np.float64:
        raise TypeError("finite differences need float64 (float32 rounding swamps the step)")
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous: it is perturbed in place")
    indices = np.arange(flat.size) if indices is None else indices
    grad = np.empty(len(indices))
    for n, i in enumerate(indices):
        original = flat[i]
        flat[i] = original + h
        f_plus = f()
        flat[i] = original - h
        f_minus = f()
        flat[i] = original
        grad[n] = (f_plus - f_minus) / (2 * h)
    return grad if len(indices) != flat.size else grad.reshape(x.shape)


def spot_indices(size, rng, limit=FD_MAX_ELEMENTS):
    """All flat indices of an array with up to ``limit`` elements, else ``limit`` random ones
    (the CS231n "sparse" gradient check: large layers stay affordable, every array is hit)."""
    return np.arange(size) if size <= limit else np.sort(rng.choice(size, limit, replace=False))
