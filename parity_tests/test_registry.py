"""Every registry entry, every dtype: all checks pass (documented gaps must show)."""

import dataclasses

import pytest

from parity.engine import registry
from parity.engine.layer_pair import LayerPair
from parity.engine.registry import entry_id, find, load_all
from parity_tests.conftest import assert_entry_passes

CASES = [pytest.param(e, d, id=entry_id(e, d),
                      marks=[pytest.mark.slow] if getattr(e, "slow", False) else [])
         for e in load_all() for d in e.dtypes]


@pytest.mark.parametrize("entry,dtype", CASES)
def test_entry(entry, dtype):
    assert_entry_passes(entry, dtype)


def single_dtype_layer_pairs(entries):
    """LayerPairs that leave out float64 or float32 (every layer is checked in both)."""
    return [entry_id(e) for e in entries
            if isinstance(e, LayerPair) and not {"float64", "float32"} <= set(e.dtypes)]


def test_every_layer_pair_runs_in_both_float_dtypes():
    assert single_dtype_layer_pairs(load_all()) == []


def test_a_layer_pair_left_in_one_dtype_is_found():
    relu = find("relu", "default")
    narrowed = dataclasses.replace(relu, dtypes=("float64",))
    assert single_dtype_layer_pairs([relu, narrowed]) == [entry_id(narrowed)]


def test_a_second_entry_with_the_same_component_and_variant_is_refused(monkeypatch):
    """What keeps the registry's keys unique (the CSV rows and -k selections rely on it)."""
    monkeypatch.setattr(registry, "REGISTRY", list(load_all()))
    with pytest.raises(ValueError, match="duplicate registry entry"):
        registry.register(dataclasses.replace(find("relu", "default"), doc="another"))


def test_every_backward_is_checked_against_finite_differences():
    """Each LayerPair with a backward has at least one smooth single-call sample."""
    for e in load_all():
        if isinstance(e, LayerPair) and e.backward:
            smooth = [s for s in e.sample_list() if s.smooth and len(s.calls) == 1]
            assert smooth, f"{entry_id(e)} has no sample the finite-difference oracle can use"
