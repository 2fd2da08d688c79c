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
