"""MNIST from the original IDX files, with NumPy alone (the book's ``dataset/mnist.py``).

The data root is the folder that contains ``MNIST/raw/`` -- the layout
``torchvision.datasets.MNIST`` uses, so both sides read the same files.  It comes
from the ``root`` argument, else the ``MNIST_ROOT`` environment variable, else
``./data``.  Files may be raw or gzipped.

The reader trusts nothing in a file: magic number, number of dimensions, image size,
byte count against the header, image count against label count, label range.  Every
error names the file and the setting that chose it (``MNIST_ROOT``).
"""

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

ENV_VAR = "MNIST_ROOT"
DEFAULT_ROOT = "data"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# IDX header: magic number (0x0000 08 ndim) then one big-endian uint32 per dimension.
_IDX_UBYTE = 0x08


class MnistNotFoundError(FileNotFoundError):
    pass


class MnistFormatError(ValueError):
    """A file that is there but is not what MNIST needs (truncated, wrong kind, ...)."""


def _bad(path, problem):
    return MnistFormatError(
        f"MNIST file {path}: {problem}.\n"
        f"The data root comes from {ENV_VAR} (or --mnist-root); replace the file with a good "
        f"copy (raw or .gz), or point {ENV_VAR} at a folder whose MNIST/raw/ holds one.")


def resolve_root(root=None):
    """The data root: the argument, else $MNIST_ROOT, else ./data."""
    return Path(root or os.environ.get(ENV_VAR) or DEFAULT_ROOT)


def find_file(root, name):
    """Path of ``ROOT/MNIST/raw/<name>`` or its ``.gz``; a clear error when neither exists."""
    raw = resolve_root(root) / "MNIST" / "raw"
    for candidate in (raw / name, raw / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise MnistNotFoundError(
        f"MNIST file {name!r} not found under {raw} (set {ENV_VAR}).\n"
        f"Set the data root with the environment variable {ENV_VAR} (or --mnist-root, or "
        f"`make ... {ENV_VAR}=DIR`) to the folder that contains MNIST/raw/, laid out as\n"
        f"  DIR/MNIST/raw/train-images-idx3-ubyte  (raw or .gz; likewise the other three files)\n"
        f"With network access, `python -m parity.data --download` fetches them via torchvision."
    )


def read_idx(path, ndim=None):
    """Read one IDX file of unsigned bytes into an array of its declared shape.

    ``ndim``: the number of dimensions the caller needs (3 for images, 1 for labels)."""
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = Path(path).read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _bad(path, f"not a complete gzip file ({type(err).__name__}: {err})") from None
    if len(data) < 4:
        raise _bad(path, f"{len(data)} bytes, shorter than an IDX header")
    zero, dtype_code, dims = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != _IDX_UBYTE:
        raise _bad(path, f"magic number {data[:4].hex()}, not an IDX file of unsigned bytes "
                         f"(0000 08 0n)")
    if ndim is not None and dims != ndim:
        kind = {3: "images (count, rows, columns)", 1: "labels (count,)"}.get(ndim, "")
        raise _bad(path, f"{dims} dimensions, expected {ndim}: {kind} -- are the images and "
                         f"labels files swapped?")
    if len(data) < 4 + 4 * dims:
        raise _bad(path, f"{len(data)} bytes, shorter than its {dims}-dimension header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise _bad(path, f"the header says {shape} ({int(np.prod(shape))} bytes of data), the "
                         f"file holds {body.size} (truncated or padded)")
    return body.reshape(shape)


def load_raw(root=None, train=True):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) exactly as stored, checked."""
    split = "train" if train else "test"
    images_path = find_file(root, FILES[f"{split}_images"])
    labels_path = find_file(root, FILES[f"{split}_labels"])
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise _bad(images_path, f"images of {images.shape[1]}x{images.shape[2]} pixels, "
                                f"MNIST's are 28x28")
    if len(images) != len(labels):
        raise _bad(images_path, f"{len(images)} images, but {labels_path.name} holds "
                                f"{len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise _bad(labels_path, f"label {labels.max()} out of range [0, 10)")
    return images, labels


def load_mnist(root=None, normalize=True, flatten=True, one_hot_label=False, dtype=np.float32):
    """The book's interface: ((x_train, t_train), (x_test, t_test)).

    ``normalize`` scales pixels to [0, 1] (x / 255); ``flatten`` gives (N, 784),
    otherwise (N, 1, 28, 28); ``one_hot_label`` gives (N, 10) rows.
    """
    return tuple(load_split(root, train, normalize, flatten, one_hot_label, dtype)
                 for train in (True, False))


def load_split(root=None, train=True, normalize=True, flatten=True, one_hot_label=False,
               dtype=np.float32):
    """(x, t) of one split, as ``load_mnist`` gives it (reads only that split's files)."""
    images, labels = load_raw(root, train)
    x = images.astype(dtype)
    if normalize:
        x /= 255.0
    x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, 28, 28)
    t = np.eye(10, dtype=dtype)[labels] if one_hot_label else labels.astype(np.int64)
    return x, t
