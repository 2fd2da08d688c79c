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


def write_random_mnist(root, n=3, seed=0):
    """Four random IDX files of ``n`` images each under ``root/MNIST/raw``; returns raw."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return raw


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


# ---- damaged files: every error names the file and the setting; raw and .gz roots alike ----
def gzip_all(raw):
    for path in list(raw.iterdir()):
        with open(path, "rb") as f, gzip.open(path.with_name(path.name + ".gz"), "wb") as g:
            shutil.copyfileobj(f, g)
        path.unlink()


def test_a_gzip_only_root_reads_the_same_on_both_sides(tiny_mnist, tmp_path_factory,
                                                       monkeypatch):
    root, arrays = tiny_mnist
    monkeypatch.setenv("DLFS_CACHE", str(tmp_path_factory.mktemp("cache")))
    gzip_all(root / "MNIST" / "raw")
    for dtype in MnistLoaders().dtypes:
        assert_entry_passes(MnistLoaders(root=str(root)), dtype)
    x, t = T.load_mnist(root, train=False)
    np.testing.assert_array_equal(t.numpy(), arrays["t10k"][1])
    # a changed .gz is decompressed again, not read from the stale cache
    raw = root / "MNIST" / "raw"
    new = np.roll(arrays["t10k"][1], 1)
    write_idx(raw / "t10k-labels-idx1-ubyte", new)
    gzip_all_one = raw / "t10k-labels-idx1-ubyte"
    with open(gzip_all_one, "rb") as f, gzip.open(raw / "t10k-labels-idx1-ubyte.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    gzip_all_one.unlink()
    os.utime(raw / "t10k-labels-idx1-ubyte.gz", (2e9, 2e9))
    np.testing.assert_array_equal(T.load_mnist(root, train=False)[1].numpy(), new)


def damage(raw, how):
    """Damage the tiny root's files ``how``; returns the name the error must give."""
    labels, images = raw / "t10k-labels-idx1-ubyte", raw / "t10k-images-idx3-ubyte"
    if how == "truncated":
        images.write_bytes(images.read_bytes()[:-100])
        return images.name
    if how == "wrong magic":
        data = bytearray(labels.read_bytes())
        data[2] = 0x0D  # float32, not unsigned bytes
        labels.write_bytes(bytes(data))
        return labels.name
    if how == "swapped":
        a, b = labels.read_bytes(), images.read_bytes()
        labels.write_bytes(b)
        images.write_bytes(a)
        return images.name
    if how == "count mismatch":
        write_idx(labels, np.zeros(2, np.uint8))  # 3 images, 2 labels
        return images.name
    if how == "label out of range":
        write_idx(labels, np.array([1, 10, 2]))
        return labels.name
    if how == "header only":
        labels.write_bytes(b"\x00\x00")
        return labels.name
    if how == "wrong image size":
        write_idx(images, np.zeros((3, 28, 27)))
        return images.name
    gz = labels.with_name(labels.name + ".gz")
    if how == "zero-length .gz":
        gz.write_bytes(b"")
    elif how == "truncated .gz":
        gz.write_bytes(gzip.compress(labels.read_bytes())[:-12])
    labels.unlink()
    return gz.name


