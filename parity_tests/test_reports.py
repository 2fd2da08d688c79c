"""``python -m reports``: files, atomic writes, colours that bite, the bench table,
and index.html rendered by headless Chromium.  No assertion here is about speed."""

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import scratch.layers as S
from parity.engine import registry
from parity.engine.compare import CSV_COLUMNS, MISMATCH
from parity.engine.layer_pair import LayerPair
from parity.engine.runner import write_atomic
from parity.experiments import bench, tables
from parity_tests.helpers import STAND_IN_DEVICE, broken_tanh_entry
from parity_tests.test_walls import imported_modules
from reports import cli
from reports.render import AMBER, GREEN, RED, highlight, styled, to_markdown
from reports.section import Context, Section, Table, load_sections
from reports.sections import parity_report, speed_report

FILES = ["parity.csv", "parity.md", "parity_errors.png", "speed.csv", "speed.md",
         "speed_ratio.png", "index.html"]


def tiny_context(out, select="relu"):
    """Quick mode on one component, with the shortest timing that still runs every path."""
    return Context(out=out, select=select, progress=False, pause_s=0.0, rounds=2,
                   timing_blocks=2, block_s=0.001)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(speed_report, "PEAK_N", 256)  # a small GEMM: this test times nothing
        assert cli.run_report(tiny_context(out), load_sections()) == 0
    return out


def test_quick_report_writes_every_file(report):
    for name in FILES:
        assert (report / name).stat().st_size > 0, name
    for png in ("parity_errors.png", "speed_ratio.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(pd.read_csv(report / "parity.csv").columns) == CSV_COLUMNS
    speed = pd.read_csv(report / "speed.csv")
    assert set(speed["phase"]) == {"forward", "backward"}
    assert {"scratch ms", "torch ms", "scratch/torch", "ratio low", "ratio high", "target",
            "outputs agree"} <= set(speed.columns)
    md = (report / "speed.md").read_text()
    assert "threadpool: openblas" in md and "matmul peak" in md and "torch " in md
    page = (report / "index.html").read_text()
    for s in load_sections():
        if s.name in ("parity", "speed"):
            assert s.title in page
    assert page.count("data:image/png;base64,") == 2 and "commit " in page


def test_reports_do_not_import_either_side_directly():
    offenders = [f"{p.name}: {m}" for p, names in imported_modules("reports") for m in names
                 if m.split(".")[0] in ("scratch", "torch_ref")]
    assert not offenders, f"reports/ must go through parity: {offenders}"


# ---- atomic files ----
def test_write_atomic_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "plot.png"
    write_atomic(path, b"old")

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_an_interrupted_report_leaves_the_previous_one_intact(tmp_path):
    parity = [s for s in load_sections() if s.name == "parity"]
    assert cli.run_report(tiny_context(tmp_path), parity) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def ctrl_c(ctx):
        raise KeyboardInterrupt

    # another subset: its parity files differ, and they must not replace the old ones
    with pytest.raises(KeyboardInterrupt):
        cli.run_report(tiny_context(tmp_path, select="sigmoid"),
                       parity + [Section("x", "X", 99, ctrl_c)])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # whole, not half-new
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.*"))  # no staging folder left


def test_a_subset_run_names_the_files_it_kept_from_an_earlier_report(tmp_path, capsys):
    (tmp_path / "book_weights.csv").write_text("network\nold\n")
    parity = [s for s in load_sections() if s.name == "parity"]
    assert cli.run_report(tiny_context(tmp_path), parity) == 0
    assert "kept from an earlier report: book_weights.csv" in capsys.readouterr().out
    assert "book_weights.csv" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "must be at least 1"),
    (["--threads", "two"], "expected a whole number"),
])
def test_bad_threads_are_refused_before_any_work(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--out", str(tmp_path), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # index.html not rewritten


def test_out_that_is_a_file_and_empty_sections_are_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit):
        cli.main(["--out", str(tmp_path / "f")])
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["--out", str(tmp_path / "o"), "--sections", ""]) == 2
    assert "names no section" in capsys.readouterr().out


