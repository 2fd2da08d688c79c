"""Convolution and pooling: property tests over random settings, and the checks' bite.

The registry entries (test_registry.py) cover hand-picked settings with finite
differences; here hypothesis draws N, C, H, W, kernel, stride, padding, bias and
dtype, builds a LayerPair from them and requires every twin check to pass -- and the
fast convolution the networks run to give the book-shaped one's numbers.
"""

import dataclasses
import inspect
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.conv as S
import scratch.conv_fast as SF
import scratch.models as SM
from parity.engine.compare import PASSING
from parity.engine.inputs import DTYPES, NP_DTYPE
from parity.engine.layer_pair import Sample
from parity.engine.registry import find
from parity.engine.tolerances import tolerance_for
from parity.pairs.conv import FAST, avg_pooling, convolution, max_pooling, setting
from scratch.models import with_input_grad

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True)
FEWER = settings(PROPERTY, max_examples=50)  # scratch-only checks: half as many suffice


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Hundreds of tiny convolutions: on 2 shared cores torch's thread pool costs more
    than it saves (measured: 34 ms vs 7 ms a float32 example).  Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def assert_twins_agree(pair, dtype):
    checks = [c for s in pair.sample_list() for c in pair.compare_sides(s, dtype)]
    assert checks
    failures = [c.message() for c in checks if c.verdict not in PASSING]
    assert not failures, "\n".join(failures)


def drawn_image(shape, ties=False):
    """rng -> one sample: normal values, or small integers (windows full of ties)."""
    def samples(rng):
        x = rng.integers(-1, 2, shape).astype(float) if ties else rng.standard_normal(shape)
        return [Sample.of("drawn", x, smooth=not ties)]
    return samples


def int_or_pair(low, high):
    return st.one_of(st.integers(low, high), st.tuples(st.integers(low, high),
                                                       st.integers(low, high)))


def image_size(draw, kernel, pad, largest=8):
    """Height or width with at least one window: size + 2 * pad >= kernel."""
    return draw(st.integers(max(1, kernel - 2 * pad), largest))


@st.composite
def conv_settings(draw, fast=False):
    FN, C = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    FH, FW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, pad = draw(int_or_pair(1, 3)), draw(int_or_pair(0, 2))
    ph, pw = S.pair(pad)
    shape = (draw(st.integers(1, 3)), C, image_size(draw, FH, ph), image_size(draw, FW, pw))
    pair = convolution(FN, C, FH, FW, stride, pad, bias=draw(st.booleans()),
                       samples=drawn_image(shape), fast=fast)
    if fast and draw(st.booleans()):  # one image a block: several blocks per batch
        pair = dataclasses.replace(pair, scratch=lambda p, build=pair.scratch: one_image_blocks(
            build(p)))
    return pair, draw(st.sampled_from(DTYPES))


def one_image_blocks(layer):
    layer.chunk = 1
    return layer


@st.composite
def pool_settings(draw, build):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), int_or_pair(1, 3)))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))  # torch: pad <= k/2
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
             image_size(draw, kh, ph), image_size(draw, kw, pw))
    pad = ph if ph == pw else (ph, pw)
    samples = drawn_image(shape, ties=draw(st.booleans()))
    return build((kh, kw), stride, pad, samples=samples), draw(st.sampled_from(DTYPES))


@PROPERTY
@given(conv_settings())
def test_convolution_matches_conv2d_for_any_setting(drawn):
    assert_twins_agree(*drawn)


@PROPERTY
@given(pool_settings(max_pooling))
def test_max_pooling_matches_maxpool2d_for_any_setting(drawn):
    assert_twins_agree(*drawn)


@PROPERTY
@given(st.booleans().flatmap(lambda include: pool_settings(
    lambda *a, **k: avg_pooling(*a, count_include_pad=include, **k))))
def test_avg_pooling_matches_avgpool2d_for_any_setting(drawn):
    assert_twins_agree(*drawn)


