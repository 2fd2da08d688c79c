"""The one seeded input source.

Every array either side sees comes from here: drawn in float64 from a generator
seeded by the names of what it is for, then cast -- so float32 runs see the
float64 inputs rounded once, and both sides always get identical bytes.
"""

import zlib

import numpy as np
import torch

BASE_SEED = 20161  # any fixed number; changing it must not change a verdict
DTYPES = ("float64", "float32")
NP_DTYPE = {"float64": np.float64, "float32": np.float32}
TORCH_DTYPE = {"float64": torch.float64, "float32": torch.float32}


def source(*names):
    """A generator seeded by ``names`` (e.g. component, variant, sample)."""
    key = "/".join(str(n) for n in names)
    return np.random.default_rng([BASE_SEED, zlib.crc32(key.encode())])


def cast(value, dtype):
    """Floating arrays to ``dtype`` (a copy); integer arrays (labels) unchanged."""
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return value.astype(NP_DTYPE[dtype])
    return value.copy()


def with_values(x, values, rng):
    """``x`` with some entries replaced by ``values`` (kinks, extremes) at random places."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
    where = rng.choice(flat.size, size=min(len(values), flat.size), replace=False)
    flat[where] = np.asarray(values, dtype=np.float64)[: len(where)]
    return x


def labels(rng, n, num_classes):
    return rng.integers(0, num_classes, size=n)


def one_hot(t, num_classes):
    return np.eye(num_classes)[t]


def replayed_masks(p, *names):
    """A fresh keep-mask source; every source made with these names yields the same masks
    in turn (``names`` tell apart the dropout layers of one network)."""
    rng = source("Dropout", "masks", *names)
    return lambda shape: rng.random(shape) > p  # the book's rule: rand > ratio
