"""`make check IMPL=DIR` / `python -m parity check DIR` / `dlfs-parity check DIR`.

Checks a learner's own NumPy implementation of the book's API against the PyTorch
twins and the finite-difference oracle, and names each bug.

Exit status: 0 every discovered component matches (a documented book convention,
another valid convention or a copied book defect counts as a match), 1 any
mismatch or crash, 2 nothing of the book's API could be discovered.
"""

import argparse
import glob
import importlib.util
import sys
import time
from pathlib import Path

from parity.check import report
from parity.check.run import (
    COMPONENT_TIMEOUT,
    IMPORT_TIMEOUT,
    check_implementation,
    check_many,
)
from parity.check.table import COMPONENTS, sample_inputs_hint
from parity.engine.runner import OUT_DIR


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m parity check",
                                description=__doc__.splitlines()[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[5:]))
    p.add_argument("impl", nargs="*", help="implementation folder(s) or .py file(s); a glob "
                   "such as 'submissions/*' checks each match")
    p.add_argument("--module", action="append", default=[], metavar="PKG.MOD",
                   help="an installed package or module to check (repeatable)")
    p.add_argument("--map", action="append", default=[], metavar="COMPONENT=MODULE.NAME",
                   help="map a book component discovery cannot find, e.g. "
                        "--map Affine=mylayers.Dense")
    p.add_argument("--out", default=str(OUT_DIR), help="output folder (reports go to "
                   "OUT/check/<name>.{csv,md,html}; default ./reports/out)")
    p.add_argument("-j", "--workers", type=int, default=2, help="parallel child processes")
    p.add_argument("--import-timeout", type=float, default=IMPORT_TIMEOUT,
                   help=f"seconds a module may take to import (default {IMPORT_TIMEOUT:.0f})")
    p.add_argument("--timeout", type=float, default=COMPONENT_TIMEOUT,
                   help=f"seconds per component (default {COMPONENT_TIMEOUT:.0f})")
    p.add_argument("-k", "--only", action="append", default=[], metavar="COMPONENT",
                   help="check only this book component (repeatable), e.g. -k Affine")
    p.add_argument("--all", action="store_true", help="also list components not found")
    return p.parse_args(argv)


def targets_of(args):
    targets = []
    for pattern in args.impl:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        targets += [m for m in matches if Path(m).is_dir() or m.endswith(".py")]
        if not matches:
            raise SystemExit(f"check: {pattern!r} matches nothing")
        for m in matches:
            if not Path(m).exists():
                raise SystemExit(f"check: {m} does not exist")
    for name in args.module:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise SystemExit(f"check: no installed module {name!r}")
        origin = Path(spec.origin)
        targets.append(str(origin.parent if origin.name == "__init__.py" else origin))
    if not targets:
        raise SystemExit("check: give an implementation folder, a .py file or --module")
    return targets


def parse_map(items):
    known = {c.name for c in COMPONENTS}
    mapping = {}
    for item in items:
        component, sep, spec = item.partition("=")
        if not sep or "." not in spec:
            raise SystemExit(f"--map {item!r}: expected COMPONENT=MODULE.NAME")
        if component not in known:
            raise SystemExit(f"--map {item!r}: unknown component {component!r} "
                             f"(one of {', '.join(sorted(known))})")
        mapping[component] = spec
    return mapping


def print_outcome(outcome, show_missing):
    print(f"== {outcome.name} ({outcome.root})")
    if not outcome.discovered:
        print("nothing of the book's API found. Looked for:")
        for c in COMPONENTS:
            print(f"  {sample_inputs_hint(c.name)}")
        print(f"in every .py file under {outcome.root} (common/, chapter folders, flat files;"
              " use --map COMPONENT=MODULE.NAME for other names)")
    else:
        print(report.format_table(outcome, show_missing))
        text = report.details(outcome)
        if text:
            print("\n" + text)
        line = report.not_found_line(outcome)
        if line and not show_missing:
            print("\n" + line)
    bad = [r for r in outcome.discovered if not r.passed()]
    print(f"\n{len(outcome.discovered)} components checked, {len(bad)} failing, "
          f"in {outcome.seconds:.1f} s")


def main(argv=None):
    args = parse_args(argv)
    targets = targets_of(args)
    mapping = parse_map(args.map)
    out = Path(args.out)
    started = time.perf_counter()
    unknown = set(args.only) - {c.name for c in COMPONENTS}
    if unknown:
        raise SystemExit(f"check -k: unknown component(s) {', '.join(sorted(unknown))}")
    kwargs = dict(mapping=mapping, import_timeout=args.import_timeout,
                  component_timeout=args.timeout, only=args.only or None)
    if len(targets) == 1:
        outcomes = [check_implementation(targets[0], workers=args.workers, **kwargs)]
    else:
        outcomes = check_many(targets, processes=args.workers, **kwargs)
    for outcome in outcomes:
        print_outcome(outcome, args.all)
        if outcome.discovered:
            path = report.write(outcome, out)
            print(f"-> {path.with_suffix('.{csv,md,html}')}")
        print()
    if len(outcomes) > 1:
        df = report.write_many(outcomes, out)
        print(df["exit"].to_string())
        print(f"\n{len(outcomes)} implementations in {time.perf_counter() - started:.1f} s -> "
              f"{out / 'check' / 'summary.{csv,html}'}")
    return max(o.exit_code() for o in outcomes)


if __name__ == "__main__":
    sys.exit(main())
