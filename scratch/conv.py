"""Convolution and pooling (the book's ``Convolution``/``Pooling`` and its im2col/col2im).

The book lowers a convolution to ONE matrix product: im2col copies every window of
the (padded) image into a column, and the layer multiplies the flattened filters
by those columns.  im2col loops over kernel taps (i, j) -- never over images or
pixels -- and copies, for every window at once, the pixel that tap sees.  This
file keeps that code shape, with three changes found by measuring:

- columns are laid out (C, FH, FW, N, OH, OW), so each tap fills one contiguous
  block and the reshape to a (C*FH*FW, N*OH*OW) matrix is free (the book builds
  (N, C, FH, FW, OH, OW) and then transposes: a second full copy);
- every buffer takes the input's dtype (the book's im2col allocates float64, so
  float32 in came back float64);
- pooling needs no columns: the max or sum over a window is taken tap by tap over
  strided views of the input.

Gradients flow back through the same taps: col2im ADDS each tap's block into the
padded image gradient (windows overlap when stride < kernel).

``stride`` and ``pad`` are ints (as in the book) or (height, width) pairs.
No ``backward`` writes into an array it was given.
"""

import numpy as np

from scratch.layers import Layer


def pair(v):
    """An int or an (h, w) pair -> (h, w)."""
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def output_size(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


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


def im2col(x, kernel, stride=1, pad=0):
    """(N, C, H, W) -> columns (C*FH*FW, N*OH*OW): column n*OH*OW + p is window p of image n."""
    N, C, H, W = x.shape
    (FH, FW), stride, pad = kernel, pair(stride), pair(pad)
    OH, OW = output_size(H, FH, stride[0], pad[0]), output_size(W, FW, stride[1], pad[1])
    # channel-major padded image: then each tap's block below is a plain strided copy
    image = pad_image(x.transpose(1, 0, 2, 3), pad)
    col = np.empty((C, FH, FW, N, OH, OW), dtype=x.dtype)
    for i, j, window in window_taps(kernel, (OH, OW), stride):
        col[:, i, j] = image[window]
    return col.reshape(C * FH * FW, N * OH * OW)


def col2im(col, x_shape, kernel, stride=1, pad=0):
    """The adjoint of ``im2col``: add every column entry back onto the pixel it came from."""
    N, C, H, W = x_shape
    (FH, FW), stride, pad = kernel, pair(stride), pair(pad)
    OH, OW = output_size(H, FH, stride[0], pad[0]), output_size(W, FW, stride[1], pad[1])
    col = col.reshape(C, FH, FW, N, OH, OW)
    image = np.zeros((C, N, H + 2 * pad[0], W + 2 * pad[1]), dtype=col.dtype)
    for i, j, window in window_taps(kernel, (OH, OW), stride):
        image[window] += col[:, i, j]  # accumulate: windows overlap when stride < kernel
    return np.ascontiguousarray(crop(image, pad).transpose(1, 0, 2, 3))


class Convolution(Layer):
    """Cross-correlation (no kernel flip), as the book and ``nn.Conv2d``.

    W: (FN, C, FH, FW) filters; b: (FN,) biases, or None for a layer without bias.
    """

    def __init__(self, W, b, stride=1, pad=0):
        super().__init__()
        self.params = {"W": W} if b is None else {"W": W, "b": b}
        self.stride, self.pad = pair(stride), pair(pad)

    def forward(self, x):
        W = self.params["W"]
        FN, C, FH, FW = W.shape
        N, _, H, W_in = x.shape
        OH = output_size(H, FH, self.stride[0], self.pad[0])
        OW = output_size(W_in, FW, self.stride[1], self.pad[1])

        self.x_shape = x.shape
        self.col = im2col(x, (FH, FW), self.stride, self.pad)  # (C*FH*FW, N*OH*OW)
        out = W.reshape(FN, -1) @ self.col  # (FN, N*OH*OW): one GEMM for the whole batch
        if "b" in self.params:
            out += self.params["b"][:, None]
        # (N, FN, OH, OW) as a view, as the book returns it: elementwise layers after it
        # keep this memory order, and backward's reshape below is then free
        return out.reshape(FN, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        W = self.params["W"]
        FN = W.shape[0]
        dout = dout.transpose(1, 0, 2, 3).reshape(FN, -1)  # (FN, N*OH*OW); dout untouched

        # (col @ dout.T).T: the same product; this orientation ran ~15% faster in OpenBLAS
        self.grads["W"] = (self.col @ dout.T).T.reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=1)
        dcol = W.reshape(FN, -1).T @ dout
        return col2im(dcol, self.x_shape, W.shape[2:], self.stride, self.pad)


class _Pool(Layer):
    """What both poolings share: window size, stride (default: the window), padding."""

    def __init__(self, pool_h, pool_w, stride=None, pad=0):
        super().__init__()
        self.kernel = (pool_h, pool_w)
        self.stride = pair(self.kernel if stride is None else stride)
        self.pad = pair(pad)
        if any(2 * p > k for p, k in zip(self.pad, self.kernel, strict=True)):
            # as torch: a window could then lie in the padding only (max -inf, average 0/0)
            raise ValueError(f"pad {pad} must be at most half the window {self.kernel}")

    def taps(self, x_shape):
        H, W = x_shape[-2:]
        out_size = tuple(output_size(n, k, s, p) for n, k, s, p in
                         zip((H, W), self.kernel, self.stride, self.pad, strict=True))
        return window_taps(self.kernel, out_size, self.stride)


class Pooling(_Pool):
    """Max pooling.  Padding is -inf (it never wins a max), as ``nn.MaxPool2d``.

    A window with several equal maxima sends its gradient to the FIRST of them in
    row-major order, as torch's CPU kernel does (and the book's argmax).
    Not covered: windows whose maximum is -inf itself (torch then picks the first
    real pixel, this code may pick a padded one); NaN inputs.
    """

    def forward(self, x):
        self.x_shape = x.shape
        self.image = pad_image(x, self.pad, -np.inf)  # pad 0: x itself, no copy
        out = None
        for _, _, window in self.taps(x.shape):
            view = self.image[window]
            out = view.copy() if out is None else np.maximum(out, view, out=out)
        self.out = out
        return out

    def backward(self, dout):
        dimage = np.zeros_like(self.image)
        taken = np.zeros(self.out.shape, dtype=bool)  # window has met its maximum already
        for _, _, window in self.taps(self.x_shape):
            hit = self.image[window] == self.out
            first = hit > taken  # a hit in a window not yet taken: its FIRST maximum
            taken |= hit
            dimage[window] += dout * first  # (faster than np.where; 0 elsewhere)
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
        self.x_shape = x.shape
        if self.count_include_pad:
            self.count = self.kernel[0] * self.kernel[1]
        else:  # real pixels per window: the window sum of an image of ones
            self.count = self.window_sum(np.ones((1, 1) + x.shape[2:], dtype=x.dtype))
        return self.window_sum(x) / self.count

    def backward(self, dout):
        share = dout / self.count  # every pixel of a window gets an equal share
        H, W = self.x_shape[2:]
        (ph, pw) = self.pad
        dimage = np.zeros(self.x_shape[:2] + (H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
        for _, _, window in self.taps(self.x_shape):
            dimage[window] += share
        return np.ascontiguousarray(crop(dimage, self.pad))
