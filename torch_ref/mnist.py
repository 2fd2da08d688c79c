"""MNIST through ``torchvision.datasets.MNIST`` -- the reference loader.

The data root is the folder that contains ``MNIST/raw/``: the ``root`` argument,
else ``$MNIST_ROOT``, else ``./data``.  With ``download=True`` torchvision may
fetch missing files (needs network); offline, a missing file is a clear error
naming that setting.
"""

import os
from pathlib import Path

import torch
from torchvision import datasets

ENV_VAR = "MNIST_ROOT"


def mnist_dataset(root=None, train=True, download=False):
    root = Path(root or os.environ.get(ENV_VAR) or "data")
    try:
        return datasets.MNIST(root=str(root), train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found ..." / download failure
        raise FileNotFoundError(
            f"MNIST not found under {root / 'MNIST' / 'raw'} ({err}).\n"
            f"Set {ENV_VAR} (or --mnist-root) to the folder that contains MNIST/raw/, e.g. "
            f"DIR/MNIST/raw/train-images-idx3-ubyte, or allow a download (needs network)."
        ) from err


def load_mnist(root=None, train=True, download=False, dtype=torch.float32):
    """(images (N, 1, 28, 28) scaled to [0, 1], labels int64 (N,)) as tensors."""
    ds = mnist_dataset(root, train, download)
    x = ds.data.unsqueeze(1).to(dtype) / 255.0
    return x, ds.targets.to(torch.int64)
