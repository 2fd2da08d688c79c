"""Parity: every registry entry run for every dtype (``parity.engine.runner``), summarized.

parity.csv holds one row per check (the same schema as ``make parity``);
parity.md / index.html the per-component summary: failures red, documented
gaps amber with their explanation, and a plot of the worst relative error
against the tolerance.
"""

import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from parity.engine.compare import EXPECTED_GAP, PASSING
from parity.engine.registry import entry_id, load_all
from parity.engine.runner import run_entries, single_threaded, summarize, to_frame
from parity.engine.tolerances import TOLERANCES
from reports.render import AMBER, RED, highlight
from reports.section import Figure, Result, Table, section

ZERO = 1e-18  # where an exact match (error 0) is drawn on the log axis


def explanations(df):
    """Per summary group: the notes of its expected gaps, each once."""
    keys = ["component", "variant", "dtype", "oracle"]
    gaps = df[df["verdict"] == EXPECTED_GAP]
    return gaps.groupby(keys, sort=False)["note"].agg(lambda n: "; ".join(dict.fromkeys(n)))


def row_colour(row):
    if row["verdict"] != "PASS":
        return RED
    return AMBER if row["expected_gaps"] else None


def error_plot(df):
    """Worst relative error of the checks that must agree (gaps excluded), per dtype."""
    agree = df[df["verdict"] != EXPECTED_GAP].copy()
    agree["pair"] = (agree["component"] + " [" + agree["variant"] + "] vs "
                     + agree["oracle"])
    worst = agree.pivot_table(index="pair", columns="dtype", values="max_rel_err",
                              aggfunc="max", sort=False).fillna(np.nan)
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(worst) + 1.6))
    y, h = np.arange(len(worst)), 0.8 / max(len(worst.columns), 1)
    for k, dtype in enumerate(worst.columns):
        ax.barh(y + k * h, worst[dtype].clip(lower=ZERO), height=h, label=dtype)
    for key, style in (("float64", ":"), ("float32", "--"), ("finite-diff", "-.")):
        ax.axvline(TOLERANCES[key].rtol, color="k", ls=style, lw=1,
                   label=f"rtol {key} ({TOLERANCES[key].rtol:g})")
    ax.set(xscale="log", yticks=y + h * (len(worst.columns) - 1) / 2,
           yticklabels=worst.index, xlabel=f"worst relative error (exact match drawn at "
           f"{ZERO:g})", title="Parity: worst relative error per component and dtype")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower right")
    return fig


@section("parity", "Parity: scratch vs torch, component by component", order=10)
def parity(ctx):
    entries = [e for e in load_all() if ctx.selected(entry_id(e))]
    checks, skipped = [], []
    with single_threaded():  # as `make parity`: tiny arrays, threads only spin
        for entry in tqdm(entries, desc="parity", disable=not ctx.progress):
            c, s = run_entries([entry], ctx.select)
            checks, skipped = checks + c, skipped + s
    if not checks:
        return None
    df = to_frame(checks)
    summary = summarize(df)
    why = explanations(df)
    summary["explanation"] = [why.get(tuple(k), "") for k in
                              summary[["component", "variant", "dtype", "oracle"]].values]
    failures = [c.message() for c in checks if c.verdict not in PASSING]
    passed = len(checks) - len(failures)
    notes = [f"{len(checks)} checks, {passed} passed, {len(failures)} failed; "
             f"{int(summary['expected_gaps'].sum())} documented gaps (amber) reproduced.",
             "Relative errors are elementwise |a-b|/|b| over elements above atol "
             "(normwise for finite differences)."]
    notes += [f"skipped: {line}" for line in skipped]
    return Result(
        tables=[Table("parity", summary, data=df, style=highlight(row_colour),
                      caption="Per component, variant, dtype and oracle")],
        figures=[Figure("parity_errors", error_plot(df),
                        "Worst relative error of the checks that must agree, log scale; "
                        "lines: the rtol of each tolerance.  A float32 bar past its rtol can "
                        f"still pass: near zero its atol ({TOLERANCES['float32'].atol:g}) "
                        "governs.")],
        notes=notes, problems=failures[:50])