def test_a_crashing_section_is_shown_and_fails_the_run(tmp_path):
    def broken(ctx):
        raise ValueError("no such model")

    sections = [s for s in load_sections() if s.name == "parity"]
    assert cli.run_report(tiny_context(tmp_path), sections + [Section("x", "X", 99, broken)]) == 1
    page = (tmp_path / "index.html").read_text()
    assert "section failed" in page and "no such model" in page and "Parity" in page


def test_cli_quick_mode_and_unknown_sections(tmp_path):
    assert cli.main(["--out", str(tmp_path), "-k", "sigmoid", "--sections", "parity",
                     "--no-progress"]) == 0
    assert (tmp_path / "parity.md").exists() and not (tmp_path / "speed.csv").exists()
    assert cli.main(["--out", str(tmp_path), "--sections", "nope"]) == 2


# ---- colours that bite ----
def parity_html(monkeypatch, tmp_path, entries):
    monkeypatch.setattr(parity_report, "load_all", lambda: entries)
    result = parity_report.parity(tiny_context(tmp_path, select=None))
    return result, styled(result.tables[0]).to_html()


def test_a_failing_parity_check_is_red(monkeypatch, tmp_path):
    result, html = parity_html(monkeypatch, tmp_path, [broken_tanh_entry()])
    assert RED in html and any("MISMATCH: tanh [default] float64 dx" in p
                               for p in result.problems)


def test_a_documented_gap_is_amber_with_its_explanation(monkeypatch, tmp_path):
    result, html = parity_html(monkeypatch, tmp_path, [registry.find("SoftmaxWithLoss", "book")])
    assert AMBER in html and RED not in html and not result.problems
    assert "log(y + 1e-7)" in html


def test_a_missed_speed_target_is_red_and_a_met_one_green():
    df = pd.DataFrame({"component": ["a model", "another model", "relu"],
                       "phase": ["train step"] * 2 + ["forward"],
                       "scratch/torch": [1.5, 0.8, 3.0], "target": [1.0, 1.0, np.nan]})
    assert [speed_report.target_colour(r) for _, r in df.iterrows()] == [RED, GREEN, None]
    html = styled(Table("speed", df, style=highlight(speed_report.target_colour,
                                                     ["scratch/torch", "target"]))).to_html()
    for row, colour in ((0, RED), (1, GREEN)):  # both the ratio and the target cell
        assert re.search(rf"row{row}_col2, #T_\w+_row{row}_col3 {{\s*background-color: {colour}",
                         html), (row, colour)
    assert "row2_col2 {" not in html


def test_model_benches_get_rows_with_their_target(tmp_path, monkeypatch):
    """The hook for models: an entry of MODEL_BENCHES becomes a row with its target."""
    x = np.ones((50, 50), dtype=np.float32)
    mlp = tables.MLP
    monkeypatch.setattr(bench, "MODEL_BENCHES", [lambda devices: bench.model_bench(
        mlp.bench_name, {"scratch": {"train step": lambda: x @ x},
                         "torch": {"train step": lambda: x + x}}, mlp.target)])
    ctx = tiny_context(tmp_path, select=mlp.bench_name)
    (model,) = speed_report.benches(ctx)
    df = speed_report.time_benches([model], {}, ctx)
    row = df.iloc[0]
    assert (row["component"], row["kind"], row["target"]) == (mlp.bench_name, "model", mlp.target)
    assert row["ratio low"] <= row["scratch/torch"] <= row["ratio high"]


def test_a_second_torch_device_gets_its_own_columns(tmp_path, monkeypatch):
    """The torch-on-GPU path without a GPU: a second CPU device stands in for cuda."""
    monkeypatch.setattr(speed_report, "devices", lambda: ("cpu", "cpu:0"))
    monkeypatch.setattr(speed_report, "PEAK_N", 64)
    result = speed_report.speed(tiny_context(tmp_path, select="Affine"))
    view = result.tables[0].view
    assert {"torch cpu:0 ms", "torch cpu:0 IQR ms", "torch cpu:0 GFLOP/s",
            "torch cpu:0 % of matmul peak"} <= set(view.columns)
    assert "torch cpu:0" in " ".join(result.notes)  # its matmul peak


