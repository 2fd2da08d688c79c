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


def test_arguments_refuse_an_unknown_kind_or_reason_a_foreign_mutant_and_one_argued_twice(
        tmp_path):
    (tmp_path / "reasons.toml").write_text('[reasons]\nsame-draws = "the same draws"\n')
    good = ('[[argument]]\nkind = "equivalent"\nreason = "same-draws"\n'
            'mutants = ["m.x_a__mutmut_1"]\n'
            '[[argument]]\nkind = "missing"\nwhy = "no check"\nmutants = ["m.x_a__mutmut_2"]\n')
    path = tmp_path / "m.toml"
    path.write_text(good)
    assert M.load_arguments(tmp_path) == {"m.x_a__mutmut_1": ("equivalent", "the same draws"),
                                          "m.x_a__mutmut_2": ("missing", "no check")}
    for bad, message in [(good.replace('"missing"', '"equivalnet"'), "kind 'equivalnet'"),
                         (good.replace('"same-draws"', '"same-draw"'), "reason 'same-draw'"),
                         (good.replace("mutmut_2", "mutmut_1"), "m.x_a__mutmut_1 is argued twice"),
                         (good.replace('"m.x_a__mutmut_2"', '"n.x_a__mutmut_2"'),
                          "n.x_a__mutmut_2 is not a mutant of m")]:
        path.write_text(bad)
        with pytest.raises(ValueError, match=message):
            M.load_arguments(tmp_path)


def test_every_argued_mutant_is_of_a_module_that_exists():
    """A file named after a renamed or removed module would argue mutants nobody makes."""
    modules = {name.split(".x")[0] for name in M.SURVIVORS}
    assert modules and all((M.ROOT / (m.replace(".", "/") + ".py")).is_file() for m in modules)
