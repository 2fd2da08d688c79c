"""Accuracy: every model trained on MNIST on both sides, from the same weights, same batches.

Each model starts from the book's initialisation (seeded) on the scratch side and
the same weights in its torch twin (``parity.experiments.training.prepare``), with the
optimizer its ``parity.experiments.tables`` entry names; both train on
the same ``BatchSampler`` batches, dropout layers replay the same masks.  Per
epoch: mean train loss, train and test accuracy (test mode), and the seconds each
side spent training (forward, backward, update; evaluation not counted).  The
final test accuracies must differ by at most ``MAX_DIFF_PP`` percentage points.

Quick mode (default) trains in float64 on a training subset and scores a test
subset (sizes in the table); ``--full`` runs full-MNIST epochs.
"""

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from tqdm import tqdm

from parity.engine.registry import Skipped
from parity.engine.runner import single_threaded
from parity.experiments.tables import MODELS
from parity.experiments.training import (
    BatchSampler,
    accuracies,
    load_mnist,
    prepare,
    train_side_by_side,
)
from reports.render import GREEN, RED, highlight
from reports.section import Figure, Result, Table, section

DTYPE = "float64"  # float32 rounding lets the two sides drift apart: parity needs float64
BATCH = 100
SEED = 0
MAX_DIFF_PP = 0.1  # final test accuracies: |scratch - torch| in percentage points
SIDES = ("scratch", "torch")


@dataclass(frozen=True)
class Plan:
    """How much data and how many epochs: quick mode fits ~90 s on 2 cores."""

    train: int | None  # training images (None: all 60,000)
    test: int | None  # test images scored (None: all 10,000)
    train_eval: int  # training images scored for the train accuracy (the book's Trainer
    # also scores a sample: evaluate_sample_num_per_epoch)
    epochs: int


QUICK = Plan(train=1000, test=500, train_eval=500, epochs=2)
FULL = Plan(train=None, test=None, train_eval=10_000, epochs=2)


def subset(data, plan):
    (x, t), (xt, tt) = data
    return (x[: plan.train], t[: plan.train]), (xt[: plan.test], tt[: plan.test])


def train_one(model, data, plan, progress):
    """Train ``model`` (a ``tables.Model``) with its report optimizer on both sides; one row
    per epoch and the per-step loss curve."""
    (x, t), (x_test, t_test) = data
    setup, scratch_opt, torch_opt = prepare(model, model.optimizer, DTYPE, SEED)
    sampler = BatchSampler(len(x), BATCH, SEED)
    rows, curves, steps = [], [], 0
    for epoch in range(plan.epochs):
        batches = sampler.epoch(epoch)
        curve, _ = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                                      batches, setup.links, DTYPE,
                                      on_step=lambda _: progress.update())
        curve["step"] += steps
        steps += len(batches)
        curves.append(curve)
        train_acc = accuracies(setup, x[: plan.train_eval], t[: plan.train_eval])
        test_acc = accuracies(setup, x_test, t_test)
        row = {"model": model.name, "optimizer": model.optimizer.name, "dtype": DTYPE,
               "epoch": epoch + 1, "steps": steps}
        for side in SIDES:
            row |= {f"train loss {side}": curve[f"loss_{side}"].mean(),
                    f"train acc % {side}": 100 * train_acc[side],
                    f"test acc % {side}": 100 * test_acc[side],
                    f"train s {side}": curve[f"s_{side}"].sum()}
        row["test acc diff pp"] = row["test acc % scratch"] - row["test acc % torch"]
        row["max rel loss gap"] = curve["rel_gap"].max()
        rows.append(row)
    return rows, pd.concat(curves, ignore_index=True)


