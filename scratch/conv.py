"""Convolution and pooling as the book writes them (``common/util.py``, ``common/layers.py``).

This is the reference a learner studies.  A convolution is ONE matrix product:

- ``im2col`` copies every window of the (padded) image into one row of a matrix
  (N*OH*OW rows, C*FH*FW columns: a window flattened the way a filter is);
- ``forward``: rows @ flattened filters, then reshape to (N, FN, OH, OW);
- ``backward``: two matrix products give dW and the rows' gradient; ``col2im``
  ADDS each row back onto the pixels it came from (windows overlap when
  stride < kernel, so a pixel gathers from several windows).

im2col loops over kernel taps (i, j) -- never over images or pixels -- and copies,
for every window at once, the pixel that tap sees (``window_taps``).  Pooling needs
no columns: the max or sum over a window is taken tap by tap over the same views.

Departures from the book, each caught by the parity suite: every buffer keeps the
input's dtype (the book's im2col allocates float64, so float32 in came back float64);
no ``backward`` writes into an array it was given; max pooling pads with -inf.
``stride`` and ``pad`` are ints (as in the book) or (height, width) pairs.

The networks (``scratch.models``) use ``scratch.conv_fast.FastConvolution``: the
same layer with the same constructor, computed in cache-sized blocks of images
(measured 1.2-1.4x faster forward + backward at batch 100, float32, one thread); the
registry requires it to give this one's numbers.
"""

import numpy as np

from scratch.checks import (
    check_dout,
    check_ndim,
    check_nonnegative_int,
    check_positive_int,
    check_window_fits,
    fail,
)
from scratch.layers import Layer


def pair(v):
    """An int or an (h, w) pair -> (h, w)."""
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def output_size(size, kernel, stride, pad):
    """Windows along one axis: the one output-size formula of every layer here."""
    return (size + 2 * pad - kernel) // stride + 1


def output_shape(image, kernel, stride, pad):
    """(OH, OW) for an (H, W) image; ``kernel``, ``stride``, ``pad`` are (h, w) pairs."""
    return tuple(output_size(*args) for args in zip(image, kernel, stride, pad, strict=True))


def window_taps(kernel, out_size, stride):
    """Per kernel tap (i, j): the index of the padded image that tap sees in every window.

    For tap (i, j) the windows read rows i, i + sh, ..., and columns j, j + sw, ...:
    ``image[window]`` is an (..., OH, OW) strided view, one entry per window.
    """
    (FH, FW), (OH, OW), (sh, sw) = kernel, out_size, stride
    for i in range(FH):
        for j in range(FW):
            yield i, j, (..., slice(i, i + sh * OH, sh), slice(j, j + sw * OW, sw))


def pad_image(x, pad, value=0.0):
    """Pad the last two axes by ``pad = (ph, pw)`` with ``value``; no copy when pad is 0."""
    ph, pw = pad
    if ph == pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def crop(padded, pad):
    """Undo ``pad_image`` on the last two axes (a view)."""
    (ph, pw), (Hp, Wp) = pad, padded.shape[-2:]
    return padded[..., ph:Hp - ph, pw:Wp - pw]


def im2col(x, kernel, stride, pad):
    """(N, C, H, W) -> (N*OH*OW, C*FH*FW): one row per window, in x's dtype."""
    N, C = x.shape[:2]
    out_size = output_shape(x.shape[2:], kernel, stride, pad)
    image = pad_image(x, pad)
    col = np.empty((N, C, *kernel, *out_size), dtype=x.dtype)
    for i, j, window in window_taps(kernel, out_size, stride):
        col[:, :, i, j] = image[window]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_size[0] * out_size[1], -1)


def col2im(col, x_shape, kernel, stride, pad):
    """The adjoint of ``im2col``: ADD every row entry back onto its pixel."""
    N, C, H, W = x_shape
    OH, OW = out_size = output_shape((H, W), kernel, stride, pad)
    col = col.reshape(N, OH, OW, C, *kernel).transpose(0, 3, 4, 5, 1, 2)
    dimage = np.zeros((N, C, H + 2 * pad[0], W + 2 * pad[1]), dtype=col.dtype)
    for i, j, window in window_taps(kernel, out_size, stride):
        dimage[window] += col[:, :, i, j]
    return np.ascontiguousarray(crop(dimage, pad))


class Convolution(Layer):
    """Cross-correlation (no kernel flip), as the book and ``nn.Conv2d``.

    W: (FN, C, FH, FW) filters; b: (FN,) biases, or None for a layer without bias.
    """

    out_shape = None  # set by forward

    def __init__(self, W, b, stride=1, pad=0):
        super().__init__()
        where = type(self).__name__
        check_ndim(where, "W", W, 4, "filters (FN, C, FH, FW)")
        if b is not None and np.shape(b) != W.shape[:1]:
            fail(where, f"b has shape {np.shape(b)}, W {W.shape} needs ({W.shape[0]},)")
        check_positive_int(where, "stride", stride)
        check_nonnegative_int(where, "pad", pad)
        self.params = {"W": W} if b is None else {"W": W, "b": b}
        self.stride, self.pad = pair(stride), pair(pad)

    def checked_output_shape(self, x):
        """(N, FN, OH, OW) for ``x``, once ``x`` is checked against the filters."""
        where, W = f"{type(self).__name__}.forward", self.params["W"]
        check_ndim(where, "x", x, 4, "images (N, C, H, W)")
        if x.shape[1] != W.shape[1]:
            fail(where, f"x has {x.shape[1]} channels, W expects {W.shape[1]} (W is {W.shape})")
        check_window_fits(where, x.shape[2:], W.shape[2:], self.pad)
        self.out_shape = (len(x), W.shape[0],
                          *output_shape(x.shape[2:], W.shape[2:], self.stride, self.pad))
        return self.out_shape

    def forward(self, x):
        W = self.params["W"]
        _, FN, OH, OW = self.checked_output_shape(x)
        self.x_shape = x.shape
        self.col = im2col(x, W.shape[2:], self.stride, self.pad)
        out = self.col @ W.reshape(FN, -1).T  # (N*OH*OW, FN): every window times every filter
        if "b" in self.params:
            out += self.params["b"]
        return out.reshape(len(x), OH, OW, FN).transpose(0, 3, 1, 2)

    def backward(self, dout):
        check_dout("Convolution.backward", dout, self.out_shape, unit="image")
        W = self.params["W"]
        FN = W.shape[0]
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)  # the rows of forward's product
        self.grads["W"] = (dout.T @ self.col).reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=0)
        dcol = dout @ W.reshape(FN, -1)
        return col2im(dcol, self.x_shape, W.shape[2:], self.stride, self.pad)


