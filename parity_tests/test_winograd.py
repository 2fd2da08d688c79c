"""Winograd F(2x2, 3x3) (scratch/winograd.py): its pieces, drawn settings, and the bite.

The registry's "winograd" entries check a few settings against torch, finite
differences and the book-shaped Convolution; here the transforms are checked on their
own (the identity they must satisfy, the adjoints the backward relies on), hypothesis
draws sizes, padding 0-2, bias, threads and dtype, the speed attributes and the
fallback are pinned, and each check is shown to catch a broken transform.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scratch.conv as S
import scratch.conv_fast as SF
import scratch.winograd as SW
from parity.engine.inputs import DTYPES
from parity.engine.registry import find
from parity.engine.tolerances import tolerance_for
from parity.pairs.conv import WINOGRAD, convolution, setting
from parity_tests.test_conv import assert_twins_agree, drawn_image, int_or_pair

FEWER = settings(max_examples=50, deadline=None, derandomize=True)


def correlate_tile(d, g):
    """The 2x2 outputs of the 3x3 windows of a 4x4 tile, directly."""
    return np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)])


# ---- the transforms ----

def test_the_transform_matrices_are_lavin_and_grays():
    np.testing.assert_array_equal(SW.BT, [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0],
                                          [0, 1, 0, -1]])
    np.testing.assert_array_equal(SW.G, [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5],
                                         [0, 0, 1]])
    np.testing.assert_array_equal(SW.AT, [[1, 1, 1, 0], [0, 1, -1, -1]])


def test_the_matrices_give_the_correlation_of_a_tile():
    """Y = A^T [(G g G^T) * (B^T d B)] A: the identity everything rests on."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
        Y = SW.AT @ ((SW.G @ g @ SW.G.T) * (SW.BT @ d @ SW.BT.T)) @ SW.AT.T
        np.testing.assert_allclose(Y, correlate_tile(d, g), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("row, want", [
    ((1, 0, -1, 0), lambda t: t[0] - t[2]),
    ((0, -1, 1, 0), lambda t: t[2] - t[1]),
    ((0, 1, -1, -1), lambda t: t[1] - t[2] - t[3]),
    ((1, 1, 1, 0), lambda t: t[0] + t[1] + t[2]),
    ((-1, 0, -1, -1), lambda t: -t[0] - t[2] - t[3]),
    ((-1, 0, 1, 0), lambda t: t[2] - t[0]),
    ((0, 0, 0, -1), lambda t: -t[3]),
    ((0, 1, 0, 0), lambda t: t[1]),
])
def test_combine_adds_and_subtracts_by_the_row(row, want):
    terms = list(np.random.default_rng(0).standard_normal((4, 3, 5)))
    out = np.full((3, 5), np.nan)
    assert SW.combine(row, terms, out) is out
    np.testing.assert_array_equal(out, want(terms))


@pytest.mark.parametrize("row", [(2, 0, 0, 0), (1, 0.5, 0, 0), (1, -2, 0, 0)])
def test_combine_refuses_a_coefficient_other_than_one(row):
    with pytest.raises(ValueError, match="0, 1 or -1"):
        SW.combine(row, list(np.zeros((4, 2))), np.empty(2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_filter_transform_per_filter_and_channel(dtype):
    W = np.random.default_rng(0).standard_normal((3, 2, 3, 3)).astype(dtype)
    U = SW.filter_transform(W)
    assert U.shape == (16, 3, 2) and U.dtype == dtype and U.flags.c_contiguous
    for k in range(3):
        for c in range(2):
            np.testing.assert_allclose(U[:, k, c].reshape(4, 4), SW.G @ W[k, c] @ SW.G.T,
                                       rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_filter_gradient_is_the_adjoint_of_filter_transform(dtype):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
    dU = rng.standard_normal((16, 3, 2)).astype(dtype)
    dW = SW.filter_gradient(dU)
    assert dW.shape == W.shape and dW.dtype == dtype
    assert np.vdot(SW.filter_transform(W), dU) == pytest.approx(np.vdot(W, dW), rel=1e-5)


@pytest.mark.parametrize("image, pad, out_size, tiles", [
    ((5, 8), (1, 0), (5, 6), (3, 3)),  # odd rows: one more tile row, half dropped
    ((6, 5), (1, 0), (6, 3), (3, 2)),  # even rows: no more tiles than outputs / 2
    ((4, 4), (2, 2), (6, 6), (3, 3)),
])
def test_tiles_cover_odd_output_sizes(image, pad, out_size, tiles):
    tiling = SW.Tiling.of(image, pad)
    assert (tiling.image, tiling.pad, tiling.out_size, tiling.tiles) == (
        image, pad, out_size, tiles)


def test_transformed_holds_every_tiles_transform():
    """V[(a, b), c, tile] = (B^T d B)[a, b] of tile (t, u): rows 2t..2t+3, columns
    2u..2u+3 of the padded image (tiles overlap by two), zeros past its edge."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5, 4))
    tiling = SW.Tiling.of(x.shape[2:], (1, 2))  # outputs 5x6: tiles 3x3
    V = tiling.transformed(x).reshape(4, 4, 3, 2, 3, 3)
    grid = np.zeros((2, 3, 8, 8))
    grid[:, :, 1:6, 2:6] = x
    for n in range(2):
        for t in range(3):
            for u in range(3):
                d = grid[n, :, 2 * t:2 * t + 4, 2 * u:2 * u + 4]
                want = SW.BT @ d @ SW.BT.T  # (C, 4, 4)
                np.testing.assert_allclose(V[:, :, :, n, t, u].transpose(2, 0, 1), want,
                                           rtol=1e-12, atol=1e-12)


def test_output_gradient_is_the_adjoint_of_the_output_transform():
    """<Y(M), dY> = <M, dM(dY)>: ``correlate`` with V of ones per position is A^T M A."""
    rng = np.random.default_rng(3)
    tiling = SW.Tiling.of((5, 6), (0, 1))  # outputs 3x6: tiles 2x3, the last row dropped
    dout = rng.standard_normal((2, 4, 3, 6))
    dM = tiling.output_gradient(dout).copy()
    M = rng.standard_normal(dM.shape).reshape(4, 4, 4, 2, 2, 3)
    Y = np.einsum("ia,jb,abknpq->nkpiqj", SW.AT, SW.AT, M).reshape(2, 4, 4, 6)
    assert np.vdot(Y[:, :, :3], dout) == pytest.approx(np.vdot(M, dM), rel=1e-12)


# ---- the layer ----

def conv_pair(FN, C, pad, image, N=2, bias=True, threads=1):
    shape = (N, C, *image)
    return convolution(FN, C, 3, 3, 1, pad, bias=bias, samples=drawn_image(shape),
                       winograd=True, threads=threads)


def book_shaped(pair):
    """``pair`` with the book-shaped Convolution built from the same arguments."""
    def build(p):
        layer = pair.scratch(p)
        return S.Convolution(layer.params["W"], layer.params.get("b"), layer.stride, layer.pad)
    return dataclasses.replace(pair, scratch=build)


def assert_gives_the_book_shaped_numbers(pair, dtype, tolerance=None):
    tol = tolerance or pair.tolerance(dtype)
    sample = pair.sample_list()[0]
    ours, theirs = (p.scratch_results(sample, dtype) for p in (pair, book_shaped(pair)))
    assert ours.keys() == theirs.keys()
    for q, want in theirs.items():
        assert ours[q].dtype == want.dtype, q
        err = np.abs(ours[q] - want).max(initial=0)
        scale = np.abs(want).max(initial=0) if tol.normwise else np.abs(want)
        assert np.all(err <= tol.atol + tol.rtol * scale), (q, err)


@st.composite
def winograd_settings(draw):
    pad = draw(int_or_pair(0, 2))
    ph, pw = S.pair(pad)
    image = (draw(st.integers(max(1, 3 - 2 * ph), 9)), draw(st.integers(max(1, 3 - 2 * pw), 9)))
    pair = conv_pair(draw(st.integers(1, 4)), draw(st.integers(1, 3)), pad, image,
                     N=draw(st.integers(1, 3)), bias=draw(st.booleans()),
                     threads=draw(st.sampled_from((1, 2))))
    return pair, draw(st.sampled_from(DTYPES))


@FEWER
@given(winograd_settings())
def test_winograd_gives_the_book_shaped_ones_numbers_for_any_setting(drawn):
    """What the registry's SameResults probes check, on drawn sizes (odd and even
    outputs), padding 0-2 per axis, 1-3 images on 1 or 2 threads, float64 and float32."""
    assert_gives_the_book_shaped_numbers(*drawn)


@FEWER
@given(winograd_settings())
def test_winograd_matches_conv2d_for_any_setting(drawn):
    assert_twins_agree(*drawn)


def test_float32_needs_its_named_row_only():
    """The float32 row is the named Winograd one; float64 keeps the table's own."""
    pair = conv_pair(2, 2, 1, (4, 4))
    assert pair.tolerance("float32") == tolerance_for("winograd-float32")
    assert pair.tolerance("float64") == tolerance_for("float64")
    assert convolution(2, 2, 3, 3, fast=True).tolerance("float32") == tolerance_for("float32")


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_is_kept(dtype):
    rng = np.random.default_rng(0)
    layer = SW.WinogradConvolution(rng.standard_normal((2, 3, 3, 3)).astype(dtype),
                                   rng.standard_normal(2).astype(dtype), 1, 1)
    out = layer.forward(rng.standard_normal((2, 3, 5, 5)).astype(dtype))
    dx = layer.backward(rng.standard_normal(out.shape).astype(dtype))
    assert out.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == dtype


@pytest.mark.parametrize("W_shape, stride, pad, applies", [
    ((2, 3, 3, 3), 1, 0, True), ((2, 3, 3, 3), 1, 2, True), ((2, 3, 3, 3), 1, (2, 1), True),
    ((2, 3, 3, 3), 1, 3, False), ((2, 3, 3, 3), 1, (0, 3), False),
    ((2, 3, 3, 3), 2, 1, False), ((2, 3, 3, 3), (1, 2), 1, False),
    ((2, 3, 5, 5), 1, 1, False), ((2, 3, 3, 2), 1, 1, False), ((2, 3, 2, 3), 1, 1, False),
])
def test_other_settings_run_fast_convolutions_code(W_shape, stride, pad, applies):
    """Winograd where it applies; elsewhere FastConvolution's numbers to the bit."""
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal(W_shape), rng.standard_normal(W_shape[0])
    x, layers = rng.standard_normal((2, 3, 7, 8)), []
    for cls in (SW.WinogradConvolution, SF.FastConvolution):
        layer = cls(W, b, stride, pad)
        out = layer.forward(x)
        dx = layer.backward(np.random.default_rng(1).standard_normal(out.shape))
        layers.append((out, dx, layer.grads["W"]))
    assert SW.applies(SW.WinogradConvolution(W, b, stride, pad)) is applies
    same = all(np.array_equal(a, b) for a, b in zip(*layers, strict=True))
    assert same is not applies  # Winograd rounds differently: never bit-equal
    for a, b in zip(*layers, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("forward, backward", [(True, False), (False, True), (False, False)])
def test_each_pass_can_be_left_to_fast_convolution(forward, backward):
    """``winograd_forward`` / ``winograd_backward`` False: that pass is FastConvolution's
    (bit for bit), the other Winograd's; both give the reference's numbers."""
    rng = np.random.default_rng(0)
    W, b, x = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4), rng.standard_normal(
        (3, 3, 6, 7))
    dout = rng.standard_normal((3, 4, 6, 7))
    results = {}
    for name, cls in (("wino", SW.WinogradConvolution), ("fast", SF.FastConvolution),
                      ("book", S.Convolution)):
        layer = cls(W, b, 1, 1)
        layer.winograd_forward, layer.winograd_backward = forward, backward
        results[name] = (layer.forward(x), layer.backward(dout), layer.grads["W"])
    for got, _, book in zip(*results.values(), strict=True):
        np.testing.assert_allclose(got, book, rtol=1e-10, atol=1e-12)
    out, dx, dW = (np.array_equal(a, f) for a, f in zip(results["wino"], results["fast"],
                                                         strict=True))
    assert out is not forward and dx is not backward and dW is not backward


@pytest.mark.parametrize("chunk, workers", [(1, 1), (3, 1), (7, 1), (1, 2), (2, 2), (None, 2)])
def test_blocks_and_threads_change_nothing_but_rounding(chunk, workers):
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((7, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    dout = np.random.default_rng(1).standard_normal((7, 4, 9, 8))
    results = []
    for settings_ in ((None, None), (chunk, workers)):
        layer = SW.WinogradConvolution(W, b, 1, 1)
        layer.chunk, layer.workers = settings_
        results.append((layer.forward(x), layer.backward(dout), layer.grads["W"]))
    blocks = layer.blocks(7)
    assert len(blocks) == min(workers, 1 if chunk is None else -(-7 // chunk))
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_input_grad_false_returns_none_and_the_same_weight_gradient():
    rng = np.random.default_rng(0)
    W, b, x = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4), rng.standard_normal(
        (2, 3, 6, 6))
    dout = rng.standard_normal((2, 4, 6, 6))
    grads = []
    for input_grad in (True, False):
        layer = SW.WinogradConvolution(W, b, 1, 1)
        layer.input_grad = input_grad
        layer.forward(x)
        dx = layer.backward(dout)
        assert (dx is None) is not input_grad
        grads.append(layer.grads)
    for k in ("W", "b"):
        np.testing.assert_array_equal(grads[0][k], grads[1][k])


def test_buffers_of_other_sizes_leave_no_trace():
    """This thread's buffers are shared by calls of other sizes: an image one pixel
    larger (the same tile grid) first must not leave pixels in the padding of the
    smaller one, nor an output gradient one larger in its dropped outputs."""
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    for image in ((6, 6), (5, 5), (6, 5), (5, 6)):  # outputs (6|5) x (6|5) with pad 1
        x = rng.standard_normal((1, 2, *image))
        dout = rng.standard_normal((1, 2, *image))
        got, want = SW.WinogradConvolution(W, b, 1, 1), S.Convolution(W, b, 1, 1)
        for layer in (got, want):
            layer.forward(x)
            layer.backward(dout)
        np.testing.assert_allclose(got.forward(x), want.forward(x), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got.backward(dout), want.backward(dout), rtol=1e-10,
                                   atol=1e-12)
        np.testing.assert_allclose(got.grads["W"], want.grads["W"], rtol=1e-10, atol=1e-12)


def test_bad_dout_names_the_class():
    layer = SW.WinogradConvolution(np.ones((2, 3, 3, 3)), np.ones(2), 1, 1)
    layer.forward(np.ones((4, 3, 5, 5)))
    with pytest.raises(ValueError, match="WinogradConvolution.backward: dout has 1 image"):
        layer.backward(np.zeros((1, 2, 5, 5)))


# ---- the checks bite ----

BOOK = find("Convolution", setting((3, 3), 1, 1, "6x5 image"))
WINO = find("Convolution", setting((3, 3), 1, 1, "6x5 image", WINOGRAD))
SPLIT = find("Convolution", setting((3, 3), 1, 1, "6x5 image", WINOGRAD, "2 threads"))


def probe_failures(pair, dtype="float64"):
    probe = find("Convolution", f"{pair.variant} = {BOOK.variant}")
    return [c for c in probe.run(dtype) if not c.passed]


@pytest.mark.parametrize("matrix, at, quantities", [
    ("BT", (3, 1), {"out", "dx", "dW"}),  # a tile transform entry: every pass
    ("G", (1, 2), {"out", "dx", "dW"}),  # a filter transform entry
    ("AT", (1, 3), {"out", "dx", "dW"}),  # an output transform entry
])
def test_a_wrong_transform_entry_is_caught(monkeypatch, matrix, at, quantities):
    """One entry of one matrix negated: the registry's probe names what it breaks, in
    float64 and in float32 (the named float32 row is not loose enough to hide it)."""
    broken = getattr(SW, matrix).copy()
    broken[at] = -broken[at]
    monkeypatch.setattr(SW, matrix, broken)
    for dtype in DTYPES:
        bad = probe_failures(WINO, dtype)
        assert {c.quantity for c in bad} == quantities
        assert all(c.oracle == f"scratch {BOOK.variant}" for c in bad)


def test_tiles_that_do_not_overlap_are_caught(monkeypatch):
    """Tiles read at a step of 4 pixels instead of 2 (abutting, not overlapping by two):
    the probe names every pass."""
    def abutting(self, x):
        (TH, TW), (ph, pw), (H, W) = self.tiles, self.pad, self.image
        grid = np.zeros((x.shape[1], len(x), 4 * TH + 4, 4 * TW + 4), x.dtype)
        grid[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
        tiles = np.lib.stride_tricks.sliding_window_view(grid, (4, 4), axis=(2, 3))
        tiles = tiles[:, :, ::4, ::4][:, :, :TH, :TW]  # (C, n, TH, TW, 4, 4)
        V = np.einsum("ar,bs,cnturs->abcntu", SW.BT, SW.BT, tiles)
        return np.ascontiguousarray(V, x.dtype).reshape(16, x.shape[1], -1)

    monkeypatch.setattr(SW.Tiling, "transformed", abutting)
    assert {c.quantity for c in probe_failures(WINO)} == {"out", "dx", "dW"}


def test_weight_gradient_of_one_thread_only_is_caught(monkeypatch):
    """The 2-thread variant's probe names dW when one thread's dU is dropped."""
    monkeypatch.setattr(SW, "map_parts", lambda fn, items, run=SW.map_parts: run(fn, items)[:1])
    assert {c.quantity for c in probe_failures(SPLIT)} == {"dW"}
    assert not probe_failures(WINO)  # one thread: nothing dropped


def test_padding_left_unzeroed_is_caught(monkeypatch):
    """Buffers that keep the last call's values where the padding (or the dropped
    outputs of an odd size) must be zero: the parity run names every pass."""
    monkeypatch.setattr(SW, "buffer", lambda name, shape, dtype: np.ones(shape, dtype))
    assert {c.quantity for c in probe_failures(WINO)} == {"out", "dx", "dW"}


def test_each_thread_keeps_its_named_float32_buffers_at_their_sizes():
    """A float32 layer's forward and backward (C = FN, pad 1: dx's correlation is the
    forward's size) in a fresh thread: these buffers, float32, exactly this large -- none
    made anew per call (a fresh large array page-faults, scratch/parallel.py)."""
    import threading

    import scratch.parallel as P

    C, n, (H, W) = 3, 2, (5, 6)  # outputs 5x6: tiles 3x3, the last tile row half dropped
    TH, TW, FN = 3, 3, C
    rng = np.random.default_rng(0)
    layer = SW.WinogradConvolution(rng.standard_normal((FN, C, 3, 3)).astype(np.float32),
                                   np.zeros(FN, np.float32), 1, 1)
    x = rng.standard_normal((n, C, H, W)).astype(np.float32)
    held = {}

    def run():
        out = layer.forward(x)
        layer.backward(rng.standard_normal(out.shape).astype(np.float32))
        held.update(P._LOCAL.buffers)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    tiles = n * TH * TW
    want = {
        "winograd grid": C * n * (2 * TH + 2) * (2 * TW + 2), "winograd rows": 4 * C * n * TH * (
            2 * TW + 2), "winograd V": 16 * C * tiles, "winograd M": 16 * FN * tiles,
        "winograd half": 8 * FN * tiles, "winograd Y": 4 * FN * tiles,
        "winograd dY": FN * n * 2 * TH * 2 * TW, "winograd dhalf": 8 * FN * tiles,
        "winograd dM": 16 * FN * tiles, "winograd dU": 16 * FN * C}
    got = {(key[0][0] if isinstance(key[0], tuple) else key[0]): a for key, a in held.items()}
    assert len(got) == len(held)  # one array per name
    assert {k: a.size for k, a in got.items()} == want
    assert all(a.dtype == np.float32 for a in got.values())
