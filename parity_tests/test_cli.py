"""``python -m parity``: the table, the CSV schema, the exit status."""

import pandas as pd
import pytest

from parity import cli
from parity.engine.compare import CSV_COLUMNS

REQUIRED = ["component", "variant", "dtype", "quantity", "max_abs_err", "max_rel_err",
            "atol", "rtol", "passed"]


def test_csv_schema_and_exit_status(tmp_path, capsys):
    assert cli.main(["--out", str(tmp_path), "-k", "Affine"]) == 0
    df = pd.read_csv(tmp_path / "parity.csv")
    assert list(df.columns[: len(REQUIRED)]) == REQUIRED and list(df.columns) == CSV_COLUMNS
    assert set(df["dtype"]) == {"float64", "float32"} and df["passed"].all()
    out = capsys.readouterr().out
    assert "Affine" in out and "PASS" in out


def test_a_component_yields_at_least_40_rows_in_both_dtypes(tmp_path):
    assert cli.main(["--out", str(tmp_path), "-k", "SoftmaxWithLoss-book"]) == 0
    df = pd.read_csv(tmp_path / "parity.csv")
    assert len(df) >= 40
    assert (df["dtype"] == "float64").sum() >= 20 and (df["dtype"] == "float32").sum() >= 20


def test_a_failing_check_makes_the_exit_status_nonzero(tmp_path, monkeypatch, capsys):
    from parity_tests.helpers import broken_tanh_entry

    monkeypatch.setattr(cli, "load_all", lambda: [broken_tanh_entry()])
    assert cli.main(["--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "MISMATCH: tanh [default] float64 dx" in out


def test_selecting_nothing_is_an_error(tmp_path):
    assert cli.main(["--out", str(tmp_path), "-k", "no-such-component"]) == 1


# ---- arguments are checked before any work, names match as printed ----
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_entries", lambda *a, **k: pytest.fail("work started"))
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--out", str(tmp_path / "f"), "-k", "Affine"])
    assert exit_.value.code == 2 and "is a file, not a folder" in capsys.readouterr().err


def test_k_matches_names_as_printed_and_list_honours_it(capsys):
    assert cli.main(["--list", "-k", "book weights: ch03"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith("book_weights:_ch03_MLP")
    assert cli.main(["--list", "-k", "softmaxwithloss-log_softmax"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_a_run_that_only_skips_still_writes_the_csv_and_drops_a_stale_book_csv(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DLFS_WEIGHTS", raising=False)
    (tmp_path / "book_weights.csv").write_text("network\nold\n")
    assert cli.main(["--out", str(tmp_path), "-k", "book weights: ch03"]) == 0
    assert list(pd.read_csv(tmp_path / "parity.csv").columns) == CSV_COLUMNS
    assert not (tmp_path / "book_weights.csv").exists()
    out = capsys.readouterr().out
    assert "removed" in out and "skipped: book_weights:_ch03" in out and "DLFS_WEIGHTS" in out


def test_a_crashing_entry_is_a_row_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    import dataclasses

    from parity.engine import registry

    def broken(params):
        raise ZeroDivisionError("boom")

    entries = [dataclasses.replace(registry.find("tanh", "default"), scratch=broken),
               registry.find("sigmoid", "default")]
    monkeypatch.setattr(cli, "load_all", lambda: entries)
    assert cli.main(["--out", str(tmp_path)]) == 1
    df = pd.read_csv(tmp_path / "parity.csv")
    crashed = df[df["verdict"] == "CRASHED"]
    assert set(crashed["component"]) == {"tanh"} and len(crashed) == 2  # one per dtype
    assert crashed["note"].str.contains("the scratch side raised ZeroDivisionError: boom").all()
    assert df[df["component"] == "sigmoid"]["passed"].all() and len(df) > 20
    assert "CRASHED: tanh [default] float64 run" in capsys.readouterr().out


def test_makefile_works_from_another_folder(tmp_path):
    """A copy of the Makefile with a stand-in python: every recipe runs in the Makefile's
    folder, and a relative MNIST_ROOT is taken from where make started."""
    import os
    import shutil
    import subprocess
    import time
    from pathlib import Path

    if not shutil.which("make"):
        pytest.skip("no make here")
    proj, other = tmp_path / "proj", tmp_path / "other"
    (proj / ".venv" / "bin").mkdir(parents=True)
    other.mkdir()
    shutil.copy(Path(__file__).parents[1] / "Makefile", proj)
    for name in ("pyproject.toml", "constraints.txt"):
        (proj / name).write_text("")
    fake = proj / ".venv" / "bin" / "python"
    fake.write_text('#!/bin/sh\necho "cwd=$PWD args=$* mnist=$MNIST_ROOT"\n')
    fake.chmod(0o755)
    stamp = proj / ".venv" / ".installed"
    stamp.write_text("")
    os.utime(stamp, (time.time() + 60,) * 2)  # newer than pyproject.toml: no install step
    run = subprocess.run(["make", "-f", "../proj/Makefile", "parity", "MNIST_ROOT=data"],
                         cwd=other, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert f"cwd={proj} args=-m parity mnist={other / 'data'}" in run.stdout