@FEWER
@given(conv_settings(fast=True))
def test_add_grid_columns_is_the_adjoint_of_grid_columns(drawn):
    """<columns(flat), c> == <flat, add_columns(c)>: what makes the backward the true gradient."""
    pair, _ = drawn
    layer = pair.scratch(pair._params(np.random.default_rng(0), "float64"))
    x = pair.sample_list()[0].calls[0].inputs[0]
    layer.forward(x)  # sets the lowering: where the windows lie
    lowering = layer.lowering
    flat, col = lowering.columns(x)
    flat, col = flat.copy(), col.copy()  # this thread's buffers: the next call reuses them
    c = np.random.default_rng(1).standard_normal(col.shape)
    back = np.zeros_like(flat)
    SF.add_grid_columns(back, c, len(x), lowering.grid_size, lowering.rows, lowering.kernel)
    assert np.vdot(col, c) == pytest.approx(np.vdot(flat, back), rel=1e-12, abs=1e-12)


def test_taps_refuse_to_read_past_the_buffer():
    """``taps`` is an as_strided view, which checks no bounds.  Two 3 x 3 padded images,
    a 3 x 3 kernel, one row of corners: the last tap of the last window reads pixel
    (2*3 + 2) + 9 + 2 = 19; a buffer of 20 is enough, one of 19 is refused."""
    flat = np.arange(2 * 20.0).reshape(2, 20)
    seen = SF.taps(flat, 2, (3, 3), 1, (3, 3))
    assert seen.shape == (2, 3, 3, 2, 3)
    assert seen[1, 2, 2, 1, 2] == flat[1, 19]
    with pytest.raises(ValueError, match="need 20 pixels a channel, the buffer has 19"):
        SF.taps(flat[:, :19], 2, (3, 3), 1, (3, 3))


@FEWER
@given(conv_settings(fast=True))
def test_fast_convolution_gives_the_book_shaped_ones_numbers_for_any_setting(drawn):
    """What the registry's SameResults probes check on its settings, on drawn ones."""
    fast, dtype = drawn

    def book_shaped(p):  # the same constructor arguments, the reference class
        layer = fast.scratch(p)
        return S.Convolution(layer.params["W"], layer.params.get("b"), layer.stride, layer.pad)

    book = dataclasses.replace(fast, scratch=book_shaped)
    tol = tolerance_for(dtype)
    sample = fast.sample_list()[0]
    ours, theirs = fast.scratch_results(sample, dtype), book.scratch_results(sample, dtype)
    assert ours.keys() == theirs.keys()
    for q, want in theirs.items():
        np.testing.assert_allclose(ours[q], want, rtol=tol.rtol, atol=tol.atol, err_msg=q)


@FEWER
@given(pool_settings(lambda *a, **k: max_pooling(*a, **k, fast=True)))
def test_fast_pooling_gives_the_reference_numbers_exactly_for_any_setting(drawn):
    """FastPooling only remembers the winner instead of finding it again: the same
    maxima and the same gradient routing, to the bit (ties included)."""
    fast, dtype = drawn
    book = dataclasses.replace(fast, scratch=lambda p: S.Pooling(*fast.scratch(p).kernel,
                                                                 fast.scratch(p).stride,
                                                                 fast.scratch(p).pad))
    sample = fast.sample_list()[0]
    ours, theirs = fast.scratch_results(sample, dtype), book.scratch_results(sample, dtype)
    assert ours.keys() == theirs.keys()
    for q, want in theirs.items():
        np.testing.assert_array_equal(ours[q], want, err_msg=q)


@pytest.mark.parametrize("layer", [
    S.Convolution(np.ones((2, 3, 3, 3), np.float32), np.ones(2, np.float32), 2, 1),
    SF.FastConvolution(np.ones((2, 3, 3, 3), np.float32), np.ones(2, np.float32), 2, 1),
    S.Pooling(3, 3, 2, 1), S.AvgPooling(3, 3, 2, 1, count_include_pad=False)])
