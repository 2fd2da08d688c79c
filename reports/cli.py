"""``make report`` / ``python -m reports``: run every report section, write reports/out/.

Quick mode (default) finishes in minutes on 2 cores; ``--full`` (FULL=1) runs
full-MNIST epochs and longer timing.  Each file is written atomically and
index.html last, so an interrupted run leaves the previous report readable.
Exit status 0 when every section ran (failures they report are shown in red),
1 when a section crashed.
"""

import argparse
import os
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from parity.engine.runner import OUT_DIR, write_atomic
from reports.render import index_html, write_section
from reports.section import Context, load_sections

# (rounds, timed blocks per round, seconds per block) per mode
TIMING = {False: (3, 5, 0.01), True: (5, 15, 0.04)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="full-MNIST epochs, longer timing")
    p.add_argument("--out", default=str(OUT_DIR), help="output folder (default reports/out)")
    p.add_argument("-k", "--select", help="only components/entries whose name contains this")
    p.add_argument("--sections", help="comma-separated section names (default: all)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="threads for NumPy's BLAS and torch (default: torch's, %(default)s)")
    p.add_argument("--mnist-root", help="folder containing MNIST/raw/ (sets $MNIST_ROOT)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    return p.parse_args(argv)


def context(args):
    rounds, blocks, block_s = TIMING[args.full]
    return Context(out=Path(args.out), full=args.full, select=args.select,
                   threads=args.threads, progress=not args.no_progress,
                   rounds=rounds, timing_blocks=blocks, block_s=block_s)


def commit():
    """The checked-out commit (with "+changes" when the tree is dirty), or "unknown"."""
    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).parent).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        return (head + ("+changes" if git("status", "--porcelain") else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_report(ctx, sections):
    """Run ``sections``, write their files and index.html; returns the number that crashed."""
    started = time.perf_counter()
    ran = []
    for s in sections:
        t0 = time.perf_counter()
        try:
            result = s.run(ctx)
            written = write_section(s, result, ctx.out) if result else {}
            ran.append((s, result, written, ""))
            state = "no output" if result is None else ", ".join(sorted(written))
        except Exception:  # one broken section must not hide the others
            ran.append((s, None, {}, traceback.format_exc()))
            state = "FAILED"
            traceback.print_exc()
        print(f"{s.name}: {state} ({time.perf_counter() - t0:.1f} s)", flush=True)
    header = [f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} in "
              f"{time.perf_counter() - started:.0f} s, {'full' if ctx.full else 'quick'} mode"
              + (f", subset -k {ctx.select!r}" if ctx.select else "") + f", commit {commit()}"]
    write_atomic(ctx.out / "index.html", index_html(header, ran))
    print(f"-> {ctx.out / 'index.html'}")
    return sum(1 for *_, error in ran if error)


def main(argv=None):
    args = parse_args(argv)
    if args.mnist_root:
        os.environ["MNIST_ROOT"] = args.mnist_root
    sections = load_sections()
    if args.sections:
        wanted = args.sections.split(",")
        unknown = set(wanted) - {s.name for s in sections}
        if unknown:
            print(f"unknown sections {sorted(unknown)}; have {[s.name for s in sections]}")
            return 2
        sections = [s for s in sections if s.name in wanted]
    return 1 if run_report(context(args), sections) else 0


if __name__ == "__main__":
    sys.exit(main())
