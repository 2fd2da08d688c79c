"""MNIST through ``torchvision.datasets.MNIST`` -- the reference loader.

The data root is the folder that contains ``MNIST/raw/``: the ``root`` argument,
else ``$MNIST_ROOT``, else ``./data``.  With ``download=True`` torchvision may
fetch missing files (needs network); offline, a missing file is a clear error
naming that setting.

Files may be raw or gzipped, as for the NumPy reader.  torchvision reads only the raw
files, so a root holding ``.gz`` files is decompressed once into a cache folder
(``$DLFS_CACHE``, default ``~/.cache/dlfs-parity``), refreshed when a ``.gz`` changes,
and torchvision reads that copy.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import torch
from torchvision import datasets

ENV_VAR = "MNIST_ROOT"
CACHE_VAR = "DLFS_CACHE"
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


def _cache_dir():
    base = os.environ.get(CACHE_VAR) or Path.home() / ".cache" / "dlfs-parity"
    return Path(base)


def readable_root(root):
    """A root torchvision can read: ``root`` itself when its four files are there raw,
    else a cache root whose MNIST/raw/ holds each file raw (a ``.gz`` decompressed, a raw
    file linked).  Files present in neither form are left out: torchvision says so."""
    raw = root / "MNIST" / "raw"
    if all((raw / name).is_file() for name in NAMES):
        return root
    if not any((raw / (name + ".gz")).is_file() for name in NAMES):
        return root  # nothing to decompress: torchvision reports what is missing
    key = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:16]
    cache = _cache_dir() / "mnist" / key
    (cache / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        target, gz = cache / "MNIST" / "raw" / name, raw / (name + ".gz")
        if (raw / name).is_file():
            target.unlink(missing_ok=True)
            target.symlink_to((raw / name).resolve())
        elif gz.is_file():
            _decompress(gz, target)
    return cache


def _decompress(gz, target):
    """``gz`` -> ``target`` unless ``target`` is newer; via a temporary file (no half copies)."""
    if target.is_file() and not target.is_symlink() and \
            target.stat().st_mtime >= gz.stat().st_mtime:
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(gz, "rb") as src:
            shutil.copyfileobj(src, out)
        target.unlink(missing_ok=True)
        os.replace(tmp, target)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        os.unlink(tmp)
        raise ValueError(f"MNIST file {gz}: not a complete gzip file ({type(err).__name__}: "
                         f"{err}).  The data root comes from {ENV_VAR} (or --mnist-root).") \
            from None
    except BaseException:
        os.unlink(tmp)
        raise


def mnist_dataset(root=None, train=True, download=False):
    root = Path(root or os.environ.get(ENV_VAR) or "data")
    raw = root / "MNIST" / "raw"
    try:
        return datasets.MNIST(root=str(readable_root(root)), train=train, download=download)
    except RuntimeError as err:
        if "not found" not in str(err).lower() and not download:
            raise _unreadable(raw, train, err) from err
        raise FileNotFoundError(
            f"MNIST not found under {raw} ({err}).\n"
            f"Set {ENV_VAR} (or --mnist-root) to the folder that contains MNIST/raw/, e.g. "
            f"DIR/MNIST/raw/train-images-idx3-ubyte, or allow a download (needs network)."
        ) from err
    except (AssertionError, ValueError, IndexError) as err:  # torchvision's own format checks
        raise _unreadable(raw, train, err) from err


def _unreadable(raw, train, err):
    return ValueError(
        f"MNIST files under {raw} ({'train' if train else 't10k'} split): torchvision "
        f"cannot read them ({type(err).__name__}: {err or 'a format check failed'}).  "
        f"The data root comes from {ENV_VAR} (or --mnist-root).")


def load_mnist(root=None, train=True, download=False, dtype=torch.float32):
    """(images (N, 1, 28, 28) scaled to [0, 1], labels int64 (N,)) as tensors."""
    ds = mnist_dataset(root, train, download)
    x = ds.data.unsqueeze(1).to(dtype) / 255.0
    return x, ds.targets.to(torch.int64)
