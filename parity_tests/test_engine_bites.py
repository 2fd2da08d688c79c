"""A check that cannot fail is a defect: break the scratch side on purpose, watch it fail.

Each test swaps one registered scratch layer for a subtly broken one (the kind
of slip learners make) and requires the engine to report a failure whose
message names component, convention, dtype, quantity, errors and worst index.
"""

import dataclasses
import re

import numpy as np
import pytest

import scratch.layers as S
from parity.engine.compare import compare
from parity.engine.probes import ConventionGap
from parity.engine.registry import find
from parity.engine.runner import run_entries
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import Link

MESSAGE = re.compile(
    r"MISMATCH: (?P<component>.+) \[(?P<variant>.+)\] (?P<dtype>float\d+) (?P<quantity>\S+) "
    r"\(sample .+, vs (?P<oracle>[\w-]+)\): max abs err \S+, max rel err \S+ "
    r"\(atol \S+, rtol \S+\); mismatched elements \d+ / \d+ \(\S+%\); "
    r"worst at index \(.*\): got .+ expected .+")


def failures(pair, dtype="float64", **changes):
    """The failing checks of ``pair`` with ``changes``, run as make parity runs it (through
    the runner, where a crash becomes a CRASHED row)."""
    entry = dataclasses.replace(pair, **changes, dtypes=(dtype,))
    checks, _ = run_entries([entry])
    return [c for c in checks if not c.passed]


class SigmoidBackwardUsesX(S.Sigmoid):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (1 - self.x) * self.x  # should be y, not x


class CrossEntropyWithoutN(S.SoftmaxWithLoss):
    def backward(self, dout=1):
        return (self.y - self.t) * dout  # forgot / N


class CrossEntropyIgnoresDout(S.SoftmaxWithLoss):
    def backward(self, dout=1):
        return (self.y - self.t) / self.y.shape[0]  # the book's: right only for dout == 1


class ReluBackwardInPlace(S.Relu):
    def backward(self, dout):
        dout[~self.mask] = 0  # the book's Relu.backward: writes into the caller's array
        return dout


class AffineUpcasts(S.Affine):
    def forward(self, x):
        return super().forward(x).astype(np.float64)  # the book's im2col does this silently


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sigmoid_backward_using_x_is_caught(dtype):
    bad = failures(find("sigmoid", "default"), dtype, scratch=lambda p: SigmoidBackwardUsesX())
    assert bad and {c.quantity for c in bad} == {"dx"}
    m = MESSAGE.match(bad[0].message())
    assert m, bad[0].message()
    assert (m["component"], m["variant"], m["dtype"], m["quantity"]) == (
        "sigmoid", "default", dtype, "dx")


@pytest.mark.parametrize("convention,oracles", [
    ("log_softmax", {"torch", "finite-diff"}),
    # the book's dx already differs from the derivative of its 1e-7 loss (a documented gap),
    # so there finite differences cannot tell; the torch twin still catches the slip
    ("book", {"torch"}),
])
def test_cross_entropy_backward_without_N_is_caught(convention, oracles):
    bad = failures(find("SoftmaxWithLoss", convention),
                   scratch=lambda p: CrossEntropyWithoutN(convention))
    assert {c.oracle for c in bad} == oracles
    assert all(c.quantity == "dx" for c in bad)
    torch_fail = next(c for c in bad if c.oracle == "torch")
    assert MESSAGE.match(torch_fail.message()), torch_fail.message()
    # off by a factor N = 8 on the 8-sample batch: relative error 7
    assert max(c.max_rel_err for c in bad if c.sample == "index-labels") == pytest.approx(7)


def test_ignoring_the_upstream_gradient_is_caught():
    """Would pass with an upstream gradient of 1 -- the engine never uses one."""
    bad = failures(find("SoftmaxWithLoss", "log_softmax"),
                   scratch=lambda p: CrossEntropyIgnoresDout("log_softmax"))
    assert bad and {c.quantity for c in bad} == {"dx"}


def test_backward_writing_into_dout_is_caught():
    bad = failures(find("relu", "default"), scratch=lambda p: ReluBackwardInPlace())
    assert "dout after" in {c.quantity for c in bad}


