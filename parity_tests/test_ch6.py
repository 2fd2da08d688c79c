"""Chapter-6 experiments on both sides: tiny sizes, synthetic data (no MNIST needed)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import parity.experiments.ch6 as ch6
import parity.experiments.training as training
import torch_ref.layers as TL
import torch_ref.optimizers as TO
from parity.engine.compare import compare
from parity.engine.tolerances import tolerance_for
from reports.section import Context

TINY = ch6.Settings(steps=6, batch_size=20, hidden=8, bn_scales=(1.0, 0.01), bn_samples=200,
                    bn_epochs=2, overfit_samples=200, overfit_epochs=2, test_samples=60,
                    histogram_samples=50)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return ch6.Data(rng.random((300, 784)), rng.integers(0, 10, 300),
                    rng.random((80, 784)), rng.integers(0, 10, 80))


def agree(outcome):
    """Every curve and every array gap of ``outcome`` within the float64 training tolerance."""
    c = outcome.curves
    curves_ok = compare(c.scratch.to_numpy(), c.torch.to_numpy(),
                        tolerance_for("training-float64")).passed
    return curves_ok and all(g["non-finite"] == 0 and g["max_abs_gap"] <= 1e-12
                             for g in outcome.gaps)


@pytest.mark.parametrize("run", ch6.TRAINED, ids=lambda r: r.__name__)
def test_trained_experiments_agree_in_float64(data, run):
    outcome = run(data, TINY)
    assert agree(outcome), ch6.gap_table(outcome).to_string()
    assert set(outcome.curves.curve) >= {"loss"}


def test_overfit_records_accuracy_every_epoch_and_before_training(data):
    curves = ch6.overfit_compare(data, TINY).curves
    acc = curves[curves.curve == "test acc"]
    assert sorted(acc.x.unique()) == [0, 1, 2]  # epoch 0 = the initial weights
    assert set(acc.config) == {"no regularization", "weight decay 0.1", "dropout 0.2"}


def test_activation_histograms_agree_and_count_every_activation():
    outcome = ch6.activation_histograms(TINY)
    assert agree(outcome)
    c = outcome.curves
    counts = c.groupby(["config", "curve"]).scratch.sum()
    assert (counts == TINY.histogram_samples * TINY.hidden).all()  # clipped, none lost
    assert c.curve.nunique() == 5 and c.config.nunique() == len(ch6.HISTOGRAM_CONFIGS)


def test_planned_steps_match_the_steps_run(data):
    ticks = []
    for run in ch6.TRAINED:
        run(data, TINY, progress=ticks.append)
    assert len(ticks) == ch6.planned_steps(data, TINY)


# ---- the gaps bite: break one side, the gap table shows it ----

def worst(outcome, config):
    table = ch6.gap_table(outcome)
    return table[table.config == config].max_abs_gap.max()


def test_a_twin_with_another_learning_rate_is_caught(data, monkeypatch):
    sgd = ch6.OPTIMIZERS[0]
    other_lr = dataclasses.replace(sgd, twin=lambda groups, lr: sgd.twin(groups, lr=lr * 1.001))
    monkeypatch.setattr(ch6, "OPTIMIZERS", (other_lr, *ch6.OPTIMIZERS[1:]))
    assert worst(ch6.optimizer_compare(data, TINY), sgd.name) > 1e-9


def test_weight_decay_missing_on_the_twin_is_caught(data, monkeypatch):
    groups = TO.param_groups
    monkeypatch.setattr(TO, "param_groups", lambda named, wd=0.0: groups(named, 0.0))
    outcome = ch6.overfit_compare(data, TINY)
    assert worst(outcome, "weight decay 0.1") > 1e-9
    assert worst(outcome, "no regularization") <= 1e-12


def test_other_dropout_masks_on_the_twin_are_caught(data, monkeypatch):
    calls = iter(range(1000))
    replayed = training.replayed_masks  # every draw gets new names: the sides' masks part
    monkeypatch.setattr(training, "replayed_masks",
                        lambda p, *names: replayed(p, *names, next(calls)))
    outcome = ch6.overfit_compare(data, TINY)
    assert worst(outcome, "dropout 0.2") > 1e-9


def test_another_batchnorm_convention_on_the_twin_is_caught(data, monkeypatch):
    bn = TL.BatchNormalization
    monkeypatch.setattr(TL, "BatchNormalization",
                        lambda n, eps, convention: bn(n, eps=1e-5, convention=convention))
    outcome = ch6.batch_norm_compare(data, TINY)
    assert worst(outcome, "w=1, BatchNorm") > 1e-9
    assert worst(outcome, "w=1, no BatchNorm") <= 1e-12


def test_gap_table_counts_non_finite_points_instead_of_hiding_them():
    curves = pd.DataFrame({"config": "c", "curve": "loss", "x": [1, 2, 3],
                           "scratch": [1.0, np.nan, 2.0], "torch": [1.0, np.nan, 2.5]})
    gap = ch6.array_gap("c", "weights", [(np.array([np.inf, 1.0]), np.array([np.inf, 1.25]))])
    table = ch6.gap_table(ch6.Outcome("e", curves, [gap]))
    assert table["non-finite"].tolist() == [1, 1]
    assert table.max_abs_gap.tolist() == [0.5, 0.25]


# ---- the report section ----

def test_section_draws_every_experiment_on_tiny_settings(data, tmp_path, monkeypatch):
    from reports.sections import chapter6

    monkeypatch.setattr(ch6, "QUICK", TINY)
    monkeypatch.setattr(ch6, "mnist", lambda dtype: data)
    result = chapter6.chapter6(Context(out=tmp_path, progress=False))
    assert len(result.figures) == 5 and not result.problems
    gaps = result.tables[0].view
    assert set(gaps.experiment) == {"activation histograms", "optimizer comparison",
                                    "weight-init comparison", "BatchNorm vs none",
                                    "overfitting: weight decay and dropout"}


def test_section_without_mnist_still_shows_the_histograms(tmp_path, monkeypatch):
    from reports.sections import chapter6

    monkeypatch.setattr(ch6, "QUICK", dataclasses.replace(TINY))
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    result = chapter6.chapter6(Context(out=tmp_path, progress=False))
    assert [f.name for f in result.figures] == ["chapter6_activation_histograms"]
    assert any("skipped the MNIST experiments" in n for n in result.notes)


def test_section_can_be_deselected(tmp_path):
    from reports.sections import chapter6

    assert chapter6.chapter6(Context(out=tmp_path, select="Affine")) is None
