"""A short training run of a learner's network beside the project's reference (issue 10).

One forward/backward at a time cannot see a network whose ``params`` dict and layers hold
different arrays: the gradient is right, but the optimizer's update to ``params`` never
reaches the layer (a layer built on a copy of W, or ``self.params[key] = ...`` rebinding that
leaves the layers on the old arrays).  Here the learner's net, as its own constructor
initialised it, is trained with the book's plain SGD (``params[key] -= lr * grads[key]`` on
its own ``params`` dict: what the book's Trainer does with ``common/optimizer.SGD``) for a
few steps on seeded batches, beside the project's scratch network started from a copy of the
same weights, with np.random seeded alike before every call (the same dropout masks).  Loss,
gradients and parameters are compared at every step; the first step where the two part is
the verdict.
"""

import dataclasses

import numpy as np

from parity.check import adapt
from parity.engine.compare import compare
from parity.engine.inputs import labels, one_hot, source
from parity.engine.tolerances import tolerance_for

STEPS = 12
LR = 0.1
BATCH = 8
SEED = 4049  # np.random before every call, on both sides (book dropout draws np.random.rand)
# Not DeepConvNet: the book's DeepConvNet.loss always runs dropout in training mode, a
# learner's may default to test mode (the single-step check allows both), and 12 steps of
# its 28x28 convolutions add 0.6 s even on batches of 2
TRAINED = ("TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend", "SimpleConvNet")


def variant(component):
    return f"training run: book SGD lr {LR}, {STEPS} steps, batch {BATCH}"


def _seeded(seed, call, *args):
    np.random.seed(seed)  # noqa: NPY002 (the book's Dropout draws from np.random)
    return call(*args)


def _batches(component, pair):
    """Seeded batches shaped like the entry's loss sample (input shape, label format)."""
    sample = next(s for s in pair.sample_list() if len(s.calls[0].inputs) == 2)
    x0, t0 = sample.calls[0].inputs
    rng = source("check", "training run", component)
    n_out = np.shape(t0)[-1] if np.ndim(t0) == 2 else int(np.max(t0)) + 1
    n_out = max(n_out, 2)
    out, n = [], BATCH
    for _ in range(STEPS):
        x = rng.standard_normal((n, *np.shape(x0)[1:]))
        t = labels(rng, n, n_out)
        out.append((x, one_hot(t, n_out) if np.ndim(t0) == 2 else t))
    return out


def build_learner(cls, entry, notes):
    """The learner's network as its own constructor initialises it (np.random seeded)."""
    return _seeded(SEED, adapt.call_with, cls, entry.args({}), notes, cls.__name__)


def training_run(component, cls, entry, notes):
    """Check rows of the run and the first (step, quantity) where the two part (None: they
    agree at every step)."""
    tol = tolerance_for("training-float64")
    pair = entry.pair()
    keys = list(pair._params(source("check", "training keys"), "float64"))
    learner = build_learner(cls, entry, notes)
    params_l = adapt.get_attr(learner, "params")
    missing = [k for k in keys if k not in params_l]
    if missing:
        raise KeyError(f"{type(learner).__name__}.params has no {', '.join(map(repr, missing))}")
    reference = entry.reference({k: np.array(params_l[k], dtype=float) for k in keys})
    labels_ = dict(component=component, variant=variant(component), dtype="float64",
                   oracle="reference")
    rows, first, lr = [], None, LR

    def check(got, want, step, quantity, scale=None):
        """``scale``: the whole network's largest magnitude -- weights and gradients within
        rtol of it (the training tolerance's rule for weights; a bias before BatchNorm has a
        zero gradient up to rounding, which no elementwise rtol allows)."""
        nonlocal first
        t = tol if scale is None else dataclasses.replace(tol, atol=tol.rtol * scale)
        c = compare(np.asarray(got, dtype=float), np.asarray(want, dtype=float), t,
                    quantity=f"step {step}: {quantity}", sample=f"step {step}", **labels_)
        if not c.passed and first is None:
            first = (step, quantity, c)
        return c

    loss_l, loss_r, worst = [], [], {}
    for step, (x, t) in enumerate(_batches(component, pair)):
        seed = SEED + 2 * step
        loss_l.append(float(_seeded(seed, adapt.get_attr(learner, "loss"), x, t)))
        loss_r.append(float(_seeded(seed, reference.loss, x, t)))
        check(loss_l[-1], loss_r[-1], step, "loss")
        g_l = _seeded(seed + 1, adapt.get_attr(learner, "gradient"), x, t)
        g_r = _seeded(seed + 1, reference.gradient, x, t)
        g_scale = max(float(np.max(np.abs(g_r[k]))) for k in keys)
        for k in keys:
            check(g_l[k], g_r[k], step, f"grads[{k!r}]", g_scale)
            params_l[k] -= lr * g_l[k]  # the book's SGD.update, on the learner's own dict
            reference.params[k] -= lr * g_r[k]
        p_scale = max(float(np.max(np.abs(reference.params[k]))) for k in keys)
        for k in keys:
            worst[k] = check(params_l[k], reference.params[k], step,
                             f"params[{k!r}] after update", p_scale)
        if first is not None:
            break  # what follows only propagates the first difference
    rows.append(compare(np.array(loss_l), np.array(loss_r), tol, sample=f"{len(loss_l)} steps",
                        quantity="loss at every step", **labels_))
    rows += [worst[k] for k in keys if k in worst]
    if first is not None:
        rows.append(first[2])
    return rows, first


def parted_text(component, first):
    step, quantity, c = first
    return (f"{component}: a training run with the book's SGD parts from the reference at step "
            f"{step}, first in {quantity} (after {step} updates that agreed): {c.detail}")
