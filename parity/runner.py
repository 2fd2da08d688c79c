"""Run registry entries and collect their checks as a table (one row per check)."""

import os
import tempfile
from pathlib import Path

import pandas as pd

from parity.compare import CSV_COLUMNS
from parity.registry import Skipped, entry_id, load_all

OUT_DIR = Path(__file__).resolve().parent.parent / "reports" / "out"


def run_entries(entries=None, select=None):
    """Run ``entries`` (default: the whole registry) for each of their dtypes.

    ``select``: keep entries whose id contains this text (case-insensitive).
    Returns (checks, skipped) -- ``skipped`` lists "entry-id: reason" lines.
    """
    entries = load_all() if entries is None else entries
    checks, skipped = [], []
    for entry in entries:
        for dtype in entry.dtypes:
            eid = entry_id(entry, dtype)
            if select and select.lower() not in eid.lower():
                continue
            try:
                checks += entry.run(dtype)
            except Skipped as why:
                skipped.append(f"{eid}: {why}")
    return checks, skipped


def to_frame(checks):
    return pd.DataFrame([c.row() for c in checks], columns=CSV_COLUMNS)


def summarize(df):
    """Per component/convention/dtype/oracle: checks, failures, worst relative error, verdict."""
    if df.empty:
        return df
    g = df.groupby(["component", "convention", "dtype", "oracle"], sort=False)
    summary = g.agg(checks=("passed", "size"), failed=("passed", lambda p: int((~p).sum())),
                    expected_gaps=("verdict", lambda v: int((v == "expected gap").sum())),
                    worst_rel_err=("max_rel_err", "max"))
    summary["verdict"] = ["PASS" if f == 0 else "FAIL" for f in summary["failed"]]
    return summary.reset_index()


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
