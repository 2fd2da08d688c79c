"""The shared training harness feeds both sides the same numbers, so parity cannot check it.

A harness bug that pairs images with the wrong labels keeps scratch and torch in perfect
agreement.  Here the labels can be read off the images: image i is the constant level
LEVEL(t[i]) (robust to the augmentation plan: shifts, crops, flips and rotations move
zeros in at the borders only, noise averages out in a median), so every batch either side
sees is decoded and must carry its own labels.  The runs go through the real path:
``train_model`` -> ``BatchSampler`` -> ``train_side_by_side`` (-> ``plan_augment``), and
with dropout through ``mask_factory``/``masks_as_layers``.
"""

import numpy as np
import pytest

import parity.experiments.training as training
import scratch.models as SM
import torch_ref.models as TM
from parity.engine.compare import compare
from parity.engine.registry import Skipped
from parity.engine.tolerances import statistical, tolerance_for
from parity.experiments import tables
from parity.experiments.training import (
    BatchSampler,
    build_pair,
    mask_factory,
    masks_as_layers,
    plan_augment,
    train_model,
    train_side_by_side,
    twin_parameters,
)
from parity.pairs.training import TrainingRun

MLP, SGD = tables.MLP, tables.SGD
CLASSES, N, BATCH, STEPS = 10, 120, 20, 8
RECIPE = dict(max_shift=2, pad=2, flip=True, max_angle=15.0, noise_std=0.05)


def level(t):
    return (np.asarray(t) + 1.0) / (CLASSES + 2)


def decode(xb):
    """The label each (N, 784) image encodes: the median of its central 14x14 pixels."""
    images = np.asarray(xb, dtype=np.float64).reshape(len(xb), 28, 28)
    centre = np.median(images[:, 7:21, 7:21].reshape(len(xb), -1), axis=1)
    return np.rint(centre * (CLASSES + 2) - 1).astype(int)


@pytest.fixture(scope="module")
def labelled():
    t = np.random.default_rng(5).integers(0, CLASSES, N)
    return np.repeat(level(t)[:, None], 784, axis=1), t


class Recorder:
    """What each side was handed at every step: decoded labels next to the labels given."""

    def __init__(self):
        self.seen = {"scratch": [], "torch": []}

    def attach(self, net, twin):
        loss = net.loss

        def scratch_loss(xb, tb, **kw):
            self.seen["scratch"].append((decode(xb), np.asarray(tb)))
            return loss(xb, tb, **kw)

        net.loss = scratch_loss
        twin.register_forward_pre_hook(lambda module, args: self.seen["torch"].append(
            (decode(args[0].detach().numpy()), args[1].numpy())) if len(args) > 1 else None)

    def mispaired(self):
        """Per side, the steps at which some image came with another image's label."""
        return {side: [k for k, (read, given) in enumerate(seen, start=1)
                       if not np.array_equal(read, given)]
                for side, seen in self.seen.items()}


def recorded_run(monkeypatch, x, t, **kw):
    """``train_model`` with both sides recorded (the hook sits where the pair is built)."""
    recorder, build = Recorder(), training.build_pair

    def recording_build(*args, **kws):
        setup = build(*args, **kws)
        recorder.attach(setup.net, setup.twin)
        return setup

    monkeypatch.setattr(training, "build_pair", recording_build)
    curve, _, _ = train_model(MLP, SGD, "float64", x, t, STEPS, batch_size=BATCH, **kw)
    return recorder, curve


def test_the_label_code_survives_the_augmentation_plan(labelled):
    x, t = labelled
    augmented, as_tensor = plan_augment(**RECIPE)(1, x[:BATCH])
    assert not np.array_equal(augmented, x[:BATCH])  # the plan changed the images
    np.testing.assert_array_equal(decode(augmented), t[:BATCH])
    np.testing.assert_array_equal(decode(as_tensor.numpy()), t[:BATCH])