DAMAGE = ["truncated", "wrong magic", "swapped", "count mismatch", "label out of range",
          "header only", "wrong image size", "zero-length .gz", "truncated .gz"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_file_is_an_error_naming_it_and_the_setting(tiny_mnist, how):
    root, _ = tiny_mnist
    name = damage(root / "MNIST" / "raw", how)
    with pytest.raises(S.MnistFormatError) as err:
        S.load_raw(root, train=False)
    assert name in str(err.value) and "MNIST_ROOT" in str(err.value)
    assert S.load_raw(root, train=True)[0].shape == (7, 28, 28)  # the other split still reads


@pytest.mark.parametrize("how", ["zero-length .gz", "truncated .gz", "truncated"])
def test_the_torch_side_refuses_damaged_files_too(tiny_mnist, tmp_path_factory, monkeypatch,
                                                  how):
    root, _ = tiny_mnist
    monkeypatch.setenv("DLFS_CACHE", str(tmp_path_factory.mktemp("cache")))
    damage(root / "MNIST" / "raw", how)
    with pytest.raises(ValueError, match="MNIST_ROOT"):
        T.load_mnist(root, train=False)


def test_the_loader_entry_turns_a_damaged_file_into_a_crashed_row(tiny_mnist):
    from parity.engine.runner import run_entries

    root, _ = tiny_mnist
    damage(root / "MNIST" / "raw", "count mismatch")
    checks, skipped = run_entries([MnistLoaders(root=str(root))])
    assert not skipped and {c.verdict for c in checks} == {"CRASHED"}
    assert "t10k-images-idx3-ubyte: 3 images, but t10k-labels-idx1-ubyte holds 2" in \
        checks[0].note


def test_a_missing_test_labels_file_skips_the_entry_naming_the_setting(tiny_mnist):
    from parity.engine.runner import run_entries

    root, _ = tiny_mnist
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    checks, skipped = run_entries([MnistLoaders(root=str(root))])
    assert not checks and len(skipped) == 2 and "MNIST_ROOT" in skipped[0]
    assert "t10k-labels-idx1-ubyte" in skipped[0]


# ---- the messages a learner reads for a damaged file, word for word where it matters ----
def idx_header(*dims, code=0x08, first=0):
    return bytes([first, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize("content,message", [
    (b"\x00\x00\x08\x01", r"4 bytes, shorter than its 1-dimension header"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x03", r"8 bytes, shorter than its 3-dimension header"),
    (idx_header(3, first=1), r"magic number 01000801, not an IDX file of unsigned bytes"),
    (idx_header(3, code=0x0D), r"magic number 00000d01, not an IDX file of unsigned bytes"),
    (idx_header(2**24 + 3, 28, 28) + bytes(3 * 784),  # every header byte counts
     r"the header says \(16777219, 28, 28\) \(13153339696 bytes of data\), the file holds 2352"),
    (idx_header(1, 2**24 + 28, 28) + bytes(784), r"the header says \(1, 16777244, 28\)"),
], ids=["header of 4 bytes", "header cut short", "magic byte 0", "magic byte 2",
        "count above 2**24", "rows above 2**24"])
def test_a_bad_idx_header_is_named_exactly(tmp_path, content, message):
    path = tmp_path / "f-idx-ubyte"
    path.write_bytes(content)
    with pytest.raises(S.MnistFormatError, match=message):
        S.read_idx(path)


def test_a_header_only_file_of_zero_images_is_an_empty_array(tmp_path):
    path = tmp_path / "f-idx-ubyte"
    path.write_bytes(idx_header(0, 28, 28))
    assert S.read_idx(path, ndim=3).shape == (0, 28, 28)


@pytest.mark.parametrize("how,message", [
    ("swapped", r"1 dimensions, expected 3: images \(count, rows, columns\) -- are the images "
                r"and labels files swapped\?"),
    ("images as labels", r"t10k-labels-idx1-ubyte: 3 dimensions, expected 1: labels \(count,\) "
                         r"-- are the images and labels files swapped\?"),
    ("wrong image size", r"images of 28x27 pixels, MNIST's are 28x28"),
    ("truncated .gz", r"not a complete gzip file \(EOFError: "),
])
def test_a_damaged_split_says_what_is_wrong(tiny_mnist, how, message):
    root, _ = tiny_mnist
    raw = root / "MNIST" / "raw"
    if how == "images as labels":
        shutil.copy(raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte")
    else:
        damage(raw, how)
    with pytest.raises(S.MnistFormatError, match=message):
        S.load_raw(root, train=False)


def test_the_book_defaults_flat_float32_train_split(tiny_mnist):
    root, arrays = tiny_mnist
    assert len(S.load_raw(root, train=True)[1]) == 7
    (x, t), (xt, _) = S.load_mnist(root)
    assert x.shape == (7, 784) and x.dtype == np.float32 and t.dtype == np.int64
    assert xt.shape == (3, 784)
    (x64, _), _ = S.load_mnist(root, dtype=np.float64)
    assert x64.dtype == np.float64
    x, t = S.load_split(root)
    assert x.shape == (7, 784) and np.array_equal(t, arrays["train"][1])
    for dtype in (np.float32, np.float64):
        _, t1 = S.load_split(root, train=False, one_hot_label=True, dtype=dtype)
        assert t1.dtype == dtype and np.array_equal(t1.argmax(1), arrays["t10k"][1])