# ---- the bench table ----
@pytest.mark.parametrize("pair", [e for e in registry.load_all()
                                  if isinstance(e, LayerPair)], ids=bench.name_of)
def test_every_registry_layer_pair_has_a_workload_that_builds_and_agrees(pair):
    """The speed report times every LayerPair of the registry (no second list to forget):
    at batch 100 (or its own BenchSize), both sides agree and every phase runs, the torch
    side on a second device too (the GPU column's path)."""
    assert pair in bench.workloads()
    b = bench.build(pair, ("cpu", STAND_IN_DEVICE))
    assert b.agreement.verdict == "match", b.agreement.message()
    for side in ("scratch", "torch", bench.side_name(STAND_IN_DEVICE)):
        for phase, fn in b.sides[side].items():
            # a layer without an input gradient (integer ids) returns None from backward
            no_dx = side == "scratch" and phase == "backward" and not pair.grad_inputs
            result = fn()
            assert no_dx or result is not None, (side, phase)


def test_samples_scale_to_the_benchmark_batch_with_their_labels():
    rng = np.random.default_rng(0)
    x, t, loss = np.arange(8.0).reshape(4, 2), np.arange(4), np.float64(2.3)
    xs, ts = bench.scaled_to_batch((x, t), rng)
    assert xs.shape == (bench.BATCH, 2) and np.array_equal(xs[:, 0] // 2, ts)  # rows kept
    assert bench.scaled_to_batch((loss,), rng) == [loss]  # a scalar input stays


def test_a_wrong_scratch_layer_shows_at_benchmark_size():
    class Wrong(S.Sigmoid):
        def forward(self, x):
            return super().forward(x) * np.float32(1.001)

    pair = dataclasses.replace(registry.find("sigmoid", "default"), scratch=lambda p: Wrong())
    assert bench.build(pair).agreement.verdict == MISMATCH


def test_weight_flops_for_affine_and_convolution():
    affine = {"W": np.zeros((784, 100))}
    assert bench.weight_flops(affine, np.zeros((100, 100))) == 2 * 100 * 100 * 784
    conv = {"W": np.zeros((30, 1, 5, 5))}
    assert bench.weight_flops(conv, np.zeros((100, 30, 24, 24))) == 2 * 100 * 30 * 24 * 24 * 25


def test_markdown_tables():
    df = pd.DataFrame({"a": ["x|y"], "b": [np.nan], "c": [1.23456789]})
    assert to_markdown(df).splitlines() == ["| a | b | c |", "|---|---|---|",
                                            "| x\\|y |  | 1.235 |"]


# ---- index.html in a real browser ----
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on PATH "
                    "(apt-get install -y chromium) -- index.html not rendered")
def test_index_renders_in_headless_chromium(report, tmp_path):
    shot = tmp_path / "index.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1280,2400",
                    (report / "index.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels[..., :3].std() > 0.05, "the page rendered blank"


def test_loading_the_sections_does_not_import_cpp_extension():
    """Its import logs "No CUDA runtime is found, using CUDA_HOME=..." on every run."""
    code = ("import sys; from reports.section import load_sections; load_sections(); "
            "print('torch.utils.cpp_extension' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[1])
    assert run.stdout.strip() == "False" and "CUDA_HOME" not in run.stderr



def test_parity_rows_come_in_the_same_order_from_make_parity_and_make_report():
    """The report's sections import some pairs modules first; load_all still orders the
    entries by module, so parity.csv has the same row order from both commands."""
    code = ("import json, sys; {pre}from parity.engine.registry import load_all; "
            "print(json.dumps([[e.component, e.variant] for e in load_all()]))")
    pre = "from reports.section import load_sections; load_sections(); "
    orders = [subprocess.run([sys.executable, "-c", code.format(pre=p)], capture_output=True,
                             text=True, timeout=120, cwd=Path(__file__).parents[1]).stdout
              for p in ("", pre)]
    assert orders[0] and orders[0] == orders[1]
