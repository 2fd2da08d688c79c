"""Study pages: every registry component's NumPy and PyTorch code side by side.

``python -m reports --sections study`` (``make study``) writes ``study/index.html``
and one page per component of the registry, in the book's chapter order: the
book's formula, both sides' code lined up method by method, the parity verdict
per dtype and oracle, the documented differences with their measured size, the
speed ratio from the last speed report, and where the component is checked.

The verdicts come from one parity table: ``parity.csv`` of this output folder
when it is newer than every source file (the parity section of the same report
writes it just before), plus a run of the entries it lacks; else a fresh run
of the registry, single-threaded as ``make parity``.  A table that needed a run
is written back to ``parity.csv``, so the next ``make study`` reuses it.
"""

import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from parity.engine.registry import entry_id, load_all
from parity.engine.runner import run_entries, single_threaded, to_frame
from reports.section import Result, section
from reports.study import code, collect, pages

SOURCE_DIRS = ("scratch", "torch_ref", "parity")
SLOW = "slow entry: runs with `python -m parity --slow`"


def newest_source():
    return max(p.stat().st_mtime for d in SOURCE_DIRS for p in (collect.ROOT / d).rglob("*.py"))


def parity_results(ctx, entries):
    """(checks as a parity.csv frame, {entry id: why skipped}, a line saying where from,
    whether entries had to run)."""
    csv = ctx.out / "parity.csv"
    frames, skipped = [], {}
    todo = [e for e in entries if not getattr(e, "slow", False)]
    if csv.exists() and csv.stat().st_mtime > newest_source():
        reused = pd.read_csv(csv, keep_default_na=False, na_values={
            c: [""] for c in ("max_abs_err", "max_rel_err", "atol", "rtol")})
        frames.append(reused)
        have = set(zip(reused["component"], reused["variant"]))
        todo = [e for e in todo if (e.component, e.variant) not in have]
        when = datetime.fromtimestamp(csv.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        source = f"verdicts from {csv.name} (written {when}, newer than the code)"
        source += f" and a run of {len(todo)} entries it lacked" if todo else ""
    else:
        source = "verdicts from a fresh run of the registry (no parity.csv newer than the code)"
    started = time.perf_counter()
    with single_threaded():
        for entry in todo:
            checks, why = run_entries([entry])
            frames.append(to_frame(checks))
            skipped |= dict(line.split(": ", 1) for line in why)
    if todo:
        source += f" ({time.perf_counter() - started:.0f} s)"
    df = pd.concat(frames, ignore_index=True) if frames else to_frame([])
    df["passed"] = df["passed"].astype(str) == "True"  # read back from the CSV as text
    skipped = {eid.rsplit("-", 1)[0]: why for eid, why in skipped.items()}  # drop the dtype
    return df, skipped, source, bool(todo)


def last_speed_report(out):
    path = out / "speed.csv"
    return pd.read_csv(path) if path.exists() else None


@section("study", "Study pages: each component's NumPy and PyTorch code side by side", order=90)
def study(ctx):
    entries = [e for e in load_all() if ctx.selected(entry_id(e))]
    if not entries:
        return None
    comps = collect.components(entries)
    df, skipped, source, ran = parity_results(ctx, entries)
    collect.attach_results(comps, df, skipped, SLOW)
    collect.attach_speed(comps, last_speed_report(ctx.out))
    for c in comps:
        c.rows = code.rows(c.entries)
    page_dir = ctx.out / "study"
    files = {f"study/{pages.CSS_FILE}": pages.stylesheet(),
             "study/index.html": pages.index_page(comps, source)}
    for k, c in enumerate(comps):
        files[f"study/{c.slug}.html"] = pages.component_page(comps, k, page_dir, source)
    if ran:
        # the table these pages show, as make parity writes it: the next run reuses it
        files["parity.csv"] = df.to_csv(index=False)
    failing = [c.name for c in comps if c.verdict == "FAIL"]
    notes = [f"{len(comps)} component pages in study/ (open study/index.html), {source}.",
             "Each page: the book's formula, both sides' code lined up (forward with forward, "
             "backward with backward), the verdict per dtype and oracle, the documented "
             "differences measured, the last speed report's row."]
    return Result(notes=notes, files=files,
                  problems=[f"study: {name} has failing checks" for name in failing])


def written_pages(out):
    """The component pages a study run left in ``out`` (for tests and the screenshot)."""
    return sorted(p for p in Path(out, "study").glob("*.html") if p.name != "index.html")
