"""``make mutate``: how many planted bugs do the tests catch?  (mutmut 3, a dev dependency)

mutmut copies the tree to ``mutants/``, plants one small change (a mutant) at a time in
``scratch/`` and in the harness code that feeds both sides the same numbers (sampler,
mask factories, augmentation plans, data pairing: [tool.mutmut] only_mutate in
pyproject.toml), and runs the tests that cover the mutated function (it maps tests to
functions in one instrumented run of the whole selection first).  A mutant that no
test fails on *survived*.  Then this module writes ``reports/out/mutation.{csv,md}``:
per module the mutants, killed, survived, timed out, and every survivor with its
argument from ``parity/mutation_survivors.py`` (an equivalent mutant, or the check
that is missing) -- or "NOT ARGUED" when it has none yet.

    python -m parity.mutation                           # the campaign (not part of CI)
    python -m parity.mutation --module scratch/schedules.py   # one module, a quick look
    python -m parity.mutation --report-only             # rewrite the report from mutants/

Run it with OMP_NUM_THREADS=1 (the Makefile does): mutmut forks its workers, and a
forked torch with a live OpenMP thread pool can deadlock.
"""

import argparse
import csv
import io
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from parity.engine.runner import write_atomic
from parity.mutation_survivors import SURVIVORS

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "reports" / "out"

# A quick look at one module: the tests that exercise it, instead of the whole suite for
# the instrumented first run.  Modules without an entry get the whole selection.
# (-k also matches the training runs' ids, "...-SGD,_200_steps": leave them out by name.)
QUICK_TESTS = {
    "scratch/schedules.py": [
        "parity_tests/test_optimizers.py", "parity_tests/test_registry.py", "-m", "not slow",
        "-k", "(test_optimizers or SGD or Momentum or Nesterov or AdaGrad or RMSprop or Adam)"
              " and not training"],
    "scratch/regularization.py": [
        "parity_tests/test_optimizers.py", "parity_tests/test_registry.py", "-m", "not slow",
        "-k", "test_optimizers or weight_decay"],
}

# mutmut's exit-code verdicts, folded into the report's columns
FOLD = {"killed": "killed", "caught by type check": "killed", "survived": "survived",
        "timeout": "timed out", "segfault": "killed", "no tests": "no tests",
        "suspicious": "suspicious", "skipped": "not run", "not checked": "not run",
        "check was interrupted by user": "not run"}
COLUMNS = ["module", "mutants", "killed", "survived", "timed out", "no tests", "suspicious",
           "not run", "equivalent", "score"]


def run_mutmut(module=None, max_children=None):
    """``mutmut run`` in ROOT, for ``module`` only (and its quick tests) when given."""
    import mutmut.configuration as mc
    from mutmut.__main__ import cli

    os.chdir(ROOT)
    cfg = mc._load_config()
    if module:
        cfg.only_mutate = [module]
        cfg.pytest_add_cli_args_test_selection = QUICK_TESTS.get(
            module, cfg.pytest_add_cli_args_test_selection)
    mc._config = cfg
    args = ["run"] + (["--max-children", str(max_children)] if max_children else [])
    try:
        cli(args, standalone_mode=False)
    except SystemExit as stop:  # mutmut exits on a failing clean run; say so, go on
        if stop.code:
            print(f"mutmut stopped with exit code {stop.code}", file=sys.stderr)
            return int(stop.code)
    return 0


def results(mutants_dir=ROOT / "mutants", module=None):
    """[(module, mutant name, status)] from mutmut's per-file ``.meta`` results."""
    from mutmut.stats import status_by_exit_code

    rows = []
    for meta in sorted(Path(mutants_dir).rglob("*.py.meta")):
        path = meta.relative_to(mutants_dir).as_posix().removesuffix(".meta")
        if module and path != module:
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        rows += [(path, name, FOLD[status_by_exit_code[code]])
                 for name, code in sorted(codes.items())]
    return rows


def summarise(rows):
    """(per-module table rows, survivor rows) -- score = killed / (mutants - equivalent)."""
    per_module, survivors = {}, []
    for path, name, status in rows:
        counts = per_module.setdefault(path, Counter())
        counts["mutants"] += 1
        counts[status] += 1
        if status in ("survived", "timed out", "no tests", "suspicious"):
            kind, why = SURVIVORS.get(name, ("", "NOT ARGUED"))
            counts["equivalent"] += kind == "equivalent"
            survivors.append({"module": path, "mutant": name, "status": status,
                              "kind": kind or "?", "argument": why})
    table = []
    for path, counts in sorted(per_module.items()):
        # the score: a mutant not run (or timed out) counts as not killed
        relevant = counts["mutants"] - counts["equivalent"]
        table.append({c: counts.get(c, 0) for c in COLUMNS[1:-1]} | {
            "module": path,
            "score": f"{counts['killed'] / relevant:.1%}" if relevant else "-"})
    return table, survivors


def write_report(table, survivors, out_dir=OUT_DIR, note=""):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    write_atomic(Path(out_dir) / "mutation.csv", buf.getvalue())
    lines = ["# Mutation testing (mutmut)", "", note, "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in table]
    lines += ["", "## Survivors", "", "| module | mutant | status | kind | argument |",
              "|---|---|---|---|---|"]
    lines += [f"| {s['module']} | `{s['mutant']}` | {s['status']} | {s['kind']} | "
              f"{s['argument']} |" for s in survivors]
    write_atomic(Path(out_dir) / "mutation.md", "\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", help="mutate this file only, e.g. scratch/layers.py")
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from an earlier run's mutants/ results")
    parser.add_argument("--max-children", type=int, help="parallel mutant runs (default: cores)")
    args = parser.parse_args(argv)
    started, code = time.perf_counter(), 0
    if not args.report_only:
        code = run_mutmut(args.module, args.max_children)
    table, survivors = summarise(results(module=args.module))
    took = time.perf_counter() - started
    note = (f"{'module ' + args.module if args.module else 'campaign'}; "
            + ("report only" if args.report_only else f"{took:.0f} s on {os.cpu_count()} cores"))
    write_report(table, survivors, note=note)
    for row in table:
        print(", ".join(f"{c} {row[c]}" for c in COLUMNS))
    unargued = [s["mutant"] for s in survivors if s["argument"] == "NOT ARGUED"]
    print(f"{len(survivors)} survivors ({len(unargued)} not argued) -> {OUT_DIR}/mutation.md; "
          f"{took:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