class _Pool(Layer):
    """What both poolings share: window size, stride (default: the window), padding."""

    out_shape = None  # set by forward

    def __init__(self, pool_h, pool_w, stride=None, pad=0):
        super().__init__()
        where = type(self).__name__
        check_positive_int(where, "pool_h, pool_w", (pool_h, pool_w))
        check_positive_int(where, "stride", 1 if stride is None else stride)
        check_nonnegative_int(where, "pad", pad)
        self.kernel = (pool_h, pool_w)
        self.stride = pair(self.kernel if stride is None else stride)
        self.pad = pair(pad)
        self.overlapping = any(s < k for s, k in zip(self.stride, self.kernel, strict=True))
        if any(2 * p > k for p, k in zip(self.pad, self.kernel, strict=True)):
            # as torch: a window could then lie in the padding only (max -inf, average 0/0)
            fail(where, f"pad {pad} must be at most half the window {self.kernel}")

    def taps(self, x_shape):
        out_size = output_shape(x_shape[-2:], self.kernel, self.stride, self.pad)
        return window_taps(self.kernel, out_size, self.stride)

    def check_input(self, x):
        """``x`` must be images the window fits in; keeps the output shape for backward."""
        where = f"{type(self).__name__}.forward"
        check_ndim(where, "x", x, 4, "images (N, C, H, W)")
        check_window_fits(where, x.shape[2:], self.kernel, self.pad, "window")
        self.out_shape = x.shape[:2] + output_shape(x.shape[2:], self.kernel, self.stride,
                                                    self.pad)


class Pooling(_Pool):
    """Max pooling.  Padding is -inf (it never wins a max), as ``nn.MaxPool2d``.

    A window with several equal maxima sends its gradient to the FIRST of them in
    row-major order, as torch's CPU kernel does (and the book's argmax).
    Not covered: windows whose maximum is -inf itself (torch then picks the first
    real pixel, this code may pick a padded one); NaN inputs.
    """

    def forward(self, x):
        self.check_input(x)
        self.x_shape = x.shape
        self.image = pad_image(x, self.pad, -np.inf)  # pad 0: x itself, no copy
        out = None
        for _, _, window in self.taps(x.shape):
            view = self.image[window]
            out = view.copy() if out is None else np.maximum(out, view, out=out)
        self.out = out
        return out

    def backward(self, dout):
        check_dout("Pooling.backward", dout, self.out_shape, unit="image")
        dimage = np.zeros_like(self.image)
        taken = np.zeros(self.out.shape, dtype=bool)  # window has met its maximum already
        for _, _, window in self.taps(self.x_shape):
            hit = self.image[window] == self.out
            first = hit > taken  # a hit in a window not yet taken: its FIRST maximum
            taken |= hit
            if self.overlapping:
                dimage[window] += dout * first  # (faster than np.where; 0 elsewhere)
            else:  # every pixel in one window at most: write, no temporary (measured 1.4x)
                np.multiply(dout, first, out=dimage[window])
        return np.ascontiguousarray(crop(dimage, self.pad))


class AvgPooling(_Pool):
    """Average pooling (not in the book; its twin is ``nn.AvgPool2d``).

    Padding is zeros.  ``count_include_pad=True`` (torch's default) divides every
    window by pool_h * pool_w, padded pixels included; False divides by the number
    of real pixels in the window.  The two differ only where windows overlap the pad.
    """

    def __init__(self, pool_h, pool_w, stride=None, pad=0, count_include_pad=True):
        super().__init__(pool_h, pool_w, stride, pad)
        self.count_include_pad = count_include_pad

    def window_sum(self, x):
        image = pad_image(x, self.pad)
        return sum(image[window] for _, _, window in self.taps(x.shape))

    def forward(self, x):
        self.check_input(x)
        self.x_shape = x.shape
        if self.count_include_pad:
            self.count = self.kernel[0] * self.kernel[1]
        else:  # real pixels per window: the window sum of an image of ones
            self.count = self.window_sum(np.ones((1, 1) + x.shape[2:], dtype=x.dtype))
        return self.window_sum(x) / self.count

    def backward(self, dout):
        check_dout("AvgPooling.backward", dout, self.out_shape, unit="image")
        share = dout / self.count  # every pixel of a window gets an equal share
        H, W = self.x_shape[2:]
        (ph, pw) = self.pad
        dimage = np.zeros(self.x_shape[:2] + (H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
        for _, _, window in self.taps(self.x_shape):
            dimage[window] += share
        return np.ascontiguousarray(crop(dimage, self.pad))
