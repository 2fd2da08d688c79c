"""``make mutate``: how many planted bugs do the tests catch?  (mutmut 3, a dev dependency)

mutmut copies the tree to ``mutants/``, plants one small change (a mutant) at a time in
``scratch/`` and in the harness code that feeds both sides the same numbers (sampler,
mask factories, augmentation plans, data pairing: [tool.mutmut] only_mutate in
pyproject.toml), and runs the tests that cover the mutated function (it maps tests to
functions in one instrumented run of the whole selection first).  A mutant that no
test fails on *survived*.  Then this module writes ``reports/out/mutation.{csv,md}``:
per module the mutants, killed, survived, timed out, and every survivor with its
argument from ``parity/mutation_survivors/`` (an equivalent mutant, or the check
that is missing) -- or "NOT ARGUED" when it has none yet.

    python -m parity.mutation                           # the campaign (not part of CI)
    python -m parity.mutation --module scratch/schedules.py   # one module, a quick look
    python -m parity.mutation --survivors               # rerun what survived (a new check?)
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

import tomllib

from parity.engine.runner import write_atomic

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "reports" / "out"
ARGUMENTS = Path(__file__).with_name("mutation_survivors")
KINDS = ("equivalent", "missing")


def load_arguments(folder=ARGUMENTS):
    """{mutant name: (kind, why)} from the survivors' arguments: one file per mutated module
    (``scratch.layers.toml`` argues ``scratch.layers.*`` mutants), each a list of

        [[argument]]
        kind = "equivalent"   # the mutant computes the same thing: out of the score
        #      "missing"      # a real bug no check catches yet: `why` says which check would
        why = "..."           # or reason = "<name>", a reason of reasons.toml, shared
        mutants = ["scratch.layers.x...__mutmut_3", ...]   # mutmut's names

    An unknown kind or reason, a mutant in another module's file or argued twice is an
    error: each would quietly move a mutant in or out of the score."""
    folder = Path(folder)
    reasons = tomllib.loads((folder / "reasons.toml").read_text(encoding="utf-8"))["reasons"]
    arguments = {}
    for path in sorted(folder.glob("*.toml")):
        if path.name == "reasons.toml":
            continue
        for argument in tomllib.loads(path.read_text(encoding="utf-8"))["argument"]:
            kind = argument["kind"]
            why = argument["why"] if "why" in argument else reasons.get(argument.get("reason"))
            if kind not in KINDS:
                raise ValueError(f"{path.name}: kind {kind!r} is none of {KINDS}: {argument}")
            if why is None:
                raise ValueError(f"{path.name}: no why, and reason {argument.get('reason')!r} "
                                 f"is not in reasons.toml: {argument}")
            for name in argument["mutants"]:
                if not name.startswith(path.stem + "."):
                    raise ValueError(f"{path.name}: {name} is not a mutant of {path.stem}")
                if name in arguments:
                    raise ValueError(f"{path.name}: {name} is argued twice")
                arguments[name] = (kind, why)
    return arguments


SURVIVORS = load_arguments()

# What one mutant may cost.  mutmut maps every test to the functions it reaches (transitively)
# and runs a mutant's tests fastest first, stopping at the first failure: a killed mutant is
# cheap, a survivor pays for every test that reaches its function -- for scratch.checks or
# Affine that is most of the suite.  So each function keeps its fastest tests up to this many
# seconds (as timed in the instrumented stats run, which is slower than the mutant runs).  A
# mutant only the slower tests would catch then survives and is argued like any other.
TEST_BUDGET_S = 10.0
# mutmut times a test's call only; its setup and pytest's own work come on top in a mutant's
# run (measured: 133 registry and file tests of 5 s of calls took over 30 s in one run, so
# mutmut's timeout, 5 x (calls + 1 s), fired on mutants that change nothing).  Each test is
# counted this much more, for the budget and for mutmut's timeout alike.
TEST_OVERHEAD_S = 0.25


def mutant_glob(module):
    """mutmut's mutant names of ``module``: scratch/layers.py -> scratch.layers.*"""
    return module.removesuffix(".py").replace("/", ".") + ".*"


def within_budget(tests, duration_by_test, budget_s=TEST_BUDGET_S):
    """The fastest of ``tests`` whose durations add up to at most ``budget_s`` (at least one)."""
    kept, spent = set(), 0.0
    for test in sorted(tests, key=lambda t: (duration_by_test.get(t, 0.0), t)):
        spent += duration_by_test.get(test, 0.0)
        if kept and spent > budget_s:
            break
        kept.add(test)
    return kept


