"""``python -m parity``: the table, the CSV schema, the exit status."""

import pandas as pd

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
