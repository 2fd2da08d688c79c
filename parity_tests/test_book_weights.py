"""The book's published weights: safe loading, and the published accuracies on both sides."""

import os
import pickle

import numpy as np
import pytest

from parity.experiments.book_weights import PUBLISHED, BookWeights
from parity_tests.conftest import assert_entry_passes
from scratch.weights import load_npz, load_pickle, save_npz


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


@pytest.mark.parametrize("spec", PUBLISHED, ids=[s.network for s in PUBLISHED])
def test_published_accuracy_on_both_sides(spec):
    """Needs $DLFS_WEIGHTS and $MNIST_ROOT (CI sets both); skips with the reason otherwise."""
    checks = assert_entry_passes(BookWeights(spec), "published")
    assert {c.quantity for c in checks} >= {"accuracy (scratch)", "accuracy (torch)",
                                           "predictions"}
