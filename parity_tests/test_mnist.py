"""MNIST on both sides: same bytes, same labels; a clear error when the files are missing."""

import gzip
import os
import shutil

import numpy as np
import pytest

import scratch.mnist as S
import torch_ref.mnist as T
from parity.pairs.mnist import MnistLoaders
from parity_tests.conftest import assert_entry_passes


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path):
    """A root with four small IDX files in torchvision's layout."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", 7), ("t10k", 3)):
        arrays[split] = (rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n))
        write_idx(raw / f"{split}-images-idx3-ubyte", arrays[split][0])
        write_idx(raw / f"{split}-labels-idx1-ubyte", arrays[split][1])
    return tmp_path, arrays


def test_both_loaders_agree_on_tiny_files(tiny_mnist):
    root, arrays = tiny_mnist
    for dtype in MnistLoaders().dtypes:
        checks = assert_entry_passes(MnistLoaders(root=str(root)), dtype)
        assert len(checks) == 4
    images, labels = S.load_raw(root, train=False)
    np.testing.assert_array_equal(images, arrays["t10k"][0])
    np.testing.assert_array_equal(labels, arrays["t10k"][1])


def test_book_interface_shapes_and_scaling(tiny_mnist):
    root, arrays = tiny_mnist
    (x, t), (xt, tt) = S.load_mnist(root, normalize=True, flatten=True, one_hot_label=True)
    assert x.shape == (7, 784) and x.dtype == np.float32 and t.shape == (7, 10)
    assert x.max() <= 1.0 and np.array_equal(t.argmax(1), arrays["train"][1])
    (x4, _), _ = S.load_mnist(root, normalize=False, flatten=False)
    assert x4.shape == (7, 1, 28, 28) and x4.max() == arrays["train"][0].max()


def test_gzipped_files_read_the_same(tiny_mnist):
    root, _ = tiny_mnist
    raw = root / "MNIST" / "raw"
    plain = S.load_raw(root, train=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        with open(raw / name, "rb") as f, gzip.open(raw / (name + ".gz"), "wb") as g:
            shutil.copyfileobj(f, g)
        (raw / name).unlink()
    gz = S.load_raw(root, train=True)
    np.testing.assert_array_equal(plain[0], gz[0])
    np.testing.assert_array_equal(plain[1], gz[1])


def test_missing_files_name_the_setting_and_layout(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        S.load_mnist(tmp_path)
    text = str(err.value)
    assert "MNIST_ROOT" in text and "MNIST/raw/train-images-idx3-ubyte" in text
    with pytest.raises(FileNotFoundError, match="MNIST_ROOT"):
        T.load_mnist(tmp_path)


def test_root_comes_from_the_environment(tiny_mnist, monkeypatch):
    root, arrays = tiny_mnist
    monkeypatch.setenv("MNIST_ROOT", str(root))
    assert len(S.load_raw()[1]) == 7 and len(T.load_mnist()[1]) == 7


def test_real_mnist_loaders_agree():
    """The full 70,000 images on both sides (needs $MNIST_ROOT; CI sets it)."""
    if not os.environ.get("MNIST_ROOT"):
        pytest.skip("MNIST_ROOT is not set: point it at the folder containing MNIST/raw/")
    for dtype in MnistLoaders().dtypes:
        assert_entry_passes(MnistLoaders(), dtype)
    _, labels = S.load_raw(train=True)
    assert len(labels) == 60000 and list(labels[:6]) == [5, 0, 4, 1, 9, 2]