@pytest.mark.parametrize("augment", [None, plan_augment(**RECIPE)], ids=["plain", "augmented"])
def test_every_batch_keeps_its_image_label_pairs_on_both_sides(monkeypatch, labelled, augment):
    x, t = labelled
    recorder, curve = recorded_run(monkeypatch, x, t, augment=augment)
    assert all(len(seen) == STEPS for seen in recorder.seen.values())
    assert recorder.mispaired() == {"scratch": [], "torch": []}
    # each epoch (N // BATCH batches) shows every labelled image once
    epoch = np.concatenate([given for _, given in recorder.seen["scratch"][: N // BATCH]])
    np.testing.assert_array_equal(np.sort(epoch), np.sort(t))


def test_a_loader_that_shifts_the_labels_by_one_is_caught(monkeypatch, labelled):
    x, t = labelled
    honest = training.train_side_by_side
    monkeypatch.setattr(training, "train_side_by_side", lambda net, twin, so, to, x_, t_, *a,
                        **kw: honest(net, twin, so, to, x_, np.roll(t_, 1), *a, **kw))
    recorder, curve = recorded_run(monkeypatch, x, t)
    # the sides still agree -- which is why parity alone cannot see this
    assert compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(),
                   tolerance_for("training-float64")).passed
    assert all(len(steps) == STEPS for steps in recorder.mispaired().values())


def test_a_sampler_that_repeats_a_batch_is_caught(monkeypatch, labelled):
    """Pairs kept, but the epoch does not cover the data: the coverage check bites."""
    x, t = labelled
    monkeypatch.setattr(BatchSampler, "epoch", lambda self, k: np.stack(
        [np.arange(BATCH)] * (self.n // self.batch_size)))
    recorder, _ = recorded_run(monkeypatch, x, t)
    epoch = np.concatenate([given for _, given in recorder.seen["scratch"][: N // BATCH]])
    assert not np.array_equal(np.sort(epoch), np.sort(t))


# ---- dropout masks through the mask factories: the rate is the configured p ----
P = 0.3


def dropout_run(masks):
    """Two steps of an MLP with dropout on both sides, masks from ``masks`` (mask_factory);
    the scratch side's keep-masks of every step and layer."""
    make_net = lambda **kw: SM.MultiLayerNet(784, (64, 64), CLASSES, use_dropout=True,
                                             dropout_ratio=P, dropout_masks=masks(), **kw)
    make_twin = lambda: TM.with_book_loss(TM.MultiLayerNet(
        784, (64, 64), CLASSES, dropout=masks_as_layers(masks(), "book", P)))
    setup = build_pair(make_net, make_twin, "float64")
    opt_s, opt_t = SGD.for_run(twin_parameters(setup.twin, setup.links))
    t = np.random.default_rng(1).integers(0, CLASSES, 100)
    x = np.repeat(level(t)[:, None], 784, axis=1)
    kept = []
    curve, _ = train_side_by_side(
        setup.net, setup.twin, opt_s, opt_t, x, t, BatchSampler(100, 50).batches(2),
        setup.links, on_step=lambda step: kept.append(
            [layer.mask.copy() for name, layer in setup.net.layers.items()
             if name.startswith("Dropout")]))
    return curve, kept


def drop_rate_check(kept):
    masks = np.concatenate([m.reshape(-1) for step in kept for m in step])
    dropped = 1.0 - masks.mean()
    return compare(dropped, P, statistical(np.sqrt(P * (1 - P) / masks.size)))


def test_the_mask_factories_drop_at_the_configured_rate_with_fresh_masks_per_step():
    curve, kept = dropout_run(mask_factory(P, "harness test"))
    assert compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(),
                   tolerance_for("training-float64")).passed
    assert drop_rate_check(kept).passed
    assert not np.array_equal(kept[0][0], kept[1][0])  # a new mask every step
    assert not np.array_equal(kept[0][0], kept[0][1])  # each layer its own masks


def test_a_mask_factory_that_keeps_the_units_it_should_drop_is_caught(monkeypatch):
    # the classic slip `rand < p`: both sides get the same wrong masks, so parity holds
    monkeypatch.setattr(training, "replayed_masks", lambda p, *names: (
        lambda rng: lambda shape: rng.random(shape) < p)(np.random.default_rng(0)))
    curve, kept = dropout_run(mask_factory(P, "harness test"))
    assert compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(),
                   tolerance_for("training-float64")).passed
    assert not drop_rate_check(kept).passed


# ---- the registry's training runs report whether each side learned ----

def test_a_training_run_whose_labels_are_shifted_fails_its_learning_floor(monkeypatch):
    import parity.pairs.training as pairs

    def shifted(flatten, dtype):
        (x, t), test = training.load_mnist(flatten, dtype)
        return (x, np.roll(t, 1)), test

    run = TrainingRun(MLP, SGD)
    try:
        honest = {c.quantity + c.sample: c.passed for c in run.run("float32")}
    except Skipped as why:
        pytest.skip(str(why))
    monkeypatch.setattr(pairs, "load_mnist", shifted)
    checks = run.run("float32")
    floors = [c for c in checks if c.oracle == "learning floor"]
    assert len(floors) == 2 and all(honest[c.quantity + c.sample] for c in floors)
    assert not any(c.passed for c in floors), [c.message() for c in floors]
    assert all(c.passed for c in checks if c.oracle != "learning floor")  # parity holds