def _budgeted_mutmut():
    """Patch mutmut 3.8.1 (pinned) so that (1) each function's tests are cut to the budget
    after the stats run or its cache is loaded, and (2) the clean run is skipped when the
    stats run has just run the same selection unmutated (it exits on any failing test)."""
    import mutmut.__main__ as mm
    from mutmut.state import state

    stats_ran = []
    collect_stats, load_or_collect = mm.run_stats_collection, mm.collect_or_load_stats

    def run_stats_collection(runner, tests=None):
        collect_stats(runner, tests)
        stats_ran.append(not tests)

    def collect_or_load_stats(runner, **kwargs):
        load_or_collect(runner, **kwargs)
        st = state()
        for test in st.duration_by_test:
            st.duration_by_test[test] += TEST_OVERHEAD_S
        for function, tests in list(st.tests_by_mangled_function_name.items()):
            st.tests_by_mangled_function_name[function] = within_budget(
                tests, st.duration_by_test)
        if stats_ran and stats_ran[-1]:
            runner.run_clean_tests = lambda tests: 0

    mm.run_stats_collection, mm.collect_or_load_stats = run_stats_collection, collect_or_load_stats


# mutmut's exit-code verdicts, folded into the report's columns
FOLD = {"killed": "killed", "caught by type check": "killed", "survived": "survived",
        "timeout": "timed out", "segfault": "killed", "no tests": "no tests",
        "suspicious": "suspicious", "skipped": "not run", "not checked": "not run",
        "check was interrupted by user": "not run"}
PROJECT_PACKAGES = ("scratch", "parity", "torch_ref", "reports", "parity_tests")
NOT_KILLED = ("survived", "timed out", "no tests", "suspicious")
COLUMNS = ["module", "mutants", "killed", "survived", "timed out", "no tests", "suspicious",
           "not run", "equivalent", "score"]


def run_mutmut(module=None, max_children=None, names=()):
    """``mutmut run`` in ROOT: every mutant, or ``module``'s only, or the mutants ``names``
    (the same test selection and stats cache either way, so a look at one module and the
    campaign agree)."""
    from mutmut.__main__ import cli

    os.chdir(ROOT)
    # This module is part of parity/, so the project's packages are already imported from ROOT:
    # forget them, or the tests would run the unmutated parity.* (whose mutants then have no
    # tests) instead of the copies in mutants/ that mutmut puts first on sys.path.
    for name in [m for m in sys.modules if m.split(".")[0] in PROJECT_PACKAGES]:
        del sys.modules[name]
    _budgeted_mutmut()
    args = (["run"] + (["--max-children", str(max_children)] if max_children else [])
            + (list(names) or ([mutant_glob(module)] if module else [])))
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
        if status in NOT_KILLED:
            kind, why = SURVIVORS.get(name, ("", "NOT ARGUED"))
            counts["equivalent"] += kind == "equivalent"
            survivors.append({"module": path, "mutant": name, "status": status,
                              "kind": kind or "?", "argument": why})
    # the target is for scratch/ as a whole; the harness files stand on their own rows
    groups = dict(sorted(per_module.items()))
    groups["scratch/ (all)"] = sum((c for p, c in per_module.items()
                                    if p.startswith("scratch/")), Counter())
    groups["everything"] = sum(per_module.values(), Counter())
    table = []
    for path, counts in groups.items():
        if not counts:
            continue
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
    parser.add_argument("--survivors", action="store_true",
                        help="rerun only the mutants the last run did not kill (after adding a "
                             "check), of --module if given")
    parser.add_argument("--max-children", type=int, help="parallel mutant runs (default: cores)")
    args = parser.parse_args(argv)
    started, code = time.perf_counter(), 0
    names = [name for _, name, status in results(module=args.module)
             if status in NOT_KILLED] if args.survivors else []
    if args.survivors and not names:
        print("no survivors to rerun")
    elif not args.report_only:
        code = run_mutmut(args.module, args.max_children, names)
    table, survivors = summarise(results(module=args.module))
    took = time.perf_counter() - started
    what = ("rerun of the survivors" if args.survivors else "campaign") + (
        f" of module {args.module}" if args.module else "")
    note = (f"{what}; "
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
