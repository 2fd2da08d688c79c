"""Every registry entry, every dtype: all checks pass (documented gaps must show)."""

import pytest

from parity.engine.registry import entry_id, load_all
from parity_tests.conftest import assert_entry_passes

CASES = [pytest.param(e, d, id=entry_id(e, d),
                      marks=[pytest.mark.slow] if getattr(e, "slow", False) else [])
         for e in load_all() for d in e.dtypes]


@pytest.mark.parametrize("entry,dtype", CASES)
def test_entry(entry, dtype):
    assert_entry_passes(entry, dtype)


def test_registry_is_unique_and_covers_both_dtypes():
    keys = [(e.component, e.variant) for e in load_all()]
    assert len(keys) == len(set(keys))
    floats = {d for e in load_all() for d in e.dtypes}
    assert {"float64", "float32"} <= floats


def test_every_backward_is_checked_against_finite_differences():
    """Each LayerPair with a backward has at least one smooth single-call sample."""
    from parity.engine.layer_pair import LayerPair

    for e in load_all():
        if isinstance(e, LayerPair) and e.backward:
            smooth = [s for s in e.sample_list() if s.smooth and len(s.calls) == 1]
            assert smooth, f"{entry_id(e)} has no sample the finite-difference oracle can use"