def test_float32_upcast_is_a_dtype_failure():
    bad = failures(find("Affine", "book-layout (in,out)"), "float32",
                   scratch=lambda p: AffineUpcasts(p["W"], p["b"]))
    assert bad and all("dtype float64" in c.message() for c in bad if c.quantity == "out")


def test_affine_weight_copied_without_transpose_is_caught():
    pair = find("Affine", "book-layout (in,out)")
    links = (Link("W", "1.weight", "same"), Link("b", "1.bias"))
    bad = failures(pair, params=links)
    assert [c.verdict for c in bad] == ["CRASHED"] and "does not fit" in bad[0].message()


def test_finite_differences_alone_catch_a_broken_backward():
    pair = dataclasses.replace(find("sigmoid", "default"), scratch=lambda p: SigmoidBackwardUsesX())
    sample = pair.sample_list()[0]
    bad = [c for c in pair.finite_difference_checks(sample) if not c.passed]
    assert bad and bad[0].oracle == "finite-diff" and bad[0].quantity == "dx"


def test_a_convention_gap_that_vanishes_fails():
    probe = find("MeanSquaredError", "book vs mean")
    same = ConventionGap("MeanSquaredError", "book", "book", probe.sample, ("out",), why="x")
    checks = same.run("float64")
    assert [c.verdict for c in checks] == ["GAP VANISHED"] and not checks[0].passed


# ---- the comparison primitive itself ----
TOL = tolerance_for("float64")


def test_compare_checks_shape_before_values():
    c = compare(np.zeros((3, 4)), np.zeros((4, 3)), TOL)
    assert not c.passed and "shape float64[3, 4] != expected float64[4, 3]" in c.message()


def test_compare_checks_dtype_before_values():
    c = compare(np.zeros(3, np.float32), np.zeros(3), TOL)
    assert not c.passed and "dtype" in c.message()


def test_compare_reports_worst_index_and_errors():
    expected = np.arange(12.0).reshape(3, 4) + 1
    actual = expected.copy()
    actual[2, 1] *= 1 + 1e-6
    c = compare(actual, expected, TOL, quantity="q")
    assert not c.passed and c.worst_index == "(2, 1)"
    assert c.max_rel_err == pytest.approx(1e-6, rel=1e-6)


def test_compare_nan_is_never_close():
    c = compare(np.array([1.0, np.nan]), np.array([1.0, 2.0]), TOL)
    assert not c.passed and c.worst_index == "(1,)"


def test_compare_accepts_rounding_noise_at_the_tolerance():
    x = np.linspace(1, 2, 50)
    assert compare(x * (1 + 5e-11), x, TOL).passed
    assert not compare(x * (1 + 2e-10), x, TOL).passed


def test_mismatch_messages_count_the_elements_outside_the_tolerance():
    """As torch.testing does: how many elements fail, not only the worst one."""
    expected = np.zeros((4, 5))
    actual = expected.copy()
    actual[0, :3] = 1.0  # 3 of 20 outside
    actual[1, 0] = np.nan  # NaN where a number is expected: outside too
    check = compare(actual, expected, tolerance_for("float64"))
    assert check.mismatched == "4 / 20 (20.0%)"
    assert "mismatched elements 4 / 20 (20.0%)" in check.message()
    assert compare(expected, expected, tolerance_for("float64")).mismatched == "0 / 20"


# ---- the seeded inputs: a cast casts, planted values all land ----
def test_inputs_cast_any_float_and_plant_every_value():
    from parity.engine.inputs import cast, source, with_values

    assert cast(np.zeros(2, np.float32), "float64").dtype == np.float64
    assert cast(np.arange(2), "float32").dtype == np.arange(2).dtype  # labels stay integers
    for seed in range(5):
        x = with_values(np.zeros((2, 2), np.int64), [0.5, 1.5, 2.5, 3.5], source("t", seed))
        assert x.dtype == np.float64 and sorted(x.ravel()) == [0.5, 1.5, 2.5, 3.5]
