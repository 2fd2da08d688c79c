"""``make report`` / ``python -m reports``: run every report section, write reports/out/.

Quick mode (default) finishes in minutes on 2 cores; ``--full`` (FULL=1) runs
full-MNIST epochs and longer timing.  The report is written as a set: into a fresh
folder beside the output folder (starting from a copy of the previous report), which
replaces the output folder only at the end -- an interrupted run leaves the previous
report whole.  A subset run (``-k``, ``--sections``) keeps the previous report's other
files and says which ones, on the terminal and in index.html.
Exit status 0 when every section ran (failures they report are shown in red),
1 when a section crashed, 2 for bad arguments.
"""

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from parity.engine.runner import OUT_DIR, output_folder_problem, write_atomic
from reports.render import index_html, write_section
from reports.section import Context, load_sections

# (rounds, timed blocks per round, seconds per block) per mode
TIMING = {False: (3, 5, 0.01), True: (5, 15, 0.04)}


def at_least_one(text):
    """--threads: an integer >= 1 (0 would reach torch.set_num_threads and abort there)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="full-MNIST epochs, longer timing")
    p.add_argument("--out", default=str(OUT_DIR), help="output folder (default reports/out)")
    p.add_argument("-k", "--select", help="only components/entries whose name contains this")
    p.add_argument("--sections", help="comma-separated section names (default: all)")
    p.add_argument("--threads", type=at_least_one, default=torch.get_num_threads(),
                   help="threads for NumPy's BLAS and torch (default: torch's, %(default)s)")
    p.add_argument("--mnist-root", help="folder containing MNIST/raw/ (sets $MNIST_ROOT)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    args = p.parse_args(argv)
    problem = output_folder_problem(args.out)
    if problem:
        p.error(problem)
    return args


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
    """Run ``sections``, write their files and index.html; returns the number that crashed.

    Everything goes into a fresh folder next to ``ctx.out`` that replaces it at the end
    (``swap_in``); a crash or Ctrl-C before that removes the fresh folder and leaves the
    previous report as it was."""
    final = Path(ctx.out)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.new-"))
    try:
        previous = set()
        if final.is_dir():
            shutil.copytree(final, stage, dirs_exist_ok=True)
            previous = {p.name for p in final.iterdir()}
        crashed = _run_into(dataclasses.replace(ctx, out=stage), sections, previous)
        os.chmod(stage, 0o755)  # mkdtemp makes 0700; reports are for reading
        swap_in(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    print(f"-> {final / 'index.html'}")
    return crashed


def swap_in(stage, final):
    """Replace the folder ``final`` by ``stage``: two renames, then the old one is removed."""
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.old-"))
        os.replace(final, old / final.name)
    os.replace(stage, final)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _run_into(ctx, sections, previous):
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
    written = {"index.html"} | {name for _, _, files, _ in ran for name in files}
    kept = sorted(previous - written)
    header = [f"generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} in "
              f"{time.perf_counter() - started:.0f} s, {'full' if ctx.full else 'quick'} mode"
              + (f", subset -k {ctx.select!r}" if ctx.select else "") + f", commit {commit()}"]
    if kept:
        header.append("not rewritten by this run, kept from an earlier report: "
                      + ", ".join(kept))
        print(header[-1])
    write_atomic(ctx.out / "index.html", index_html(header, ran))
    return sum(1 for *_, error in ran if error)


def main(argv=None):
    args = parse_args(argv)
    if args.mnist_root:
        os.environ["MNIST_ROOT"] = args.mnist_root
    sections = load_sections()
    if args.sections is not None:
        wanted = [w.strip() for w in args.sections.split(",") if w.strip()]
        unknown = set(wanted) - {s.name for s in sections}
        if unknown or not wanted:
            print(f"--sections {args.sections!r}: " + (f"unknown {sorted(unknown)}" if unknown
                  else "names no section") + f"; have {','.join(s.name for s in sections)}")
            return 2
        sections = [s for s in sections if s.name in wanted]
    return 1 if run_report(context(args), sections) else 0


if __name__ == "__main__":
    sys.exit(main())
