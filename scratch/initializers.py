"""Weight initializers: the book's and the standard ones, for book-layout weights.

Fans as torch computes them, for the book's layouts:
  Affine W (in, out)             fan_in = in,          fan_out = out
  Convolution W (FN, C, FH, FW)  fan_in = C * FH * FW, fan_out = FN * FH * FW

A trap worth knowing: the book calls ``randn * sqrt(1 / fan_in)`` "Xavier".  That is
LeCun's initialization (torch: ``kaiming_normal_(nonlinearity='sigmoid')``), not
Glorot/Xavier (``xavier_normal_``: std sqrt(2 / (fan_in + fan_out))).
"""

import numpy as np


def fans(shape):
    """(fan_in, fan_out) of a book-layout weight: Affine (in, out) or Conv (FN, C, FH, FW)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        fn, c, fh, fw = shape
        return c * fh * fw, fn * fh * fw
    raise ValueError(f"no fan rule for a weight of shape {shape}")


# ---- each takes a book-layout shape and a numpy Generator, returns float64 ----
def std_init(shape, rng, std=0.01):
    """The book's ``weight_init_std * randn``."""
    return std * rng.standard_normal(shape)


def book_xavier(shape, rng):
    """The book's "Xavier": randn * sqrt(1 / fan_in) -- really LeCun normal."""
    fan_in, _ = fans(shape)
    return np.sqrt(1.0 / fan_in) * rng.standard_normal(shape)


def glorot_normal(shape, rng):
    fan_in, fan_out = fans(shape)
    return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)


def glorot_uniform(shape, rng):
    fan_in, fan_out = fans(shape)
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape)


def he_normal(shape, rng):
    """The book's "He" (weight_init_std='relu'): randn * sqrt(2 / fan_in)."""
    fan_in, _ = fans(shape)
    return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


def he_uniform(shape, rng):
    fan_in, _ = fans(shape)
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, shape)
