"""Run registry entries and collect their checks as a table (one row per check)."""

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from parity.engine.compare import CRASHED, CSV_COLUMNS, KNOWN_DEFECT, crash
from parity.engine.registry import Skipped, entry_id, load_all, matches


def default_out_dir():
    """The one place that decides where outputs go: reports/out of the source checkout when
    the package runs from one (make parity, make report), else ./reports/out under the
    current folder -- an installed package never writes into site-packages."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and "site-packages" not in root.parts:
        return root / "reports" / "out"
    return Path.cwd() / "reports" / "out"


OUT_DIR = default_out_dir()


def run_entries(entries=None, select=None, slow=False):
    """Run ``entries`` (default: the whole registry) for each of their dtypes.

    ``select``: keep entries whose id contains this text (any case; spaces and
    underscores alike, so the names as printed match);
    entries marked ``slow`` (long training runs) only run with ``slow=True``.
    Returns (checks, skipped) -- ``skipped`` lists "entry-id: reason" lines.

    This is the one place where a crash becomes a verdict: an entry of any kind that
    raises (a bad data or weights file, a broken layer) gives one failed ``CRASHED``
    row explaining what raised where, and the run goes on with the next entry.
    """
    entries = load_all() if entries is None else entries
    checks, skipped = [], []
    for entry in entries:
        if getattr(entry, "slow", False) and not slow:
            continue
        for dtype in entry.dtypes:
            eid = entry_id(entry, dtype)
            if not matches(select, eid):
                continue
            try:
                checks += entry.run(dtype)
            except Skipped as why:
                skipped.append(f"{eid}: {why}")
            except Exception as err:
                checks.append(crash(err, component=entry.component, variant=entry.variant,
                                    dtype=dtype))
    return checks, skipped


@contextlib.contextmanager
def threads(n):
    """``n`` BLAS and ``n`` torch threads inside the block (both sides alike)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)


def single_threaded():
    """Parity's arrays are tiny: on a shared 2-core machine extra threads only spin
    (measured: 3-14x slower).  Entries with large arrays use ``all_threads``."""
    return threads(1)


def all_threads():
    return threads(os.cpu_count() or 1)


def to_frame(checks):
    return pd.DataFrame([c.row() for c in checks], columns=CSV_COLUMNS)


def summarize(df):
    """Per component/variant/dtype/oracle: checks, failures, worst relative error, verdict."""
    if df.empty:
        return df
    g = df.groupby(["component", "variant", "dtype", "oracle"], sort=False)
    summary = g.agg(checks=("passed", "size"), failed=("passed", lambda p: int((~p).sum())),
                    expected_gaps=("verdict", lambda v: int((v == "expected gap").sum())),
                    worst_rel_err=("max_rel_err", "max"))
    defects = g["verdict"].agg(lambda v: bool((v == KNOWN_DEFECT).any())).to_numpy()
    crashed = g["verdict"].agg(lambda v: bool((v == CRASHED).any())).to_numpy()
    summary["verdict"] = [CRASHED if c else "FAIL" if f else KNOWN_DEFECT if d else "PASS"
                          for c, f, d in zip(crashed, summary["failed"], defects)]
    return summary.reset_index()


def output_folder_problem(out):
    """Why ``out`` cannot take the output (it is a file, cannot be created, is not
    writable), or "" -- asked before any work, so a bad --out fails in a second."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        return f"--out {out}: is a file, not a folder"
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as err:
        return f"--out {out}: cannot write there ({err.strerror or err})"
    return ""


def write_atomic(path, data):
    """Write ``data`` (str, or bytes such as a PNG) via a temporary file and rename:
    a crash or Ctrl-C leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are for reading
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
