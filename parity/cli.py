"""``make parity`` / ``python -m parity``: run every twin pair, print verdicts, write the CSV.

Exit status 0 when every check passes (documented convention gaps included),
1 when any check fails or an entry crashed (a CRASHED row says what raised where;
the other entries still run and parity.csv is always written), 2 for bad arguments.
Entries that cannot run here (no MNIST files, no published weights) are listed as
skipped with the setting that enables them.
"""

import argparse
import dataclasses
import os
import sys
import time

import pandas as pd

from parity.engine.compare import CRASHED, KNOWN_DEFECT, PASSING
from parity.engine.registry import entry_id, load_all, matches
from parity.engine.runner import (
    OUT_DIR,
    output_folder_problem,
    run_entries,
    single_threaded,
    summarize,
    to_frame,
    write_atomic,
)
from parity.experiments import book_weights
from parity.experiments.book_weights import BookWeights


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m parity", description=__doc__.splitlines()[0])
    p.add_argument("-k", "--select", help="run only entries whose name contains this text "
                   "(as printed or as listed: spaces and underscores alike, any case)")
    p.add_argument("--mnist-root", help="folder containing MNIST/raw/ (sets $MNIST_ROOT)")
    p.add_argument("--dlfs-weights", help="folder with the book's published weights "
                   "(sets $DLFS_WEIGHTS)")
    p.add_argument("--out", default=str(OUT_DIR), help="output folder (default reports/out)")
    p.add_argument("--list", action="store_true", help="list registry entries and exit")
    p.add_argument("--slow", action="store_true", help="also run the slow entries "
                   "(SimpleConvNet training runs, ~1.5 min)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check")
    args = p.parse_args(argv)
    problem = "" if args.list else output_folder_problem(args.out)
    if problem:  # before any work, not after a minute of checks
        p.error(problem)
    return args


def format_summary(summary, width=34):
    """The per-component table for a terminal: text left-aligned, long names shortened
    (the CSV keeps them whole)."""
    summary = summary.rename(columns={"expected_gaps": "gaps", "worst_rel_err": "worst rel"})
    summary["worst rel"] = summary["worst rel"].map("{:.1e}".format)
    text = ["component", "variant", "dtype", "oracle", "verdict"]
    for col in text:
        summary[col] = summary[col].map(lambda s: s if len(s) <= width else s[: width - 1] + "…")
    fmt = {col: (lambda n: lambda s: f"{s:<{n}}")(summary[col].str.len().max())
           for col in text}
    return summary.to_string(index=False, formatters=fmt, justify="left")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["check"]:  # `python -m parity check DIR`: a learner's implementation
        from parity.check.cli import main as check_main
        return check_main(argv[1:])
    args = parse_args(argv)
    if args.mnist_root:
        os.environ["MNIST_ROOT"] = args.mnist_root
    if args.dlfs_weights:
        os.environ["DLFS_WEIGHTS"] = args.dlfs_weights
    entries = load_all()
    if args.list:
        for e in (e for e in entries if matches(args.select, entry_id(e))):
            doc = getattr(e, "doc", "")
            print(f"{entry_id(e):50s} {', '.join(e.dtypes):17s} {doc}".rstrip())
        return 0

    started = time.perf_counter()
    book_rows = []  # book_weights.csv: the published-weights entries append their rows
    entries = [dataclasses.replace(e, rows=book_rows) if isinstance(e, BookWeights) else e
               for e in entries]
    with single_threaded():
        checks, skipped = run_entries(entries, args.select, args.slow)
    df = to_frame(checks)
    if df.empty and not skipped:
        print("no checks ran" + (f" (nothing matches -k {args.select!r})" if args.select else ""))
        return 1
    out = os.path.join(args.out, "parity.csv")
    write_atomic(out, df.to_csv(index=False))  # always, even when every entry was skipped
    book = book_weights.write_csv(book_rows, args.out)  # rows exist when those entries ran
    if not book.empty:
        print("Published weights (book_weights.csv):\n" + book.to_string(index=False) + "\n")
    elif os.path.exists(stale := os.path.join(args.out, "book_weights.csv")):
        os.remove(stale)  # it would sit beside this run's parity.csv as if from this run
        print(f"removed {stale}: from an earlier run (no published-weights entry ran now)")
    if df.empty:
        for line in skipped:
            print(f"skipped: {line}")
        print(f"0 checks, {len(skipped)} skipped -> {out}")
        return 0

    with pd.option_context("display.max_rows", None, "display.width", 160,
                           "display.max_colwidth", 48):
        print(format_summary(summarize(df)))
    failures = [c for c in checks if c.verdict not in PASSING]
    gaps = {}  # one line per documented difference, listing the quantities it covers
    for c in checks:
        if c.verdict == "expected gap":
            key = (c.component, c.variant, c.oracle, c.note)
            gaps.setdefault(key, set()).add(c.quantity.split("/")[-1])
    if gaps:
        print("\nDocumented differences (expected gaps, reproduced by this run):")
        for (component, variant, oracle, note), quantities in sorted(gaps.items()):
            print(f"  {component} [{variant}] {', '.join(sorted(quantities))} "
                  f"vs {oracle}: {note}")
    measured = [c for c in checks if c.verdict == "match" and c.note]
    if measured:
        print("\nMeasured along the way:")
        for c in measured:
            print(f"  {c.component} [{c.variant}] {c.dtype}: {c.note}")
    defects = [c for c in checks if c.verdict == KNOWN_DEFECT]
    if defects:
        print("\nKnown defects in published code (kept as written; must keep failing):")
        for c in defects:
            print(f"  {c.component} [{c.variant}] {c.quantity}: {c.note}")
    for line in skipped:
        print(f"skipped: {line}")
    shown = checks if args.verbose else failures
    for c in shown[:50]:
        print(c.message())
    if len(shown) > 50:
        print(f"... {len(shown) - 50} more in {out}")
    crashed = sum(c.verdict == CRASHED for c in checks)
    print(f"\n{len(checks)} checks, {len(checks) - len(failures)} passed, {len(failures)} failed"
          f"{f' ({crashed} of them entries that CRASHED)' if crashed else ''}"
          f"{f', {len(skipped)} skipped' if skipped else ''}"
          f" in {time.perf_counter() - started:.1f} s -> {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
