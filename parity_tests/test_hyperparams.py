"""Hyperparameter search (ch06) on both sides: configurations, split, rankings, report."""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import torch_ref.optimizers as TO
from parity.engine.registry import Skipped
from parity.experiments import hyperparams as H
from parity.experiments.tables import SGD
from reports.render import RED
from reports.section import Context
from reports.sections import hyperparams as section

TINY = H.Search(trials=4, epochs=2, hidden=(20, 20), batch_size=20)


SYNTHETIC_IMAGES = 100  # the conftest fixture ``synthetic``


@pytest.fixture(scope="module")
def tiny_search(synthetic):
    return H.run_search(TINY, *synthetic)


def test_configurations_are_seeded_and_log_uniform_in_the_books_ranges():
    configs = H.configurations(H.BOOK)
    assert len(configs) == 100 and list(configs.trial) == list(range(1, 101))
    pd.testing.assert_frame_equal(configs, H.configurations(H.BOOK))
    for column, (low, high) in (("lr", (-6, -2)), ("weight_decay", (-8, -4))):
        exponents = np.log10(configs[column])
        assert low <= exponents.min() and exponents.max() <= high
        assert exponents.max() - exponents.min() > 0.8 * (high - low)  # spread, log scale
    other = H.configurations(H.Search(seed=1))
    assert not np.allclose(configs.lr, other.lr)


def test_validation_split_is_a_seeded_disjoint_part_of_the_training_set():
    x, t = np.arange(50.0)[:, None], np.arange(50)
    (x_train, t_train), (x_val, t_val) = H.validation_split(x, t, 0.2)
    assert len(x_val) == 10 and len(x_train) == 40
    assert sorted(np.concatenate([t_train, t_val])) == list(range(50))
    np.testing.assert_array_equal(x_val[:, 0], t_val)  # images stay with their labels
    assert not np.array_equal(t_val, np.arange(10))  # shuffled first
    np.testing.assert_array_equal(t_val, H.validation_split(x, t, 0.2)[1][1])


def test_same_configurations_same_ranking_in_float64(tiny_search):
    results, histories = tiny_search
    configs = H.configurations(TINY).set_index("trial")
    by_trial = results.set_index("trial").loc[configs.index]
    np.testing.assert_array_equal(by_trial.lr, configs.lr)
    np.testing.assert_array_equal(by_trial.weight_decay, configs.weight_decay)
    assert results.losses_agree.all() and results.max_rel_loss_gap.max() < 1e-12
    np.testing.assert_array_equal(results.val_acc_scratch, results.val_acc_torch)
    np.testing.assert_array_equal(results.rank_scratch, results.rank_torch)
    assert list(results.rank_scratch) == [1, 2, 3, 4] and H.first_rank_difference(results) is None
    assert all(len(h) == TINY.epochs for h in histories.values())


def test_a_twin_without_weight_decay_is_caught(synthetic):
    """Weight decay large enough to matter within two epochs, dropped on the torch side."""
    search = H.Search(trials=2, epochs=2, hidden=(20,), batch_size=20,
                      log10_lr=(-1.5, -1.0), log10_weight_decay=(-1.5, -1.0))

    # the twin's parameter groups lose their weight decay
    no_decay_twin = dataclasses.replace(SGD, twin=lambda groups, lr: TO.SGD(
        [p for group in groups for p in group["params"]], lr=lr))
    results, _ = H.run_search(search, *synthetic, optimizer=no_decay_twin)
    assert not results.losses_agree.any()
    assert all(c.worst_index != "(0,)" for c in results.check)  # step 1 agrees, then drifts


def fake_results(acc_torch, loss_torch=(0.5, 0.6, 0.7)):
    return pd.DataFrame({"trial": [1, 2, 3], "val_acc_scratch": [0.5, 0.7, 0.5],
                         "val_acc_torch": acc_torch, "val_loss_scratch": [0.5, 0.6, 0.7],
                         "val_loss_torch": loss_torch})


def test_ranking_breaks_ties_by_loss_and_finds_the_first_difference():
    same = fake_results([0.5, 0.7, 0.5])
    assert list(same.trial.to_numpy()[H.ranking(same, "scratch")]) == [2, 1, 3]
    assert H.first_rank_difference(same) is None
    assert H.first_rank_difference(fake_results([0.5, 0.7, 0.5], (0.8, 0.6, 0.7))) == (2, 1, 3)
    assert H.first_rank_difference(fake_results([0.8, 0.7, 0.5])) == (1, 2, 1)


@pytest.mark.slow
def test_quick_search_on_mnist_ranks_alike_in_float64():
    try:
        x, t = H.load_book_subset(H.QUICK)
    except Skipped as why:
        pytest.skip(str(why))
    results, _ = H.run_search(H.QUICK, x, t)
    assert results.losses_agree.all() and H.first_rank_difference(results) is None
    assert results.val_acc_scratch.max() > 0.3  # the best configurations learned something


def test_the_report_section_shows_tables_plot_and_the_ranking(monkeypatch, tmp_path, synthetic):
    monkeypatch.setattr(section, "QUICK", TINY)
    monkeypatch.setattr(section, "load_book_subset", lambda search, dtype: synthetic)
    ctx = Context(out=tmp_path, progress=False)
    result = section.hyperparams(ctx)
    table = result.tables[0].view
    assert len(table) == TINY.trials and not result.problems
    assert {"rank_scratch", "rank_torch", "lr", "weight_decay", "val_acc_scratch",
            "val_acc_torch"} <= set(table.columns)
    assert any("Same ranking on both sides" in n for n in result.notes)
    assert result.figures[0].name == "hyperparams_best"
    assert section.hyperparams(Context(out=tmp_path, select="relu")) is None
    plt.close(result.figures[0].figure)


def test_rows_whose_ranks_differ_are_red_and_explained():
    row = pd.Series({"rank_scratch": 1, "rank_torch": 2, "losses_agree": True})
    assert section.row_colour(row) == RED
    assert section.row_colour(row.replace({2: 1})) is None
    results = fake_results([0.8, 0.7, 0.5])
    assert "first differ at place 1: scratch has trial 2, torch trial 1" in \
        section.ranking_note(results)
