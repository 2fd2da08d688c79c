"""The accuracy, model-speed and book-weights report parts, on tiny synthetic data.

No MNIST needed: ``load_mnist`` is replaced by random images; the sections'
skip paths are checked with the variables pointing nowhere.  Each kind of
check is shown to bite once.  No assertion here is about speed.
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import scratch.models as SM
import torch_ref.models as TM
from parity.engine.compare import MISMATCH
from parity.engine.inputs import source
from parity.experiments import bench, tables, training
from parity_tests.helpers import STAND_IN_DEVICE
from reports.render import GREEN, RED
from reports.section import Context
from reports.sections import accuracy as acc
from reports.sections import book_weights_report as bw

TINY = acc.Plan(train=200, test=50, train_eval=50, epochs=2)


def fake_mnist(flatten, dtype):
    """Random 'images' in [0, 1) with labels: the shapes load_mnist gives, none of the data."""
    rng = source("test_reports_models", "fake MNIST")
    x = rng.random((TINY.train, 784)).astype(dtype)
    xt = rng.random((TINY.test, 784)).astype(dtype)
    return (x, rng.integers(0, 10, TINY.train)), (xt, rng.integers(0, 10, TINY.test))


@pytest.fixture
def tiny_accuracy(monkeypatch, tmp_path):
    monkeypatch.setattr(acc, "QUICK", TINY)
    monkeypatch.setattr(acc, "load_mnist", fake_mnist)
    return lambda select: acc.accuracy(Context(out=tmp_path, select=select, progress=False))


def test_every_model_starts_equal_on_both_sides():
    for model in tables.MODELS:
        setup, _, _ = training.prepare(model, tables.SGD, "float64")
        x = source("test_reports_models", model.name).random((3, *model.input_shape))
        setup.twin.eval()
        theirs = setup.twin(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(setup.net.predict(x), theirs, rtol=1e-10, atol=1e-12)


def test_deepconvnet_trains_identically_with_replayed_dropout_masks(tiny_accuracy,
                                                                   monkeypatch):
    monkeypatch.setattr(acc, "QUICK", acc.Plan(train=100, test=20, train_eval=20, epochs=2))
    result = tiny_accuracy(tables.DEEP_CONVNET.name)
    final = result.tables[0].view.iloc[-1]
    assert final["test acc diff pp"] == 0 and final["max rel loss gap"] < 1e-12
    assert not result.problems


def test_accuracy_section_tables_and_plots(tiny_accuracy):
    mlps = [tables.MLP, tables.MLP_BATCHNORM]
    result = tiny_accuracy(tables.MLP.name)  # selects both MLPs: with and without BatchNorm
    table = result.tables[0]
    assert list(table.view["model"]) == [m.name for m in mlps]
    assert list(table.view["optimizer"]) == [m.optimizer.name for m in mlps]
    assert list(table.data["epoch"]) == [1, 2, 1, 2]
    assert (table.view["train images"] == TINY.train).all()
    assert (table.view["test acc diff pp"] == 0).all() and not result.problems
    assert (table.data[["train s scratch", "train s torch"]] > 0).all().all()
    assert [f.name for f in result.figures] == ["accuracy_mlp_784_100_100_10",
                                                "accuracy_mlp_784_100_100_10___batchnorm"]


def test_a_twin_that_trains_differently_is_red(tiny_accuracy, monkeypatch):
    wrong = dataclasses.replace(tables.MLP, twin=lambda: TM.with_book_loss(
        TM.MultiLayerNet(784, (100, 100), 10, "sigmoid")))
    monkeypatch.setattr(acc, "MODELS", (wrong, *tables.MODELS[1:]))
    result = tiny_accuracy(tables.MLP_BATCHNORM.name)  # nothing wrong there
    assert not result.problems
    view = tiny_accuracy(tables.MLP.name).tables[0].view
    assert view.iloc[0]["max rel loss gap"] > 1e-3
    row = pd.Series({"test acc diff pp": acc.MAX_DIFF_PP + 0.01})
    assert acc.diff_colour(row) == RED and acc.diff_colour(row * 0) == GREEN


def test_accuracy_skips_cleanly_without_mnist(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    result = acc.accuracy(Context(out=tmp_path, progress=False))
    assert not result.tables and result.notes[0].startswith("skipped")


# ---- model benches ----
@pytest.fixture
def small_inference(monkeypatch):
    monkeypatch.setattr(bench, "INFERENCE_IMAGES", 200)


@pytest.fixture(scope="module")
def model_benches():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "INFERENCE_IMAGES", 200)
        return [make(("cpu", STAND_IN_DEVICE)) for make in bench.MODEL_BENCHES]


def test_model_benches_run_both_sides_and_agree(model_benches):
    """Every phase of every side runs, torch's on a second device too (the GPU column)."""
    for b in model_benches:
        assert b.kind == "model" and b.agreement.verdict == "match", b.agreement.message()
        assert set(b.sides) == {"scratch", "torch", bench.side_name(STAND_IN_DEVICE)}
        for phases in b.sides.values():
            assert set(phases) == {bench.TRAIN_STEP, "inference 200"}
            for run in phases.values():
                run()
    assert [b.name for b in model_benches] == [m.bench_name for m in tables.MODELS]
    for b, model in zip(model_benches, tables.MODELS, strict=True):
        assert b.targets == ({"train step": model.target} if model.target else {})


def test_a_wrong_model_shows_at_benchmark_size(small_inference):
    wrong = dataclasses.replace(tables.MLP, scratch=lambda **kw: SM.MultiLayerNet(
        784, (100, 100), 10, "tanh", **kw))
    assert bench.training_bench(wrong)(("cpu",)).agreement.verdict == MISMATCH


# ---- book weights ----
def test_book_weights_skip_note_without_the_variables(monkeypatch, tmp_path):
    monkeypatch.delenv("DLFS_WEIGHTS", raising=False)
    result = bw.book_weights(Context(out=tmp_path, progress=False))
    assert not result.tables and len(result.notes) == 1 + len(bw.PUBLISHED)
    assert all("skipped" in n and "set DLFS_WEIGHTS" in n for n in result.notes[:-1])


def test_book_weights_table_and_a_wrong_accuracy_is_red(monkeypatch, tmp_path):
    spec = bw.PUBLISHED[0]
    rows = [{"network": spec.network, "impl": impl, "accuracy": a, "agreement": 1.0,
             "published": spec.accuracy} for impl, a in (("scratch", spec.accuracy),
                                                          ("torch", spec.accuracy - 1e-4))]
    monkeypatch.setattr(bw.BookWeights, "evaluate", lambda self: (rows, []))
    result = bw.book_weights(Context(out=tmp_path, select=spec.network, progress=False))
    table = result.tables[0]
    assert table.name == "book_weights" and table.formats == ("csv",)
    assert list(table.view.columns[:4]) == ["network", "impl", "accuracy", "agreement"]
    assert [bw.row_colour(r) for _, r in table.view.iterrows()] == [GREEN, RED]
    assert len(result.problems) == 1 and "(torch)" in result.problems[0]


def test_plan_sizes_fit_the_batch():
    for plan in (acc.QUICK, acc.FULL):
        assert plan.epochs >= 2 and (plan.train is None or plan.train % acc.BATCH == 0)
    assert acc.QUICK.train_eval <= acc.QUICK.train
