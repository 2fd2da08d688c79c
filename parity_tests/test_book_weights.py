"""The book's published weights: safe loading, and the published accuracies on both sides."""

import os
import pickle

import numpy as np
import pytest

from parity.engine.registry import Skipped
from parity.experiments.book_weights import PUBLISHED, BookWeights, find_weights
from parity_tests.conftest import assert_entry_passes
from scratch.weights import WeightsError, _ArraysOnly, load_npz, load_pickle, save_npz


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"W1": RunsCode()}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_pickle(path)


def test_dict_of_arrays_loads_and_digest_is_checked(tmp_path):
    path = tmp_path / "ok.pkl"
    params = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.zeros(3, np.float32)}
    path.write_bytes(pickle.dumps(params))
    loaded = load_pickle(path)
    assert loaded.keys() == params.keys() and loaded["b1"].dtype == np.float32
    np.testing.assert_array_equal(loaded["W1"], params["W1"])
    with pytest.raises(ValueError, match="sha256"):
        load_pickle(path, expected_sha256="0" * 64)


def test_npz_round_trip(tmp_path):
    params = {"W1": np.random.default_rng(0).standard_normal((3, 2)), "b1": np.ones(2)}
    save_npz(params, tmp_path / "p.npz")
    loaded = load_npz(tmp_path / "p.npz")
    assert all(np.array_equal(loaded[k], v) for k, v in params.items())


def test_npz_with_an_object_array_is_refused(tmp_path):
    """An object array in an .npz is a pickle: loading it could run code, so it is refused."""
    np.savez(tmp_path / "p.npz", W1=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        load_npz(tmp_path / "p.npz")


@pytest.mark.parametrize("spec", PUBLISHED, ids=[s.network for s in PUBLISHED])
def test_published_accuracy_on_both_sides(spec):
    """Needs $DLFS_WEIGHTS and $MNIST_ROOT (CI sets both); skips with the reason otherwise."""
    checks = assert_entry_passes(BookWeights(spec), "published")
    assert {c.quantity for c in checks} >= {"accuracy (scratch)", "accuracy (torch)",
                                           "predictions"}


# ---- file names, damaged files: a failed row, never a stopped run ----
def test_the_book_repository_name_is_accepted_too(tmp_path):
    spec = next(s for s in PUBLISHED if s.book_file)  # SimpleConvNet: ch07/params.pkl
    with pytest.raises(Skipped) as why:
        find_weights(spec, tmp_path)
    assert "simple_convnet_params.pkl or params.pkl" in str(why.value)
    assert "DLFS_WEIGHTS" in str(why.value)
    (tmp_path / "params.pkl").write_bytes(b"")  # ch07/params.pkl in the book's repository
    assert find_weights(spec, tmp_path) == tmp_path / "params.pkl"
    (tmp_path / spec.file).write_bytes(b"")  # the published name wins when both are there
    assert find_weights(spec, tmp_path) == tmp_path / spec.file


@pytest.mark.parametrize("content", [b"", b"\x80\x04garbage", pickle.dumps([1, 2])[:-3],
                                     pickle.dumps([np.zeros(2)])])
def test_a_damaged_pickle_is_an_error_naming_the_file(tmp_path, content):
    path = tmp_path / "w.pkl"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="w.pkl"):
        load_pickle(path)


def test_a_tampered_weights_file_is_a_crashed_row_naming_the_setting(tmp_path, monkeypatch):
    from parity.engine.runner import run_entries
    from parity_tests.test_mnist import write_random_mnist

    write_random_mnist(tmp_path / "data")
    spec = PUBLISHED[0]
    (tmp_path / spec.file).write_bytes(pickle.dumps({"W1": np.zeros(2)}))  # digest differs
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("DLFS_WEIGHTS", str(tmp_path))
    checks, skipped = run_entries([BookWeights(spec)])
    assert not skipped and [c.verdict for c in checks] == ["CRASHED"]
    assert "sample_weight.pkl: sha256" in checks[0].note and "DLFS_WEIGHTS" in checks[0].note


# ---- the messages a learner reads, word for word ----
def test_weights_errors_name_the_file_and_the_problem(tmp_path, monkeypatch):
    import re

    from scratch.weights import sha256

    path = tmp_path / "w.pkl"
    at = re.escape(str(path))
    path.write_bytes(pickle.dumps({"W1": np.zeros(2)}))
    with pytest.raises(WeightsError, match=rf"^{at}: sha256 {sha256(path)[:12]}\.\.\. does not "
                                           r"match the published digest abcdef012345\.\.\. "
                                           r"\(a different or damaged file\)$"):
        load_pickle(path, expected_sha256="abcdef0123456789" * 4)
    path.write_bytes(pickle.dumps({"W1": RunsCode()}))
    with pytest.raises(pickle.UnpicklingError, match=rf"^{at}: refusing to load "):
        load_pickle(path)
    for content, problem in [(b"", r"\(EOFError: Ran out of input\)"),
                             (b"\x80\x04garbage", r"\(pickle data was truncated\)")]:
        path.write_bytes(content)
        with pytest.raises(WeightsError, match=rf"^{at}: not a readable pickle {problem}$"):
            load_pickle(path)
    # an error without a message still says what it was
    path.write_bytes(pickle.dumps({"W1": np.zeros(2)}))
    with monkeypatch.context() as patch:
        patch.setattr(_ArraysOnly, "load", lambda self: (_ for _ in ()).throw(EOFError()))
        with pytest.raises(WeightsError, match=rf"^{at}: not a readable pickle \(EOFError: no "
                                               r"message\)$"):
            load_pickle(path)
