"""Augmented training runs keep parity: one plan per step, applied on both sides."""

import dataclasses

import numpy as np
import pytest

import scratch.augment
from parity.engine.compare import compare
from parity.engine.inputs import source
from parity.engine.tolerances import tolerance_for
from parity.experiments.augment_plan import draw_plan
from parity.experiments.tables import MLP, SGD
from parity.experiments.training import (
    BatchSampler,
    plan_augment,
    prepare,
    train_model,
    train_side_by_side,
)

RECIPE = dict(max_shift=2, pad=2, flip=True, max_angle=15.0, noise_std=0.05)
STEPS = 6


SYNTHETIC_IMAGES = 200  # the conftest fixture ``synthetic``


def losses_agree(curve):
    return compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(),
                   tolerance_for("training-float64"))


def test_an_augmented_run_keeps_float64_parity(synthetic):
    x, t = synthetic
    curve, final, setup = train_model(MLP, SGD, "float64", x, t, STEPS, batch_size=20,
                                      augment=plan_augment(**RECIPE))
    assert losses_agree(curve).passed
    weights = dataclasses.replace(tolerance_for("training-float64"), normwise=True)
    assert all(compare(setup.net.params[k], v, weights).passed for k, v in final.items())
    plain, _, _ = train_model(MLP, SGD, "float64", x, t, STEPS, batch_size=20)
    assert not np.allclose(curve.loss_scratch, plain.loss_scratch)  # it did augment


def test_the_augmenter_draws_a_new_plan_per_step_and_keeps_the_batch_intact(synthetic):
    x, _ = synthetic
    xb = x[:10].copy()
    augment = plan_augment(**RECIPE)
    ours, theirs = augment(1, xb)
    np.testing.assert_array_equal(xb, x[:10])
    assert ours.shape == theirs.shape == xb.shape and ours.dtype == xb.dtype
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours, plan_augment(**RECIPE)(1, xb)[0])  # seeded
    assert not np.allclose(ours, augment(2, xb)[0])


@pytest.mark.parametrize("torch_side", [
    plan_augment(seed=1, **RECIPE),  # the same recipe, another step's plan
    plan_augment(**(RECIPE | dict(noise_std=0.0))),  # one augmentation left out
], ids=["other seed", "no noise"])
def test_a_mismatched_plan_on_one_side_is_caught(synthetic, torch_side):
    x, t = synthetic
    scratch_side = plan_augment(**RECIPE)

    def mismatched(step, xb):
        return scratch_side(step, xb)[0], torch_side(step, xb)[1]

    curve, _, _ = train_model(MLP, SGD, "float64", x, t, STEPS, batch_size=20,
                              augment=mismatched)
    check = losses_agree(curve)
    assert not check.passed and check.worst_index is not None


def test_step_k_augments_with_the_plan_drawn_from_its_documented_source():
    """plan_augment's step k: draw_plan(source("augment plan", seed, k)) over image_shape
    images, applied to both sides -- the recorded runs replay from these seeds."""
    shape = (1, 6, 6)
    xb = source("plan_augment batch").random((3, 36))
    augment = plan_augment(shape, seed=4, max_shift=1, noise_std=0.1)
    ours, theirs = augment(7, xb)
    plan = draw_plan(source("augment plan", 4, 7), 3, shape, max_shift=1, noise_std=0.1)
    expected = scratch.augment.augment_batch(xb.reshape(3, *shape), plan).reshape(3, 36)
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_allclose(theirs.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_train_model_is_seeded_by_its_defaults(synthetic):
    """train_model(seed=s) is prepare(seed=s) -- the initial weights -- then batches from
    BatchSampler(seed=s): a recorded run replays from its seed.  Defaults: batch 100, seed 0."""
    x, t = synthetic
    default, _, _ = train_model(MLP, SGD, "float64", x, t, 2)
    spelled, _, _ = train_model(MLP, SGD, "float64", x, t, 2, batch_size=100, seed=0)
    np.testing.assert_array_equal(default.loss_scratch, spelled.loss_scratch)
    setup, scratch_opt, torch_opt = prepare(MLP, SGD, "float64", 1)
    by_hand, _ = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                                    BatchSampler(len(x), 100, 1).batches(2), setup.links,
                                    "float64")
    seeded, _, _ = train_model(MLP, SGD, "float64", x, t, 2, seed=1)
    np.testing.assert_array_equal(seeded.loss_scratch, by_hand.loss_scratch)
    assert not np.array_equal(seeded.loss_scratch, default.loss_scratch)
    np.testing.assert_array_equal(prepare(MLP, SGD, "float64")[0].net.params["W1"],
                                  prepare(MLP, SGD, "float64", 0)[0].net.params["W1"])
    assert not np.array_equal(setup.net.params["W1"],
                              prepare(MLP, SGD, "float64", 0)[0].net.params["W1"])
