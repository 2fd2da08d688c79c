"""Training-run parity: the shared sampler, and whole runs on synthetic data (no MNIST needed)."""

import dataclasses

import numpy as np
import pytest

from parity.engine.compare import compare
from parity.engine.tolerances import tolerance_for
from parity.experiments.tables import MLP, OPTIMIZERS, SGD
from parity.experiments.training import BatchSampler, train_model


def test_sampler_shuffles_without_replacement_and_is_seeded():
    s = BatchSampler(n=103, batch_size=10, seed=3)
    epoch = s.epoch(0)
    assert epoch.shape == (10, 10) and len(np.unique(epoch)) == 100  # no repeats
    assert not np.array_equal(epoch, s.epoch(1))  # a new order every epoch
    np.testing.assert_array_equal(epoch, BatchSampler(103, 10, seed=3).epoch(0))
    batches = s.batches(25)  # runs across epochs
    assert len(batches) == 25 and np.array_equal(batches[10], s.epoch(1)[0])


SYNTHETIC_IMAGES = 400  # the conftest fixture ``synthetic``


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.name)
def test_mlp_runs_agree_in_float64(synthetic, optimizer):
    x, t = synthetic
    curve, final, setup = train_model(MLP, optimizer, "float64", x, t, 30)
    tol = tolerance_for("training-float64")
    assert compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(), tol).passed
    assert curve.loss_torch.iloc[-1] < curve.loss_torch.iloc[0]  # it actually trained
    weights = dataclasses.replace(tol, normwise=True)
    assert all(compare(setup.net.params[k], v, weights).passed for k, v in final.items())


def test_a_twin_with_another_learning_rate_is_caught(synthetic):
    x, t = synthetic
    other_lr = dataclasses.replace(SGD, twin=lambda ps, lr: SGD.twin(ps, lr=lr * 1.001))
    curve, _, _ = train_model(MLP, other_lr, "float64", x, t, 10)
    check = compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(),
                    tolerance_for("training-float64"))
    assert not check.passed and check.worst_index != "(0,)"  # step 1 agrees, then it drifts


# ---- the harness's plumbing, on a handful of samples (fast: mutation testing reruns these) ----
def test_the_sampler_uses_its_seed_and_moves_on_every_epoch():
    s = BatchSampler(n=10, batch_size=5, seed=0)
    assert not np.array_equal(s.epoch(0), BatchSampler(10, 5, seed=1).epoch(0))
    np.testing.assert_array_equal(np.stack(s.batches(8)),
                                  np.concatenate([s.epoch(k) for k in range(4)]))


def test_pairs_start_from_the_seeded_weights_in_the_run_dtype():
    from parity.experiments.training import build_pair, prepare

    setup = build_pair(MLP.scratch, MLP.twin, "float32")
    assert {v.dtype for v in setup.net.params.values()} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(setup.net.params["W1"],
                                  build_pair(MLP.scratch, MLP.twin, "float32", 0).net.params["W1"])
    assert not np.array_equal(prepare(MLP, SGD, "float64", 1)[0].net.params["W1"],
                              prepare(MLP, SGD, "float64", 0)[0].net.params["W1"])


def test_side_accuracies_count_every_sample():
    import torch

    from parity.experiments.training import accuracies, build_pair

    setup = build_pair(MLP.scratch, MLP.twin, "float64")
    x = np.random.default_rng(0).random((3, 784))
    with torch.no_grad():
        t = setup.twin.eval()(torch.from_numpy(x)).argmax(1).numpy()
    assert accuracies(setup, x, t, batch_size=2) == {"scratch": 1.0, "torch": 1.0}
    assert accuracies(setup, x, (t + 1) % 10, batch_size=2) == {"scratch": 0.0, "torch": 0.0}


def test_steps_count_from_one_and_reach_augment_on_a_float32_run():
    import torch

    from parity.experiments.training import prepare, train_side_by_side

    x, t = np.random.default_rng(0).random((6, 784)), np.arange(6)  # float64 data
    setup, scratch_opt, torch_opt = prepare(MLP, SGD, "float32")
    seen = []

    def augment(step, xb):
        seen.append(step)
        return xb, torch.from_numpy(xb).float()

    curve, _ = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                                  [np.arange(3), np.arange(3, 6)], setup.links, "float32")
    assert list(curve.step) == [1, 2]
    train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                       [np.arange(3), np.arange(3, 6)], setup.links, "float32", augment=augment)
    assert seen == [1, 2]


def test_mnist_for_a_run_in_its_shape_and_dtype_or_skipped_naming_the_file(tmp_path,
                                                                            monkeypatch):
    from parity.engine.registry import Skipped
    from parity.experiments import training
    from parity_tests.test_mnist import write_random_mnist

    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "none"))
    with pytest.raises(Skipped, match=r"^MNIST file 'train-images-idx3-ubyte' not found under "
                                      r".*none/MNIST/raw \(set MNIST_ROOT\)\.$"):
        training.load_mnist(True, "float32")
    write_random_mnist(tmp_path / "data")
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "data"))
    (x, t), (xt, _) = training.load_mnist(False, "float32")
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32 and xt.dtype == np.float32
    (x, _), _ = training.load_mnist(True, "float64")
    assert x.shape == (3, 784) and x.dtype == np.float64
