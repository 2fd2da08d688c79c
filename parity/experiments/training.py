"""Training-run parity: the same batches, the same initial weights, both sides.

What is trained with what: ``parity.experiments.tables`` (models and optimizers).
``BatchSampler`` is the one sampler both sides draw from: each epoch is a
seeded permutation (shuffle without replacement -- the book's Trainer samples
with replacement).  ``train_side_by_side`` runs a scratch network with its
optimizer and the torch twin with its own, step for step, and records both
loss curves and the final parameter gap.
"""

import itertools
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

import scratch.augment
import scratch.mnist
import torch_ref.augment
import torch_ref.layers as TL
from parity.engine.inputs import NP_DTYPE, TORCH_DTYPE, replayed_masks, source
from parity.engine.registry import Skipped
from parity.engine.transfer import book_links, load_into_torch, read_from_torch, torch_tensor
from parity.experiments.augment_plan import draw_plan


@dataclass(frozen=True)
class BatchSampler:
    n: int
    batch_size: int
    seed: int = 0

    def epoch(self, k):
        """Index arrays of epoch ``k``: a permutation cut into full batches."""
        order = source("batch sampler", self.seed, k).permutation(self.n)
        usable = self.n - self.n % self.batch_size
        return order[:usable].reshape(-1, self.batch_size)

    def batches(self, steps):
        """The first ``steps`` batches, epoch after epoch."""
        out, k = [], 0
        while len(out) < steps:
            out.extend(self.epoch(k))
            k += 1
        return out[:steps]


def train_side_by_side(net, twin, scratch_opt, torch_opt, x, t, batches, links,
                       dtype="float64", augment=None, on_step=None):
    """Train both sides on the same ``batches`` (index arrays into x, t).

    ``net``: scratch Network (book names); ``twin``: WithLoss module holding the
    same initial weights; ``links``: parity.engine.transfer links between them.
    ``augment(step, xb) -> (xb_scratch, xb_torch)`` may transform each batch on
    both sides with the same random parameters.  Returns (curve, final): a DataFrame
    step/loss_scratch/loss_torch/rel_gap/s_scratch/s_torch (seconds each side spent on
    the step: forward, backward, update), and the twin's final weights in book layout.
    """
    tdtype = TORCH_DTYPE[dtype]
    x_t, t_t = torch.from_numpy(x), torch.from_numpy(np.asarray(t))
    rows = []
    twin.train()
    for step, idx in enumerate(batches, start=1):
        xb, xb_t, tb = x[idx], x_t[idx].to(tdtype), t[idx]
        if augment:
            xb, xb_t = augment(step, xb)
        started = time.perf_counter()
        loss = float(net.loss(xb, tb, train_flg=True))
        net.backward()  # d loss / d loss: the scalar loss starts its own backward
        scratch_opt.update(net.params, net.grads)
        between = time.perf_counter()

        torch_opt.zero_grad(set_to_none=True)
        loss_t = twin(xb_t, t_t[idx])
        loss_t.backward()
        torch_opt.step()
        loss_t = loss_t.item()
        rows.append({"step": step, "loss_scratch": loss, "loss_torch": loss_t,
                     "s_scratch": between - started, "s_torch": time.perf_counter() - between})
        if on_step:
            on_step(step)
    curve = pd.DataFrame(rows)
    curve["rel_gap"] = (curve.loss_scratch - curve.loss_torch).abs() / curve.loss_torch.abs()
    return curve, read_from_torch(twin, links)


def twin_parameters(twin, links):
    """The twin's parameters in the scratch network's order (book names W1, b1, ...)."""
    return [torch_tensor(twin, link.torch) for link in links]


@dataclass(frozen=True)
class Setup:
    """One network on both sides from the same initial weights, ready to train."""

    net: object
    twin: object
    links: tuple
    dtype: str


