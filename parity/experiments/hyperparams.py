"""Hyperparameter search as in the book's ch06 (``hyperparameter_optimization.py``), both sides.

Random search over the learning rate and the weight decay, both log-uniform, scored
on a validation split taken from the training set (never the test set).  The
configurations are drawn once, so both sides train with the same ones; each trial
trains the scratch net and its torch twin side by side (``parity.experiments.training``) from
the same initial weights on the same batches.  Each side ranks the trials by its
own final validation accuracy; ``first_rank_difference`` says where the rankings part.

Where this differs from the book, on purpose:
- batches come from the shared seeded ``BatchSampler`` (shuffle without
  replacement); the book's Trainer draws each batch with ``np.random.choice``;
- weight decay is the optimizer's (``grad + lam * W`` on weights: the gradient of
  the book's ``0.5 * lam * sum(W**2)`` loss term), so the recorded losses leave the
  term out; the updates, hence accuracies and rankings, are the book's;
- validation accuracy is taken after every epoch (the book's Trainer: after the
  first step of each epoch);
- ties in final validation accuracy (100 validation images: steps of 1 %) are
  broken by the final validation loss, then by trial number.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

import scratch.models as SM
import torch_ref.models as TM
from parity.engine.compare import compare
from parity.engine.inputs import TORCH_DTYPE, source
from parity.engine.tolerances import tolerance_for
from parity.experiments.tables import SGD
from parity.experiments.training import (
    BatchSampler,
    build_pair,
    load_mnist,
    train_side_by_side,
    twin_parameters,
)


@dataclass(frozen=True)
class Search:
    """One search: the book's settings by default (``QUICK`` for the quick report)."""

    trials: int = 100
    epochs: int = 50
    train_size: int = 500  # the book keeps x_train[:500] to make overfitting visible
    validation: float = 0.2  # the share of those taken for validation
    batch_size: int = 100
    hidden: tuple = (100,) * 6
    log10_lr: tuple = (-6.0, -2.0)
    log10_weight_decay: tuple = (-8.0, -4.0)
    seed: int = 0


BOOK = Search()
QUICK = Search(trials=20, epochs=25)


def configurations(search):
    """The trials' (lr, weight_decay), drawn once for both sides: 10 ** U(low, high)."""
    rng = source("hyperparameter search", search.seed)
    weight_decay = 10 ** rng.uniform(*search.log10_weight_decay, size=search.trials)
    lr = 10 ** rng.uniform(*search.log10_lr, size=search.trials)
    return pd.DataFrame({"trial": np.arange(1, search.trials + 1), "lr": lr,
                         "weight_decay": weight_decay})


def validation_split(x, t, fraction, seed=0):
    """Shuffle the training set (seeded), then the first ``fraction`` is the validation
    set and the rest the training set, as the book's ``shuffle_dataset`` + slicing."""
    order = source("validation split", seed).permutation(len(x))
    n_val = int(len(x) * fraction)
    val, train = order[:n_val], order[n_val:]
    return (x[train], t[train]), (x[val], t[val])


def load_book_subset(search, dtype="float64"):
    """The first ``search.train_size`` MNIST training images, flattened; Skipped without MNIST."""
    (x, t), _ = load_mnist(flatten=True, dtype=dtype)
    return x[: search.train_size], t[: search.train_size]


def evaluate(setup, x, t):
    """Accuracy and loss of both sides on (x, t), inference mode."""
    net, twin = setup.net, setup.twin
    scores = {"acc_scratch": net.accuracy(x, t, batch_size=len(x)),
              "loss_scratch": float(net.loss(x, t))}
    twin.eval()
    with torch.no_grad():
        logits = twin.net(torch.from_numpy(x).to(TORCH_DTYPE[setup.dtype]))
        t_t = torch.from_numpy(t)
        scores |= {"acc_torch": (logits.argmax(1) == t_t).double().mean().item(),
                   "loss_torch": twin.loss(logits, t_t).item()}
    twin.train()
    return scores


def run_trial(config, train, val, search, dtype="float64", optimizer=SGD):
    """Train one configuration on both sides.  Returns (history, curve): per epoch the
    train/validation accuracy and loss of each side, and the per-step loss curve."""
    make_net = lambda **kw: SM.MultiLayerNet(784, search.hidden, 10, **kw)  # noqa: E731
    make_twin = lambda: TM.with_book_loss(TM.MultiLayerNet(784, search.hidden, 10))  # noqa: E731
    setup = build_pair(make_net, make_twin, dtype, seed=search.seed)
    named = zip([link.scratch for link in setup.links],
                twin_parameters(setup.twin, setup.links), strict=True)
    scratch_opt, torch_opt = optimizer.with_decay(config.lr, config.weight_decay, named)
    (x, t), (x_val, t_val) = train, val
    sampler = BatchSampler(len(x), search.batch_size, search.seed)
    per_epoch = len(sampler.epoch(0))
    history = []

    def after_step(step):
        if step % per_epoch == 0:
            history.append({"epoch": step // per_epoch}
                           | {f"train_{k}": v for k, v in evaluate(setup, x, t).items()}
                           | {f"val_{k}": v for k, v in evaluate(setup, x_val, t_val).items()})

    curve, _ = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                                  sampler.batches(per_epoch * search.epochs), setup.links,
                                  dtype, on_step=after_step)
    return pd.DataFrame(history), curve


def run_search(search, x, t, dtype="float64", optimizer=SGD, progress=None):
    """Every configuration on both sides.  Returns (results, histories): one row per
    trial (final validation accuracy/loss per side, each side's rank, the loss-curve
    check), and {trial: per-epoch history}."""
    train, val = validation_split(x, t, search.validation, search.seed)
    tol = tolerance_for(f"training-{dtype}")
    rows, histories = [], {}
    for config in configurations(search).itertuples(index=False):
        history, curve = run_trial(config, train, val, search, dtype, optimizer)
        losses = compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(), tol,
                         component="hyperparameter search", dtype=dtype,
                         quantity=f"trial {config.trial} loss at every step", oracle="torch")
        last = history.iloc[-1]
        rows.append(config._asdict() | {
            "val_acc_scratch": last.val_acc_scratch, "val_acc_torch": last.val_acc_torch,
            "val_loss_scratch": last.val_loss_scratch, "val_loss_torch": last.val_loss_torch,
            "max_rel_loss_gap": float(curve.rel_gap.max()), "losses_agree": losses.passed,
            "check": losses})
        histories[config.trial] = history
        if progress:
            progress(config.trial)
    results = pd.DataFrame(rows)
    for side in ("scratch", "torch"):
        results[f"rank_{side}"] = ranking(results, side).argsort() + 1  # place of each row
    return results.sort_values("rank_scratch", ignore_index=True), histories


def ranking(results, side):
    """Row positions of ``results`` best first on ``side``: final validation accuracy
    (higher first), ties by validation loss (lower first), then by trial number."""
    return np.lexsort((results.trial.to_numpy(), results[f"val_loss_{side}"].to_numpy(),
                       -results[f"val_acc_{side}"].to_numpy()))


def first_rank_difference(results):
    """None when both sides rank the trials alike, else (place, scratch's trial there,
    torch's trial there)."""
    ours = results.trial.to_numpy()[ranking(results, "scratch")]
    theirs = results.trial.to_numpy()[ranking(results, "torch")]
    differ = np.flatnonzero(ours != theirs)
    if not len(differ):
        return None
    place = int(differ[0])
    return place + 1, int(ours[place]), int(theirs[place])
