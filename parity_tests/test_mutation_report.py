"""parity.mutation's report: counts per module, the score, every survivor with its argument."""

import json

import pytest

import parity.mutation as M

pytest.importorskip("mutmut")  # a dev dependency: `make mutate` only


def test_results_are_read_from_mutmuts_meta_files_and_summarised(tmp_path, monkeypatch):
    meta = tmp_path / "scratch" / "schedules.py.meta"
    meta.parent.mkdir()
    codes = {"scratch.schedules.x_a__mutmut_1": 1, "scratch.schedules.x_a__mutmut_2": 0,
             "scratch.schedules.x_a__mutmut_3": 0, "scratch.schedules.x_a__mutmut_4": 36,
             "scratch.schedules.x_a__mutmut_5": None}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    monkeypatch.setitem(M.SURVIVORS, "scratch.schedules.x_a__mutmut_2",
                        ("equivalent", "the same lr either way"))
    rows = M.results(tmp_path)
    assert sorted(r[2] for r in rows) == ["killed", "not run", "survived", "survived",
                                          "timed out"]
    table, survivors = M.summarise(rows)
    assert table == [{"module": "scratch/schedules.py", "mutants": 5, "killed": 1,
                      "survived": 2, "timed out": 1, "no tests": 0, "suspicious": 0,
                      "not run": 1, "equivalent": 1, "score": "25.0%"}]  # 1 / (5 - 1)
    assert {s["mutant"].rsplit("_", 1)[1]: s["argument"] for s in survivors} == {
        "2": "the same lr either way", "3": "NOT ARGUED", "4": "NOT ARGUED"}
    M.write_report(table, survivors, tmp_path, note="test")
    assert (tmp_path / "mutation.csv").read_text().splitlines()[1].startswith(
        "scratch/schedules.py,5,1,2,1")
    assert "NOT ARGUED" in (tmp_path / "mutation.md").read_text()