def test_float32_stays_float32(layer):
    """The book's im2col allocates float64; ours keeps the input's dtype end to end."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(rng.standard_normal(out.shape).astype(np.float32))
    assert out.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("kernel, stride, pad", [(5, 1, 0), (3, 1, 1), (3, 2, 1)])
def test_blocks_of_images_change_nothing_but_rounding(kernel, stride, pad):
    """Blocks of 1, 3 (3+3+1) or all 7 images: the same numbers up to rounding order --
    not bit for bit, as OpenBLAS computes the last columns of a product with another
    kernel (measured: the 9th column of 9 differed in the last bit), and dW sums the
    blocks' products one after another."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 9, 9))
    W, b = rng.standard_normal((4, 3, kernel, kernel)), rng.standard_normal(4)
    results = []
    for chunk in (1, 3, 7):
        layer = SF.FastConvolution(W, b, stride, pad)
        layer.chunk = chunk
        out = layer.forward(x)
        dx = layer.backward(np.random.default_rng(1).standard_normal(out.shape))
        results.append((out, dx, layer.grads["W"], layer.grads["b"]))
    tol = tolerance_for("float64")
    for result in results[:-1]:
        for got, want in zip(result, results[-1], strict=True):
            np.testing.assert_allclose(got, want, rtol=tol.rtol, atol=tol.atol)


