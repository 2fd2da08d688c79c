"""Saving and loading parameter dicts -- without running code from a file.

The book ships its trained weights as pickles (``pickle.load`` can execute any
code a file asks for).  ``load_pickle`` admits only what a dict of NumPy arrays
needs; ``save_npz``/``load_npz`` are the safe format for our own files.
"""

import hashlib
import pickle

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct  # NumPy 2
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct

# The only globals a pickled dict of arrays refers to (NumPy 1.x and 2.x spellings).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class WeightsError(ValueError):
    """A weights file that is there but cannot be used: wrong digest, damaged, not arrays."""


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"{self.path}: refusing to load {module}.{name}: only "
                                     f"NumPy arrays and plain containers are allowed")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_pickle(path, expected_sha256=None):
    """A dict of arrays from a pickle, refusing anything else; optionally verify its digest."""
    if expected_sha256 and (digest := sha256(path)) != expected_sha256:
        raise WeightsError(f"{path}: sha256 {digest[:12]}... does not match the published "
                           f"digest {expected_sha256[:12]}... (a different or damaged file)")
    with open(path, "rb") as f:
        unpickler = _ArraysOnly(f)
        unpickler.path = path
        try:
            params = unpickler.load()
        except pickle.UnpicklingError as err:
            if "refusing to load" in str(err):
                raise
            raise WeightsError(f"{path}: not a readable pickle ({err})") from None
        except (EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
            raise WeightsError(f"{path}: not a readable pickle ({type(err).__name__}: "
                               f"{str(err) or 'no message'})") from None
    if not (isinstance(params, dict) and all(isinstance(v, np.ndarray) for v in params.values())):
        raise WeightsError(f"{path}: expected a dict of arrays, got {type(params).__name__}")
    return params


def save_npz(params, path):
    np.savez(path, **params)


def load_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
