"""Applications: a ResNet, a Transformer, a GAN and REINFORCE, trained side by side.

Every run comes from ``parity.experiments.applications``: the scratch model's seeded
weights copied into the twin, the same batches, noise, dropout masks and recorded
episodes on both sides, 200 steps in float64 (the parity claim) and in float32 (where
rounding is allowed to make the runs part: reported, coloured, not hidden).
Figures: loss curves overlaid (scratch solid, torch dashed), the GAN's samples from
both generators, the policy's return per update.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from tqdm import tqdm

from parity.engine.registry import Skipped
from parity.engine.runner import single_threaded
from parity.engine.tolerances import tolerance_for
from parity.experiments.applications import DESCRIPTIONS, RUNS, STEPS
from reports.render import AMBER, RED, highlight
from reports.section import Figure, Result, Table, section

DTYPES = ("float64", "float32")
SCRATCH, TORCH = dict(ls="-", lw=1.6), dict(ls="--", lw=1.2)


def loss_gaps(outcome):
    """Per loss: the largest relative |scratch - torch| over the steps, and the first step
    past 1e-6 (None when none)."""
    out = {}
    for loss in outcome.losses:
        a, b = outcome.curve[f"{loss}_scratch"], outcome.curve[f"{loss}_torch"]
        rel = ((a - b).abs() / b.abs()).to_numpy()
        over = np.flatnonzero(rel > 1e-6)
        out[loss] = (float(rel.max()), int(outcome.curve.step[over[0]]) if len(over) else None)
    return out


def summary_rows(outcome):
    tol = tolerance_for(f"training-{outcome.dtype}").rtol
    rows = []
    for loss, (worst, first) in loss_gaps(outcome).items():
        c = outcome.curve
        extra = {k: v for k, v in outcome.extra.items() if k not in ("samples", "running stats")}
        rows.append({
            "run": outcome.name, "dtype": outcome.dtype, "steps": len(c), "loss": loss,
            "first (torch)": c[f"{loss}_torch"].iloc[0],
            "last scratch": c[f"{loss}_scratch"].iloc[-1],
            "last torch": c[f"{loss}_torch"].iloc[-1], "max rel loss gap": worst,
            "first step > 1e-6": first if first is not None else "never",
            "max param gap": float(c.param_gap.max()), "tolerance": tol,
            "within": worst <= tol and float(c.param_gap.max()) <= tol,
            "s scratch": float(c.s_scratch.sum()), "s torch": float(c.s_torch.sum()),
            "notes": "; ".join(f"{k}: {v}" for k, v in extra.items()),
        })
    return rows


def row_colour(row):
    if not row["within"]:
        return RED
    return AMBER if row["first step > 1e-6"] != "never" else None


def loss_figure(outcomes):
    names = list(dict.fromkeys(o.name for o in outcomes))
    fig, axes = plt.subplots(len(DTYPES), len(names), figsize=(3.6 * len(names), 5.6),
                             squeeze=False)
    for j, name in enumerate(names):
        for i, dtype in enumerate(DTYPES):
            ax = axes[i, j]
            match = [o for o in outcomes if o.name == name and o.dtype == dtype]
            if not match:
                ax.axis("off")
                continue
            o = match[0]
            for k, loss in enumerate(o.losses):
                ax.plot(o.curve.step, o.curve[f"{loss}_scratch"], color=f"C{k}",
                        label=f"{loss} scratch", **SCRATCH)
                ax.plot(o.curve.step, o.curve[f"{loss}_torch"], color=f"C{k + 2}",
                        label=f"{loss} torch", **TORCH)
            worst = max(w for w, _ in loss_gaps(o).values())
            ax.set_title(f"{name}, {dtype}\nmax rel gap {worst:.1e}", fontsize=8)
            ax.set_xlabel("step", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def grid(images, side=4):
    """(n, 784) -> one (side*28, side*28) image."""
    tiles = images[: side * side].reshape(side, side, 28, 28)
    return tiles.transpose(0, 2, 1, 3).reshape(side * 28, side * 28)


def gan_figure(outcome):
    samples = outcome.extra["samples"]
    diff = np.abs(samples["scratch"] - samples["torch"])
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    for ax, (title, img, cmap) in zip(axes, (
            ("scratch generator", grid(samples["scratch"]), "gray"),
            ("torch generator", grid(samples["torch"]), "gray"),
            (f"|scratch - torch| (max {diff.max():.1e})", grid(diff), "magma"))):
        ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.suptitle(f"GAN samples after {len(outcome.curve)} steps ({outcome.dtype}), the same "
                 "16 noise vectors on both sides", fontsize=9)
    fig.tight_layout()
    return fig


def return_figure(outcomes):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for k, o in enumerate(outcomes):
        c = o.curve
        ax.plot(c.step, c.return_scratch.rolling(10, min_periods=1).mean(), color=f"C{k}",
                label=f"{o.dtype} scratch", **SCRATCH)
        ax.plot(c.step, c.return_torch.rolling(10, min_periods=1).mean(), color=f"C{k + 2}",
                label=f"{o.dtype} torch (its own episodes)", **TORCH)
    ax.set(xlabel="update", ylabel="mean return (10-update average)",
           title="REINFORCE on the corridor: return per update")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


@section("applications", "Applications: ResNet, Transformer, GAN and policy gradient, "
         "trained side by side", order=27)
def applications(ctx):
    names = [n for n in RUNS if ctx.selected(f"{n} applications")]
    if not names:
        return None
    started = time.perf_counter()
    outcomes, notes = [], []
    with single_threaded(), tqdm(total=len(names) * len(DTYPES), desc="applications",
                                 disable=not ctx.progress) as bar:
        for name in names:
            for dtype in DTYPES:
                try:
                    outcomes.append(RUNS[name](dtype, STEPS))
                except Skipped as why:
                    notes.append(f"{name} {dtype} skipped: {why}")
                bar.update()
    if not outcomes:
        return Result(notes=notes)
    rows = [r for o in outcomes for r in summary_rows(o)]
    table = pd.DataFrame(rows)
    curves = pd.concat([o.curve.assign(run=o.name, dtype=o.dtype) for o in outcomes],
                       ignore_index=True)
    figures = [Figure("applications_losses", loss_figure(outcomes),
                      "Loss per step, scratch solid, torch dashed (top float64, bottom float32)")]
    for o in outcomes:
        if "samples" in o.extra:
            figures.append(Figure(f"applications_gan_{o.dtype}", gan_figure(o),
                                  f"GAN samples, {o.dtype}"))
    policy = [o for o in outcomes if o.name == "Policy gradient"]
    if policy:
        figures.append(Figure("applications_policy_return", return_figure(policy),
                              "Policy gradient: mean return per update (scratch solid, "
                              "torch dashed)"))
    notes = [f"{name}: {DESCRIPTIONS[name]}" for name in names] + notes + [
        f"{STEPS} steps per run in float64 and float32, one thread; the same initial weights, "
        "batches, noise, dropout masks and recorded episodes on both sides.",
        "param gap: max |scratch - torch| over every parameter / the largest |parameter|. "
        "Red: outside the training tolerance (float64 1e-8, float32 1e-1); amber: past 1e-6 "
        "at some step (float32 rounding compounding).",
        "Transformer: the key bias (the middle third of b_qkv) has zero gradient (softmax "
        "ignores a shift shared by all keys), so each side's gradient is its own rounding "
        "noise, which Adam scales up to ~eps-limited steps: float64 param gap ~5e-11, float32 "
        "~2e-2, the losses stay close.",
        f"section took {time.perf_counter() - started:.0f} s."]
    problems = [f"{r['run']} {r['dtype']} {r['loss']}: max rel loss gap {r['max rel loss gap']:.2e}"
                f", max param gap {r['max param gap']:.2e} (tolerance {r['tolerance']:g})"
                for r in rows if not r["within"]]
    return Result(tables=[Table("applications", table, style=highlight(row_colour),
                                caption="Training parity per run, dtype and loss"),
                          Table("applications_curves", curves, formats=("csv",))],
                  figures=figures, notes=notes, problems=problems)
