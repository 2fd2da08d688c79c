"""Hyperparameter search (book ch06): the same random configurations on both sides.

Quick mode runs ``parity.experiments.hyperparams.QUICK`` (few trials and epochs); ``--full``
the book's 100 trials x 50 epochs.  The table ranks trials by scratch's final
validation accuracy and shows torch's rank beside it; the figure overlays both
sides' accuracy curves for the best configurations.
"""

import matplotlib.pyplot as plt
from tqdm import tqdm

from parity.engine.registry import Skipped
from parity.engine.runner import single_threaded
from parity.experiments.hyperparams import (
    BOOK,
    QUICK,
    first_rank_difference,
    load_book_subset,
    run_search,
)
from reports.render import RED, highlight
from reports.section import Figure, Result, Table, section

NAME = "hyperparameter search"
DTYPE = "float64"  # the bar: same ranking in float64
BEST = 6  # configurations drawn in the figure


def row_colour(row):
    return RED if row["rank_torch"] != row["rank_scratch"] or not row["losses_agree"] else None


def curves_plot(results, histories, best):
    """Validation (solid/filled) and training (dashed/open) accuracy per epoch of the best
    configurations: scratch as lines, torch as markers on top."""
    cols = 3
    rows = -(-best // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), sharey=True,
                             squeeze=False)
    for ax, r in zip(axes.flat, results.head(best).itertuples(), strict=False):
        h = histories[r.trial]
        ax.plot(h.epoch, h.val_acc_scratch, "-", color="tab:blue", label="val, scratch")
        ax.plot(h.epoch, h.val_acc_torch, "o", color="tab:orange", ms=3, label="val, torch")
        ax.plot(h.epoch, h.train_acc_scratch, "--", color="tab:blue", label="train, scratch")
        ax.plot(h.epoch, h.train_acc_torch, "o", mfc="none", color="tab:orange", ms=3,
                label="train, torch")
        ax.set_title(f"#{r.rank_scratch} (trial {r.trial}): lr {r.lr:.2g}, "
                     f"wd {r.weight_decay:.2g}", fontsize=8)
        ax.set(ylim=(0, 1), xlabel="epoch")
    for ax in axes.flat[len(results.head(best)):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel("accuracy")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("Best configurations: scratch (lines) and torch (markers) overlaid")
    fig.tight_layout()
    return fig


def ranking_note(results, dtype=DTYPE):
    differ = first_rank_difference(results)
    if differ is None:
        return (f"Same ranking on both sides: all {len(results)} places hold the same trial "
                f"({dtype}).")
    place, ours, theirs = differ
    rows = results.set_index("trial").loc[[ours, theirs]]
    detail = "; ".join(f"trial {k}: val acc {r.val_acc_scratch:.4f}/{r.val_acc_torch:.4f}, "
                       f"val loss {r.val_loss_scratch:.17g}/{r.val_loss_torch:.17g}"
                       for k, r in rows.iterrows())
    return (f"Rankings first differ at place {place}: scratch has trial {ours}, torch trial "
            f"{theirs} (scratch/torch: {detail}).")


@section("hyperparams", "Hyperparameter search (ch06): same configurations, both sides",
         order=40)
def hyperparams(ctx):
    if not ctx.selected(NAME):
        return None
    search = BOOK if ctx.full else QUICK
    try:
        x, t = load_book_subset(search, DTYPE)
    except Skipped as why:
        return Result(notes=[f"skipped: {why}"])
    bar = tqdm(total=search.trials, desc="hyperparams", disable=not ctx.progress)
    with single_threaded():  # batch-100 matrices: extra threads only spin on 2 cores
        results, histories = run_search(search, x, t, DTYPE, progress=lambda _: bar.update())
    bar.close()
    view = results[["rank_scratch", "rank_torch", "trial", "lr", "weight_decay",
                    "val_acc_scratch", "val_acc_torch", "val_loss_scratch", "val_loss_torch",
                    "max_rel_loss_gap", "losses_agree"]]
    n_val = int(search.train_size * search.validation)
    notes = [
        f"{search.trials} trials x {search.epochs} epochs ({'full' if ctx.full else 'quick'} "
        f"mode; the book: {BOOK.trials} x {BOOK.epochs}), {DTYPE}: MultiLayerNet 784-"
        f"{'-'.join(map(str, search.hidden))}-10, SGD, batch {search.batch_size}; "
        f"lr = 10^U{search.log10_lr}, weight decay = 10^U{search.log10_weight_decay}, "
        "drawn once and used by both sides.",
        f"Data: the first {search.train_size} MNIST training images, {n_val} of them (seeded "
        "shuffle) held out for validation; the test set is never touched.",
        "Ranked by final validation accuracy, ties by validation loss; rank_torch is torch's "
        "own ranking of the same trials.",
        ranking_note(results),
        f"Loss at every step, scratch vs torch: worst relative gap "
        f"{results.max_rel_loss_gap.max():.2g} over all trials (tolerance training-{DTYPE}).",
    ]
    problems = [c.message() for c in results.check if not c.passed]
    return Result(
        tables=[Table("hyperparams", view, style=highlight(row_colour),
                      caption="One row per trial, best first (scratch's ranking)")],
        figures=[Figure("hyperparams_best", curves_plot(results, histories, BEST),
                        "Accuracy per epoch of the best configurations, both sides overlaid")],
        notes=notes, problems=problems)