def build_pair(make_net, make_twin, dtype, seed=0):
    """The scratch net initialised the book's way (seeded), cast to ``dtype``; the twin
    gets the same weights.  ``make_net(rng=..., params=...)`` as the scratch models."""
    init = make_net(rng=np.random.default_rng(seed)).params
    net = make_net(params={k: v.astype(NP_DTYPE[dtype]) for k, v in init.items()})
    twin = make_twin().to(TORCH_DTYPE[dtype])
    links, _ = book_links(twin)
    load_into_torch(twin, net.params, links)
    return Setup(net, twin, links, dtype)


# ---- dropout with the same masks on both sides ----
def mask_factory(p, *names):
    """Each call gives the next Dropout layer its replayed mask source; a fresh factory
    per network build, so both sides (and every finite-difference rebuild) see the same
    masks layer by layer."""
    def factory():
        counter = itertools.count(1)
        return lambda: replayed_masks(p, *names, next(counter))
    return factory


def masks_as_layers(next_mask_source, convention, p):
    """A twin's dropout factory: torch Dropout layers drawing from ``next_mask_source``."""
    return lambda: TL.Dropout(p, convention, mask_source=next_mask_source())


def load_mnist(flatten, dtype):
    """((x_train, t_train), (x_test, t_test)) in ``dtype``; Skipped without MNIST."""
    try:
        return scratch.mnist.load_mnist(flatten=flatten, dtype=np.dtype(dtype))
    except scratch.mnist.MnistNotFoundError as err:
        raise Skipped(str(err).splitlines()[0]) from None


def accuracies(setup, x, t, batch_size=100):
    """Test-mode accuracy of each side on (x, t): {"scratch": a, "torch": a}."""
    twin = setup.twin.eval()
    x_t = torch.from_numpy(x).to(TORCH_DTYPE[setup.dtype])
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            pred = twin(x_t[i : i + batch_size]).argmax(1).numpy()
            correct += int(np.sum(pred == t[i : i + batch_size]))
    twin.train()
    return {"scratch": setup.net.accuracy(x, t, batch_size), "torch": correct / len(x)}


def prepare(model, optimizer, dtype, seed=0):
    """``model`` (a ``tables.Model``) on both sides from the same initial weights, with
    ``optimizer`` (a ``tables.Optimizer``) on each: (Setup, scratch optimizer, torch one)."""
    setup = build_pair(model.scratch, model.twin, dtype, seed)
    return setup, *optimizer.for_run(twin_parameters(setup.twin, setup.links))


def train_model(model, optimizer, dtype, x, t, steps, batch_size=100, seed=0, **kw):
    """Train ``model`` with ``optimizer`` on both sides: (curve, twin's final weights, Setup)."""
    setup, scratch_opt, torch_opt = prepare(model, optimizer, dtype, seed)
    batches = BatchSampler(len(x), batch_size, seed).batches(steps)
    curve, final = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt,
                                      x, t, batches, setup.links, dtype, **kw)
    return curve, final, setup


def plan_augment(image_shape=(1, 28, 28), seed=0, **recipe):
    """An ``augment`` for ``train_side_by_side`` from a plan recipe (``draw_plan``'s keywords).

    Step k draws one plan from ``source("augment plan", seed, k)`` and applies it to the
    NumPy batch with ``scratch.augment`` and to a tensor of the same batch with
    ``torch_ref.augment``: both sides train on the same augmented images.  Flattened
    batches (N, 784) are viewed as ``image_shape`` images and flattened back.
    """
    def augment(step, xb):
        plan = draw_plan(source("augment plan", seed, step), len(xb), image_shape, **recipe)
        images = xb.reshape(len(xb), *image_shape)
        xb_scratch = scratch.augment.augment_batch(images, plan).reshape(xb.shape)
        xb_torch = torch_ref.augment.augment_batch(torch.from_numpy(images), plan)
        return xb_scratch, xb_torch.reshape(xb.shape)
    return augment
