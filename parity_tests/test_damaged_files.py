"""One damaged data or weights file: exactly the entries that need it fail (CRASHED rows
naming the file and the setting), every other entry still runs, parity.csv is written.

Copies of the real data root and weights folder in tmp_path (links to the good files, one
damaged copy); /work/shared-style folders are only read.  Needs $MNIST_ROOT and
$DLFS_WEIGHTS (CI sets both); a cheap twin with tiny synthetic files always runs.
"""

import dataclasses
import os
from pathlib import Path

import pandas as pd
import pytest

from parity import cli
from parity.engine.registry import find
from parity.experiments import tables
from parity.experiments.book_weights import PUBLISHED, BookWeights
from parity.pairs.mnist import MnistLoaders
from parity.pairs.training import TrainingRun
from parity_tests.test_mnist import write_random_mnist

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]


def entries():
    """Who needs what: the loader and the training run need all four MNIST files, the
    published-weights entry the two test files and sample_weight.pkl, tanh nothing."""
    return [dataclasses.replace(MnistLoaders(), dtypes=("uint8",)),
            TrainingRun(tables.MLP, tables.SGD, steps=5),
            BookWeights(PUBLISHED[0]),
            find("tanh", "default")]


def linked_copy(src, dst, names, damaged, damage):
    dst.mkdir(parents=True)
    for name in names:
        if name == damaged:
            (dst / name).write_bytes(damage((src / name).read_bytes()))
        else:
            (dst / name).symlink_to((src / name).resolve())


def flip_last_byte(data):
    return data[:-1] + bytes([data[-1] ^ 0xFF])


CASES = {  # damaged file -> (how, components that must crash)
    "train-images-idx3-ubyte": (lambda d: d[:-784], {"MNIST loader", "training"}),
    "t10k-labels-idx1-ubyte": (lambda d: d[:-1] + b"\x0c", {"MNIST loader", "training",
                                                             "book weights"}),
    "sample_weight.pkl": (flip_last_byte, {"book weights"}),
}


@pytest.mark.parametrize("damaged", list(CASES))
def test_one_damaged_real_file_fails_exactly_the_entries_that_need_it(
        damaged, tmp_path, monkeypatch):
    mnist, weights = os.environ.get("MNIST_ROOT"), os.environ.get("DLFS_WEIGHTS")
    if not (mnist and weights):
        pytest.skip("needs MNIST_ROOT and DLFS_WEIGHTS (the real files)")
    how, crashing = CASES[damaged]
    linked_copy(Path(mnist) / "MNIST" / "raw", tmp_path / "data" / "MNIST" / "raw",
                MNIST_FILES, damaged, how)
    linked_copy(Path(weights), tmp_path / "weights", [PUBLISHED[0].file], damaged, how)
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DLFS_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setattr(cli, "load_all", entries)
    assert cli.main(["--out", str(tmp_path / "out")]) == 1
    df = pd.read_csv(tmp_path / "out" / "parity.csv")
    kind = df["component"].str.split(":").str[0]
    crashed = set(kind[df["verdict"] == "CRASHED"])
    assert crashed == crashing
    assert df[df["verdict"] == "CRASHED"]["note"].str.contains(damaged).all()
    assert df[~kind.isin(crashing)]["passed"].all()
    assert set(kind) == {"MNIST loader", "training", "book weights", "tanh"}  # all ran


def test_tiny_files_one_damaged_the_rest_runs(tmp_path, monkeypatch, capsys):
    raw = write_random_mnist(tmp_path / "data")
    (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")  # header cut short
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "data"))
    monkeypatch.delenv("DLFS_WEIGHTS", raising=False)
    monkeypatch.setattr(cli, "load_all", entries)
    assert cli.main(["--out", str(tmp_path / "out")]) == 1
    df = pd.read_csv(tmp_path / "out" / "parity.csv")
    crashed = df[df["verdict"] == "CRASHED"]
    assert set(crashed["component"].str.split(":").str[0]) == {"MNIST loader", "training"}
    # (the published-weights entry reads the test files only, but skips: no DLFS_WEIGHTS)
    assert crashed["note"].str.contains("train-images-idx3-ubyte").all()
    assert crashed["note"].str.contains("MNIST_ROOT").all()
    assert df[df["component"] == "tanh"]["passed"].all()
    assert "skipped: book_weights:_ch03" in capsys.readouterr().out  # no weights: skipped
