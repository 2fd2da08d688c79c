"""MNIST from the original IDX files, with NumPy alone (the book's ``dataset/mnist.py``).

The data root is the folder that contains ``MNIST/raw/`` -- the layout
``torchvision.datasets.MNIST`` uses, so both sides read the same files.  It comes
from the ``root`` argument, else the ``MNIST_ROOT`` environment variable, else
``./data``.  Files may be raw or gzipped.
"""

import gzip
import os
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
        f"MNIST file {name!r} not found under {raw}.\n"
        f"Set the data root with the environment variable {ENV_VAR} (or --mnist-root, or "
        f"`make ... {ENV_VAR}=DIR`) to the folder that contains MNIST/raw/, laid out as\n"
        f"  DIR/MNIST/raw/train-images-idx3-ubyte  (raw or .gz; likewise the other three files)\n"
        f"With network access, `python -m parity.data --download` fetches them via torchvision."
    )


def read_idx(path):
    """Read one IDX file of unsigned bytes into an array of its declared shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != _IDX_UBYTE:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, file holds {body.size} bytes")
    return body.reshape(shape)


def load_raw(root=None, train=True):
    """(images uint8 (N, 28, 28), labels uint8 (N,)) exactly as stored."""
    split = "train" if train else "test"
    images = read_idx(find_file(root, FILES[f"{split}_images"]))
    labels = read_idx(find_file(root, FILES[f"{split}_labels"]))
    return images, labels


def load_mnist(root=None, normalize=True, flatten=True, one_hot_label=False, dtype=np.float32):
    """The book's interface: ((x_train, t_train), (x_test, t_test)).

    ``normalize`` scales pixels to [0, 1] (x / 255); ``flatten`` gives (N, 784),
    otherwise (N, 1, 28, 28); ``one_hot_label`` gives (N, 10) rows.
    """
    result = []
    for train in (True, False):
        images, labels = load_raw(root, train)
        x = images.astype(dtype)
        if normalize:
            x /= 255.0
        x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, 28, 28)
        t = np.eye(10, dtype=dtype)[labels] if one_hot_label else labels.astype(np.int64)
        result.append((x, t))
    return tuple(result)
