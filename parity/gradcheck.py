"""The second, independent oracle: central finite differences in float64.

It knows nothing of torch or of the layer's backward: it perturbs one number
at a time and watches a scalar change.
"""

import numpy as np

from parity.tolerances import FD_STEP


def central_difference(f, x, h=FD_STEP):
    """d f() / d x by (f(x + h) - f(x - h)) / 2h, perturbing ``x`` in place.

    ``f`` takes no arguments and must read ``x`` (the same array object) when
    called; ``x`` is restored exactly after each element.
    """
    if x.dtype != np.float64:
        raise TypeError("finite differences need float64 (float32 rounding swamps the step)")
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous: it is perturbed in place")
    grad = np.empty(flat.size)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f()
        flat[i] = original - h
        f_minus = f()
        flat[i] = original
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)
