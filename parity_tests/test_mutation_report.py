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
    row = {"module": "scratch/schedules.py", "mutants": 5, "killed": 1, "survived": 2,
           "timed out": 1, "no tests": 0, "suspicious": 0, "not run": 1, "equivalent": 1,
           "score": "25.0%"}  # 1 / (5 - 1)
    assert table == [row, row | {"module": "scratch/ (all)"}, row | {"module": "everything"}]
    assert {s["mutant"].rsplit("_", 1)[1]: s["argument"] for s in survivors} == {
        "2": "the same lr either way", "3": "NOT ARGUED", "4": "NOT ARGUED"}
    M.write_report(table, survivors, tmp_path, note="test")
    assert (tmp_path / "mutation.csv").read_text().splitlines()[1].startswith(
        "scratch/schedules.py,5,1,2,1")
    assert "NOT ARGUED" in (tmp_path / "mutation.md").read_text()


def test_a_function_keeps_its_fastest_tests_within_the_budget():
    durations = {"slow": 8.0, "fast": 0.5, "mid": 3.0, "unknown": 0.0}
    assert M.within_budget(set(durations), durations, budget_s=4.0) == {"unknown", "fast", "mid"}
    # one test is always kept, however slow: a mutant is never left without a test
    assert M.within_budget({"slow"}, durations, budget_s=1.0) == {"slow"}


def test_module_selects_its_mutants_by_name():
    assert M.mutant_glob("scratch/layers.py") == "scratch.layers.*"
    assert M.mutant_glob("parity/engine/inputs.py") == "parity.engine.inputs.*"