def curve_plot(model, epochs, curve):
    """Both sides overlaid: loss per step, accuracies per epoch."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.2))
    for side, style, width in zip(SIDES, ("-", "--"), (3, 1)):  # torch drawn over scratch
        loss_ax.plot(curve["step"], curve[f"loss_{side}"], style, lw=width, label=side)
        for split, colour in (("train", "tab:blue"), ("test", "tab:orange")):
            acc_ax.plot(epochs["epoch"], epochs[f"{split} acc % {side}"], style, lw=width,
                        color=colour, marker="o", label=f"{split} ({side})")
    loss_ax.set(xlabel="step", ylabel="train loss (batch)", title=f"{model}: loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy %", title=f"{model}: accuracy",
               xticks=epochs["epoch"])
    loss_ax.legend(fontsize=7)
    acc_ax.legend(fontsize=7)
    return fig


def slug(model):
    return "".join(c if c.isalnum() else "_" for c in model.lower()).strip("_")


def diff_colour(row):
    return RED if abs(row["test acc diff pp"]) > MAX_DIFF_PP else GREEN


FINAL_COLUMNS = ["model", "optimizer", "dtype", "train images", "test images", "epochs",
                 "steps", "test acc % scratch", "test acc % torch", "test acc diff pp",
                 "train acc % scratch", "train acc % torch", "train s scratch", "train s torch",
                 "max rel loss gap"]


@section("accuracy", "Accuracy: models trained on MNIST on both sides", order=20)
def accuracy(ctx):
    models = [m for m in MODELS if ctx.selected(m.name)]
    if not models:
        return None
    plan = FULL if ctx.full else QUICK
    try:
        (x, t), (x_test, t_test) = load_mnist(flatten=True, dtype="float32")
    except Skipped as why:
        return Result(notes=[f"skipped: {why} -- set MNIST_ROOT (folder with MNIST/raw/)"])
    flat = subset(((x.astype(DTYPE), t), (x_test.astype(DTYPE), t_test)), plan)
    del x, x_test
    images = tuple((xs.reshape(-1, 1, 28, 28), ts) for xs, ts in flat)
    n_train, n_test = len(flat[0][0]), len(flat[1][0])
    total = len(models) * plan.epochs * (n_train // BATCH)
    rows, figures = [], []
    # one thread per side: batches of 100 gain little from a second thread, and on a
    # shared 2-core machine spinning threads slow both sides down several-fold
    with single_threaded(), tqdm(total=total, desc="accuracy",
                                 disable=not ctx.progress) as progress:
        for model in models:
            epochs, curve = train_one(model, flat if model.flatten else images, plan, progress)
            rows += epochs
            figures.append(Figure(f"accuracy_{slug(model.name)}",
                                  curve_plot(model.name, pd.DataFrame(epochs), curve),
                                  f"{model.name}: scratch (thick, solid), torch (thin, dashed)"))
    per_epoch = pd.DataFrame(rows)
    final = per_epoch.groupby("model", sort=False).tail(1).copy()
    final["train images"], final["test images"] = n_train, n_test
    final["epochs"] = plan.epochs
    problems = [f"{r['model']}: final test accuracies differ by {r['test acc diff pp']:+.2f} "
                f"pp (limit {MAX_DIFF_PP})" for _, r in final.iterrows()
                if diff_colour(r) == RED]
    notes = [f"{'full' if ctx.full else 'quick'} mode: {DTYPE}, {n_train} training images "
             f"({plan.epochs} epochs of {n_train // BATCH} batches of {BATCH}, seeded "
             f"shuffle), {n_test} test images; train accuracy on the first "
             f"{min(plan.train_eval, n_train)} training images.",
             "Both sides start from the same weights (book initialisation, seed "
             f"{SEED}), see the same batches and the same dropout masks. "
             "train s: seconds of forward + backward + update per side (interleaved, "
             "1 thread each); evaluation not counted.",
             f"Target: |test acc scratch - torch| <= {MAX_DIFF_PP} percentage points."]
    return Result(
        tables=[Table("accuracy", final[FINAL_COLUMNS], data=per_epoch,
                      style=highlight(diff_colour, ["test acc diff pp"]),
                      caption="Final epoch per model (accuracy.csv: every epoch)")],
        figures=figures, notes=notes, problems=problems)
