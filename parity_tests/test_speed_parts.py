"""The speed report's measuring parts: peak memory, the book-shaped swap, the reference
column, the per-layer profile and its GEMM lines, the test images.  Nothing here is
timed or asserts a speed: every check is about what is measured, not how fast."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import scratch.conv as SC
import scratch.conv_fast as SF
from parity.engine import registry
from parity.engine.probes import SameResults
from parity.experiments import bench, profiling, tables
from parity.experiments.training import prepare
from reports.headlines import speed_lines
from reports.section import Table
from reports.sections import speed_report


# ---- peak memory ----
def test_numpy_peak_grows_with_the_allocation_and_forgets_what_was_held():
    held = np.ones(2_000_000)  # 16 MB held before: not part of the call's peak
    small = profiling.numpy_peak_bytes(lambda: np.ones(1_000_000))  # 8 MB
    big = profiling.numpy_peak_bytes(lambda: np.ones(4_000_000))  # 32 MB
    assert 8e6 <= small < 9e6 and 32e6 <= big < 33e6
    assert held.sum() == 2e6


def test_torch_peak_grows_with_the_allocation():
    """torch's allocator is invisible to tracemalloc: the profiler's events see it."""
    small = profiling.torch_peak_bytes(lambda: torch.ones(1_000_000))  # 4 MB
    big = profiling.torch_peak_bytes(lambda: torch.ones(4_000_000) + 1)  # two 16 MB tensors
    assert 4e6 <= small < 5e6 and 32e6 <= big < 33e6
    assert profiling.numpy_peak_bytes(lambda: torch.ones(4_000_000)) < 1e6  # hence the profiler


# ---- the book-shaped swap ----
def test_book_shaped_network_computes_what_the_fast_one_does():
    fast, book = (prepare(tables.SIMPLE_CONVNET, tables.SGD, "float64")[0].net
                  for _ in range(2))
    swapped = bench.book_shaped(book)
    fast_classes = {SF.FastConvolution: SC.Convolution, SF.FastPooling: SC.Pooling}
    assert swapped == [n for n, layer in fast.layers.items()
                       if type(layer) in fast_classes] and swapped
    assert all(type(book.layers[n]) is fast_classes[type(fast.layers[n])] for n in swapped)
    convs = [n for n in swapped if "W" in book.layers[n].params]
    assert all(book.layers[n].params["W"] is book.params[f"W{k}"]  # the same arrays:
               for k, n in enumerate(convs, start=1))              # the optimizer trains them
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 1, 28, 28)), rng.integers(0, 10, 4)
    np.testing.assert_allclose(book.loss(x, t, True), fast.loss(x, t, True), rtol=1e-12)
    book.backward(), fast.backward()
    for k in fast.grads:
        np.testing.assert_allclose(book.grads[k], fast.grads[k], rtol=1e-10, atol=1e-14)


def test_book_shaped_refuses_a_class_with_a_constructor_of_its_own(monkeypatch):
    class Different(SF.FastConvolution):
        def __init__(self, W, b):
            super().__init__(W, b)

    monkeypatch.setattr(bench, "reference_classes", lambda: {Different: SC.Convolution})
    net = prepare(tables.SIMPLE_CONVNET, tables.SGD, "float32")[0].net
    name = next(iter(net.layers))
    net.layers[name] = Different(net.params["W1"], net.params["b1"])
    with pytest.raises(TypeError, match="constructor"):
        bench.book_shaped(net)


def test_a_network_without_a_layer_to_swap_has_no_book_shaped_companion():
    nets = {m: prepare(m, tables.SGD, "float32")[0].net for m in (tables.MLP,
                                                                  tables.DEEP_CONVNET)}
    assert bench.book_shaped(nets[tables.MLP]) == []
    assert len(bench.book_shaped(nets[tables.DEEP_CONVNET])) == 6 + 3  # convs, max-pools


def test_references_come_from_the_registry_probes(monkeypatch):
    """Every fast convolution entry names its book-shaped one; a new SameResults link
    (here: a max pooling against itself, standing in for a faster pooling) gets one."""
    refs = bench.references()
    fast = [e for e in registry.load_all() if getattr(e, "variant", "").endswith(", fast")
            and not isinstance(e, SameResults)]
    assert fast and all(refs[bench.name_of(e)] == bench.name_of(e).replace(", fast", "")
                        for e in fast)
    pool = registry.find("Pooling", "2x2, stride 2, pad 0")
    faster = dataclasses.replace(pool, variant="2x2, stride 2, pad 0, faster")
    monkeypatch.setattr(bench, "load_all", lambda: [SameResults.of(faster, pool)])
    assert bench.references() == {bench.name_of(faster): bench.name_of(pool)}


def test_speedup_column_divides_the_reference_time_by_the_rows():
    df = pd.DataFrame({"component": ["fast", "book", "fast", "other"],
                       "phase": ["forward", "forward", "forward", "forward"],
                       "threads": [2, 2, 1, 2], "reference": ["book", None, "book", "gone"],
                       "scratch ms": [1.0, 3.0, 2.0, 1.0]})
    got = speed_report.with_speedup(df)[speed_report.FASTER].tolist()
    assert got[0] == 3.0 and np.isnan(got[1]) and np.isnan(got[2]) and np.isnan(got[3])


# ---- model benches: threads, memory, profile ----
@pytest.fixture(scope="module")
def simple_convnet_bench():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "INFERENCE_IMAGES", 200)
        (make,) = [training_bench for training_bench, m in zip(
            bench.MODEL_BENCHES, tables.MODELS, strict=True) if m is tables.SIMPLE_CONVNET]
        return make(("cpu",))


def test_model_bench_carries_its_book_shaped_companion_and_memory_jobs(simple_convnet_bench):
    b = simple_convnet_bench
    (book,) = b.companions
    assert b.reference == book.name and set(book.sides) == {"scratch"}
    assert b.once == ("inference 200",) and b.images == {"inference 200": 200}
    assert set(b.memory) == {"scratch", "torch"}
    table = speed_report.memory_table([b])
    for side in ("scratch", "torch"):
        for phase in (bench.TRAIN_STEP, bench.INFERENCE_BATCH):
            assert table.loc[0, f"{side} {phase} MB"] > 0.1  # a conv batch is megabytes
    assert table.loc[0, "scratch train step MB"] > table.loc[0, "scratch inference batch MB"]


def test_profile_has_every_layer_of_both_sides_and_gemm_only_where_products_are(
        simple_convnet_bench):
    ctx = speed_report_context(simple_convnet_bench.name)
    df = speed_report.profile_table([simple_convnet_bench], ctx)
    net, twin = (simple_convnet_bench.layers[s][0] for s in ("scratch", "torch"))
    scratch, torch_rows = (df[df["side"] == s].set_index("layer") for s in ("scratch", "torch"))
    assert len(scratch) == len(net.layers) + 2 and len(torch_rows) == len(
        profiling.leaf_modules(twin)) + 1  # + the loss layer, + the total
    assert (scratch.drop("total")[["forward ms", "backward ms"]] > 0).all().all()
    assert (torch_rows.drop("total")[["forward ms", "backward ms"]] > 0).all().all()
    gemm = scratch["GEMM ms"]
    assert gemm.filter(like="Convolution").iloc[0] > 0 and gemm.filter(like="Affine").gt(0).all()
    assert gemm.filter(like="(Relu)").eq(0).all() and gemm.filter(like="Pooling").eq(0).all()
    assert not any({"forward", "backward"} & set(vars(layer))  # the timers are gone
                   for layer in [*net.layers.values(), net.last_layer])


def test_a_split_network_still_has_its_gemm_time_and_layer_times():
    """The line tracer and the layers' clocks follow one thread: DeepConvNet, which splits
    its batch over threads, is traced and timed with the split off (its GEMM ms read 0
    while the products ran on the pool's threads; the clocks, copied onto the replicas,
    would time the network's own layers from two threads at once), and keeps its split
    afterwards."""
    net = prepare(tables.DEEP_CONVNET, tables.SGD, "float32")[0].net
    assert net.split_batches
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 4)
    convs = [name for name, layer in net.layers.items() if isinstance(layer, SF.FastConvolution)]
    with profiling.threads(2):  # split: 2 + 2 images
        traced = profiling.traced_seconds(net, x, t, steps=1)
        assert all(split is None for _, split in net._ran)  # the traced step ran whole
        times, _ = profiling.scratch_layer_times(net, x, t, steps=1)
        assert all(split is None for _, split in net._ran)  # so did the timed one
        net.loss(x, t)
        assert any(split is not None for _, split in net._ran)  # and the net splits again
    assert all(traced[name, "forward"][0] > 0 for name in convs)
    assert all(times[name, phase][0] > 0 for name in net.layers for phase in ("forward",
                                                                              "backward"))
    assert net.split_batches


def speed_report_context(select):
    from pathlib import Path

    from reports.section import Context
    return Context(out=Path("."), select=select, progress=False, pause_s=0.0, rounds=1,
                   timing_blocks=1, block_s=0.001)


def test_model_rows_at_both_thread_counts_each_against_its_target(monkeypatch, tmp_path):
    x = np.ones((20, 20), dtype=np.float32)
    mlp = tables.MLP
    monkeypatch.setattr(bench, "MODEL_BENCHES", [lambda devices: bench.model_bench(
        mlp.bench_name, {"scratch": {"train step": lambda: x @ x, "inference 10k": lambda: x},
                         "torch": {"train step": lambda: x + x, "inference 10k": lambda: x}},
        mlp.target)])
    monkeypatch.setattr(speed_report, "PEAK_N", 16)
    monkeypatch.setattr(speed_report, "memory_table", lambda models: pd.DataFrame())
    monkeypatch.setattr(speed_report, "profile_table", lambda models, ctx: pd.DataFrame())
    ctx = dataclasses.replace(speed_report_context(mlp.bench_name), threads=2, out=tmp_path)
    result = speed_report.speed(ctx)
    models = next(t for t in result.tables if t.name == "speed_models").view
    assert sorted(models["threads"]) == [1, 1, 2, 2]
    steps = models[models["phase"] == bench.TRAIN_STEP]
    assert list(steps["threads"]) == [2, 1] and (steps["target"] == mlp.target).all()
    assert models.loc[models["phase"] == "inference 10k", "target"].isna().all()
    assert {"scratch images/s", "torch images/s", speed_report.FASTER} <= set(models.columns)
    speed = next(t for t in result.tables if t.name == "speed")
    lines = speed_lines(Table("speed", speed.view, data=speed.data))
    assert len(lines) == 2 and "on 1 thread(s)" in "".join(lines)


# ---- GEMM lines, test images ----
@pytest.mark.parametrize("code, gemm", [
    ("out = x @ W + b", True), ("dx = np.dot(dout, W.T)", True), ("y = np.matmul(a, b)", True),
    ("    @property", False), ("x = a * b  # not x @ W", False), ("", False),
    ("self.grads['W'] = (dout.T @ self.col).reshape(W.shape)", True)])
def test_gemm_lines(tmp_path, code, gemm):
    path = tmp_path / "layer.py"
    path.write_text(f"{code}\n")
    assert profiling.is_gemm_line(str(path), 1) is gemm


def test_synthetic_test_images_say_so(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))  # no MNIST files there
    monkeypatch.chdir(tmp_path)
    x, where = bench.test_images.__wrapped__(300)
    assert x.shape == (300, 1, 28, 28) and x.dtype == np.float32 and "synthetic" in where
    assert 0 <= x.min() and x.max() < 1