def without_input_grad(pair, grad_inputs=()):
    """``pair``'s scratch FastConvolution with input_grad = False."""
    def scratch(p):
        layer = pair.scratch(p)
        layer.input_grad = False
        return layer
    return dataclasses.replace(pair, scratch=scratch, grad_inputs=grad_inputs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_input_grad_false_returns_none_and_the_same_parameter_gradients(dtype):
    """The flag the models set on their first convolution: no dx, every other check holds."""
    pair = without_input_grad(CONV_FAST)
    checks = pair.run(dtype)
    assert checks and all(c.passed for c in checks)
    assert "dx" not in {c.quantity for c in checks}
    rng = np.random.default_rng(0)
    layer = pair.scratch(pair._params(rng, dtype))
    out = layer.forward(rng.standard_normal((2, 3, 5, 5)).astype(NP_DTYPE[dtype]))
    assert layer.backward(rng.standard_normal(out.shape).astype(NP_DTYPE[dtype])) is None


def test_missing_input_gradient_is_caught():
    """A layer that returns None where the pair expects dx fails the dx check."""
    bad = [c for c in without_input_grad(CONV_FAST, grad_inputs=(0,)).run("float64")
           if not c.passed]
    assert bad and {c.quantity for c in bad} == {"dx"}


@pytest.mark.parametrize("model", [SM.SimpleConvNet, SM.DeepConvNet, SM.LeNet5])
def test_conv_models_skip_only_the_first_input_gradient(model):
    convs = [layer for layer in model(rng=np.random.default_rng(0)).layers.values()
             if isinstance(layer, S.Convolution)]
    assert all(isinstance(c, SF.FastConvolution) for c in convs)  # the fast one runs
    pools = [layer for layer in model(rng=np.random.default_rng(0)).layers.values()
             if isinstance(layer, S.Pooling)]
    assert all(isinstance(p, SF.FastPooling) for p in pools)
    assert [c.input_grad for c in convs] == [False] + [True] * (len(convs) - 1)
    net = with_input_grad(model(rng=np.random.default_rng(0)))  # how the model pairs get dx
    assert all(layer.input_grad for layer in net.layers.values()
               if isinstance(layer, S.Convolution))


def test_speed_settings_are_attributes_not_constructor_arguments():
    """The fast class takes the book-shaped one's constructor, nothing more; the models
    set ``input_grad`` after building (no speed flag in a constructor a learner reads)."""
    assert inspect.signature(SF.FastConvolution) == inspect.signature(S.Convolution)
    for model in (SM.SimpleConvNet, SM.DeepConvNet, SM.LeNet5, SM.SimpleCNN):
        assert "input_grad" not in inspect.signature(model).parameters


@pytest.mark.parametrize("pool", [S.Pooling, S.AvgPooling])
def test_pad_larger_than_half_the_window_is_refused(pool):
    with pytest.raises(ValueError, match="at most half"):
        pool(3, 2, pad=(1, 2))  # torch refuses it too


# ---- the checks bite: break the scratch side once, the engine must report it ----

def failures(pair, dtype="float64", **changes):
    checks = dataclasses.replace(pair, **changes).run(dtype)
    return [c for c in checks if not c.passed]


CONV = find("Convolution", setting((3, 3), 1, 1))
CONV_FAST = find("Convolution", setting((3, 3), 1, 1, FAST))
MAX = find("Pooling", setting((3, 3), 2, 1))
AVG = find("AvgPooling", setting((3, 3), 2, 1))


class UpcastingConvolution(S.Convolution):
    def forward(self, x):
        return super().forward(x).astype(np.float64)  # what the book's im2col does


class PoolingLastMaximum(S.Pooling):
    """Ties send the gradient to the LAST maximum of a window (torch: the first)."""

    def taps(self, x_shape):
        return reversed(list(super().taps(x_shape)))


class FastPoolingLastMaximum(SF.FastPooling):
    """Ties move the winner to the LATER tap (>= where FastPooling has >)."""

    def forward(self, x):
        out = super().forward(x)
        image = S.pad_image(x, self.pad, -np.inf)
        for k, (_, _, window) in enumerate(self.taps(x.shape)):
            self.winner[image[window] == out] = k
        return out


def test_flipped_kernel_is_caught():
    """True convolution (kernel flipped) instead of the cross-correlation both sides use."""
    # a view, not a copy: finite differences perturb p["W"] in place
    bad = failures(CONV, scratch=lambda p: S.Convolution(p["W"][:, :, ::-1, ::-1], p["b"], 1, 1))
    assert {"out", "dx"} <= {c.quantity for c in bad if c.oracle == "torch"}


def test_float32_upcast_is_caught():
    bad = failures(CONV, "float32", scratch=lambda p: UpcastingConvolution(p["W"], p["b"], 1, 1))
    assert any(c.quantity == "out" and "dtype float64" in c.message() for c in bad)


def test_fast_convolution_off_the_reference_is_caught(monkeypatch):
    """col2im that overwrites where windows overlap (stride 2 < kernel width 3 takes
    col2im): the SameResults probe names dx."""
    def overwrite(dflat, dcol, n, grid_size, rows, kernel):
        seen = SF.taps(dflat, n, grid_size, rows, kernel)
        dcol = dcol.reshape(seen.shape)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                seen[:, i, j] = dcol[:, i, j]

    monkeypatch.setattr(SF, "add_grid_columns", overwrite)
    book = find("Convolution", setting((2, 3), 2, 1, "no bias"))
    probe = find("Convolution", f"{setting((2, 3), 2, 1, 'no bias', FAST)} = {book.variant}")
    bad = [c for c in probe.run("float64") if not c.passed]
    assert bad and {c.quantity for c in bad} == {"dx"}
    assert all(c.oracle == f"scratch {book.variant}" for c in bad)


class UnturnedTransposed(SF.FastConvolution):
    """dx as a correlation of dout with the filters' channels swapped but NOT turned
    180 degrees (a true convolution's kernel, the classic slip)."""

    def transposed(self):
        lowering, _ = super().transposed()
        W = self.params["W"]
        return lowering, np.ascontiguousarray(W.transpose(1, 0, 2, 3)).reshape(W.shape[1], -1)


def test_input_gradient_with_unturned_filters_is_caught():
    """The registry's stride-1 setting that takes the turned-filter path: dx named."""
    same = "as many filters as channels"
    book, fast = (find("Convolution", setting((3, 3), 1, 1, same, *extra))
                  for extra in ((), (FAST,)))
    probe = find("Convolution", f"{fast.variant} = {book.variant}")
    layer = fast.scratch(fast.init_params(np.random.default_rng(0)))
    layer.forward(fast.sample_list()[0].calls[0].inputs[0])
    assert layer.transposed() is not None  # the path under test
    broken = dataclasses.replace(probe, pair=dataclasses.replace(
        fast, scratch=lambda p: UnturnedTransposed(p["W"], p["b"], 1, 1)))
    bad = [c for c in broken.run("float64") if not c.passed]
    assert bad and {c.quantity for c in bad} == {"dx"}


def test_fast_pooling_off_the_reference_is_caught():
    """A winner that moves on ties: the last maximum gets the gradient.  The registry's
    SameResults probe, run on that implementation, names dx on the tie samples only."""
    fast = find("Pooling", setting((3, 3), 2, 1, FAST))
    probe = find("Pooling", f"{fast.variant} = {MAX.variant}")
    broken = dataclasses.replace(probe, pair=dataclasses.replace(
        fast, scratch=lambda p: FastPoolingLastMaximum(3, 3, 2, 1)))
    bad = [c for c in broken.run("float64") if not c.passed]
    assert {c.quantity for c in bad} == {"dx"}
    assert {c.sample for c in bad} == {"windows-all-equal", "integer-ties"}


def test_zero_padding_in_max_pooling_is_caught(monkeypatch):
    monkeypatch.setattr(S, "pad_image", lambda x, pad, value=0.0, f=S.pad_image: f(x, pad))
    bad = failures(MAX)
    negative = {c.quantity for c in bad if c.sample == "all-negative"}
    assert negative == {"out", "dx"}  # there a 0 wins every border window


def test_last_maximum_tie_rule_is_caught():
    bad = failures(MAX, scratch=lambda p: PoolingLastMaximum(3, 3, 2, 1))
    assert {c.sample for c in bad} == {"windows-all-equal", "integer-ties"}
    assert {c.quantity for c in bad} == {"dx"}


def test_avg_pooling_divisor_convention_is_caught():
    bad = failures(AVG, scratch=lambda p: S.AvgPooling(3, 3, 2, 1, count_include_pad=False))
    assert {c.quantity for c in bad} == {"out", "dx"}


def test_the_property_check_bites():
    pair = dataclasses.replace(max_pooling((2, 2), samples=drawn_image((1, 1, 4, 4), ties=True)),
                               scratch=lambda p: PoolingLastMaximum(2, 2))
    with pytest.raises(AssertionError, match="MISMATCH"):
        assert_twins_agree(pair, "float32")


# ---- mutation survivors (issue #16): constructor messages, boundaries, kept buffers ----

def test_filters_not_4d_are_named_in_the_message():
    with pytest.raises(ValueError, match=re.escape(
            "Convolution: W must be 4-D filters (FN, C, FH, FW), got shape (3, 3)")):
        S.Convolution(np.ones((3, 3)), None)


def test_biases_not_one_per_filter_are_named_in_the_message():
    with pytest.raises(ValueError, match=re.escape(
            "Convolution: b has shape (3,), W (2, 3, 3, 3) needs (2,)")):
        S.Convolution(np.ones((2, 3, 3, 3)), np.ones(3))


def test_channels_not_the_filters_are_named_in_the_message():
    with pytest.raises(ValueError, match=re.escape(
            "Convolution.forward: x has 2 channels, W expects 3 (W is (2, 3, 2, 2))")):
        S.Convolution(np.ones((2, 3, 2, 2)), None).forward(np.ones((1, 2, 4, 4)))


def test_bad_pooling_windows_and_pads_are_named_in_the_message():
    with pytest.raises(ValueError, match=re.escape(
            "Pooling: pool_h, pool_w must be an integer >= 1 (or an (h, w) pair of them), "
            "got (0, 2)")):
        S.Pooling(0, 2)
    with pytest.raises(ValueError, match=re.escape(
            "AvgPooling: pad must be an integer >= 0 (or an (h, w) pair of them), got -1")):
        S.AvgPooling(2, 2, pad=-1)
    with pytest.raises(ValueError, match=re.escape(
            "Pooling: pad (1, 2) must be at most half the window (3, 2)")):
        S.Pooling(3, 2, pad=(1, 2))


def test_three_numbers_for_an_h_w_pair_are_refused_not_cut_to_two():
    with pytest.raises(ValueError):
        S.output_shape((5, 5), (3, 3), (1, 1, 1), (0, 0))
    with pytest.raises(ValueError):
        S.Pooling(2, 2, stride=(2, 2, 2))  # (any() stops at a first 1 < 2)
    with pytest.raises(ValueError):
        S.AvgPooling(2, 2, pad=(1, 1, 1))


def test_pad_image_pads_each_axis_by_its_own_amount():
    x = np.ones((1, 1, 3, 4))
    assert S.pad_image(x, (0, 0)) is x  # no copy
    assert S.pad_image(x, (1, 0)).shape == (1, 1, 5, 4)
    assert S.pad_image(x, (0, 2)).shape == (1, 1, 3, 8)
    padded = S.pad_image(x, (1, 1), -np.inf)  # max pooling pads with -inf, not 0
    assert padded[0, 0, 0, 0] == -np.inf and padded[0, 0, 1, 1] == 1


@pytest.mark.parametrize("kernel, stride, overlapping", [
    ((2, 2), None, False), ((3, 3), 3, False), ((2, 2), 3, False),
    ((3, 3), 2, True), ((3, 2), 2, True)])
def test_pooling_adds_gradients_only_where_windows_overlap(kernel, stride, overlapping):
    """Stride >= window: every pixel in one window at most, backward writes (measured 1.4x)."""
    assert S.Pooling(*kernel, stride).overlapping is overlapping


@pytest.mark.parametrize("window, dtype", [((1, 1), np.uint8), ((16, 16), np.uint8),
                                           ((1, 257), np.uint16)])
def test_fast_pooling_keeps_the_smallest_winner_index_type(window, dtype):
    """One byte per output up to 256 taps; the numbers are the reference's either way."""
    x = np.random.default_rng(0).standard_normal((2, 1, *window))
    fast, book = SF.FastPooling(*window), S.Pooling(*window)
    np.testing.assert_array_equal(fast.forward(x), book.forward(x))
    assert fast.winner.dtype == dtype
    dout = np.random.default_rng(1).standard_normal(fast.out_shape)
    np.testing.assert_array_equal(fast.backward(dout), book.backward(dout))


def fast_and_book(W, b, stride, pad, x, dout):
    """(out, dx, dW, db) of the fast layer and of the book-shaped one."""
    results = []
    for cls in (SF.FastConvolution, S.Convolution):
        layer = cls(W, b, stride, pad)
        out = layer.forward(x)
        results.append((out, layer.backward(dout), layer.grads["W"], layer.grads["b"]))
    return results


@pytest.mark.parametrize("FN, C, pad, stride, turned", [
    (2, 2, (2, 2), 1, True),  # padding FH-1, FW-1: still the turned filters
    (2, 2, (3, 0), 1, False), (2, 2, (0, 3), 1, False),  # beyond: col2im
    (2, 2, 1, 2, False),  # stride 2: col2im
    (4, 1, 1, 1, False),  # more filters than channels: more to copy than col2im adds
])
def test_input_gradient_takes_the_turned_filters_exactly_where_documented(
        FN, C, pad, stride, turned):
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((FN, C, 3, 3)), rng.standard_normal(FN)
    x = rng.standard_normal((2, C, 6, 6))
    layer = SF.FastConvolution(W, b, stride, pad)
    dout = rng.standard_normal(layer.forward(x).shape)
    assert (layer.transposed() is not None) is turned
    fast, book = fast_and_book(W, b, stride, pad, x, dout)
    for got, want in zip(fast, book, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_no_input_gradient_on_the_turned_filter_path():
    """As many filters as channels, stride 1, 'same' padding: the path that would need
    dx is skipped, backward returns None (and still sets dW)."""
    layer = SF.FastConvolution(np.ones((1, 1, 3, 3)), None, 1, 1)
    layer.input_grad = False
    out = layer.forward(np.ones((1, 1, 3, 3)))
    assert layer.transposed() is not None
    assert layer.backward(np.random.default_rng(0).standard_normal(out.shape)) is None
    assert layer.grads["W"].shape == (1, 1, 3, 3)


@pytest.mark.parametrize("first, then", [
    # the same padded-image buffer shape (1, 50): 6x6 unpadded, then 4x4 padded by 1
    (((1, 1, 6, 6), 0, 1), ((1, 1, 4, 4), 1, 1)),
])
def test_kept_buffers_of_one_layer_do_not_leak_into_the_next(first, then):
    """Buffers are kept per thread by name and shape; padding and dropped corners stay 0
    only if the name says what decides them (pad, stride): a layer run after another of
    the same buffer shape must still give the book-shaped layer's numbers."""
    rng = np.random.default_rng(0)
    for shape, pad, stride in (first, then):
        kernel = 3 if shape[2] > 5 or pad else 1
        W, b = rng.standard_normal((1, 1, kernel, kernel)), rng.standard_normal(1)
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(S.Convolution(W, b, stride, pad).checked_output_shape(x))
        fast, book = fast_and_book(W, b, stride, pad, x, dout)
    for got, want in zip(fast, book, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_corner_gradient_of_stride_1_does_not_leak_into_stride_2():
    """Both keep a (1, 1, 5, 5) corner gradient; stride 2 writes 3x3 of it, the rest
    must be 0 (not the stride-1 layer's gradient), or dW sums windows the stride skips."""
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((1, 1, 5, 5)), np.ones((1, 1, 1, 1))
    first = SF.FastConvolution(W, None, 1, 0)
    first.backward(rng.standard_normal(first.forward(x).shape))  # all 25 corners written
    layer = SF.FastConvolution(W, None, 2, 0)
    dout = rng.standard_normal(layer.forward(x).shape)
    layer.backward(dout)
    assert layer.grads["W"].item() == pytest.approx(np.sum(x[..., ::2, ::2] * dout))


def test_float32_convolution_asks_for_float32_work_arrays(monkeypatch):
    """The padded images, columns, products and gradients a block keeps are the input's
    dtype: no float64 temporaries (twice the memory, slower products)."""
    asked = set()

    def spy(keep):
        def kept(name, shape, dtype):
            asked.add(np.dtype(dtype))
            return keep(name, shape, dtype)
        return kept

    monkeypatch.setattr(SF, "buffer", spy(SF.buffer))
    monkeypatch.setattr(SF, "workspace", spy(SF.workspace))
    layer = SF.FastConvolution(np.ones((1, 1, 3, 3), np.float32), None, 2, 1)  # col2im
    layer.backward(layer.forward(np.ones((1, 1, 5, 5), np.float32)))
    assert asked == {np.dtype(np.float32)}


@pytest.mark.parametrize("image, chunk", [(64, 1), (8, 3)])
def test_blocks_hold_as_many_images_as_fit_in_block_bytes_at_least_one(image, chunk):
    """One filter of 8 channels, 3x3: 576 bytes a window; a 64x64 image padded by 1 has
    64 * 66 windows (2.4 MB > BLOCK_BYTES): one image a block."""
    layer = SF.FastConvolution(np.ones((1, 8, 3, 3)), None, 1, 1)
    layer.lowering = SF.Lowering.of((image, image), (3, 3), (1, 1), (1, 1))
    assert layer.blocks(3) == [(n, min(n + chunk, 3)) for n in range(0, 3, chunk)]


def test_blocks_follow_the_chunk_attribute():
    """Fast and direct (the 10 s per-function budget of `make mutate` keeps it): blocks of
    ``chunk`` images, the last one shorter."""
    layer = SF.FastConvolution(np.zeros((2, 1, 3, 3)), np.zeros(2))
    layer.chunk = 3
    assert layer.blocks(10) == [(0, 3), (3, 6), (6, 9), (9, 10)]
