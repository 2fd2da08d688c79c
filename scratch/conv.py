"""Convolution and pooling (the book's ``Convolution``/``Pooling`` and its im2col/col2im).

The book lowers a convolution to ONE matrix product: im2col copies every window of
the (padded) image into a column, and the layer multiplies the flattened filters
by those columns.  im2col loops over kernel taps (i, j) -- never over images or
pixels -- and copies, for every window at once, the pixel that tap sees.  This
file keeps that code shape, with changes found by measuring (bench/train_step.py):

- the batch goes through in blocks of a few images, so that a block's columns
  (~2 MB) stay in cache; backward recomputes them instead of keeping the whole
  batch's columns (tens of MB, which page-fault on every call);
- the padded images are laid out channel-major and flattened, and a window is
  cornered at every padded column of the rows that hold windows: then what tap
  (i, j) sees is, per image, ONE contiguous run ``i*Wp + j`` pixels on (windows
  sticking out at the right edge are computed and dropped);
- every buffer takes the input's dtype (the book's im2col allocates float64, so
  float32 in came back float64);
- a network's first convolution may skip the input gradient (``input_grad=False``);
- pooling needs no columns: the max or sum over a window is taken tap by tap over
  strided views of the input.

Gradients flow back through the same taps: col2im (``add_grid_columns``) ADDS each
tap's block into the padded image gradient (windows overlap when stride < kernel).

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


BLOCK_BYTES = 2 ** 21  # columns per block of images: ~2 MB stays in cache (measured best
#                       at 1-2 MB; big temporaries also page-fault on every call)


def padded_grid(flat, n, grid_size):
    """The (C, n, Hp, Wp) padded images inside a ``channel_major`` buffer (a view)."""
    return flat[:, :n * grid_size[0] * grid_size[1]].reshape(flat.shape[0], n, *grid_size)


def channel_major(x, pad, tail):
    """(n, C, H, W) -> zero-padded (C, n*Hp*Wp + tail): per channel, the padded images one
    after another, flattened; ``tail`` more zeros keep every tap's slice below in bounds."""
    n, C, H, W = x.shape
    (ph, pw) = pad
    grid_size = (H + 2 * ph, W + 2 * pw)
    flat = np.zeros((C, n * grid_size[0] * grid_size[1] + tail), dtype=x.dtype)
    padded_grid(flat, n, grid_size)[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
    return flat


def tap_slices(flat, n, grid_size, rows, kernel):
    """Per kernel tap (i, j): what it sees from the windows whose top-left corners are
    the first ``rows`` rows (all Wp columns) of each of the n padded images in ``flat``.

    Tap (i, j) sits i*Wp + j pixels after a window's corner, so for one image that is
    ONE contiguous run of rows*Wp pixels: a view (C, n, rows*Wp) of ``flat``.  Windows
    cornered in the last FW-1 columns stick out of the image (their taps read on into
    the next row): the caller drops their outputs.
    """
    (FH, FW), (Hp, Wp) = kernel, grid_size
    for i in range(FH):
        for j in range(FW):
            start = i * Wp + j
            images = flat[:, start : start + n * Hp * Wp].reshape(flat.shape[0], n, Hp * Wp)
            yield i, j, images[:, :, :rows * Wp]


def grid_columns(flat, n, grid_size, rows, kernel):
    """The book's im2col for the windows of ``tap_slices``: (C*FH*FW, n*rows*Wp).
    Each tap's row block is a copy of contiguous runs, the cheapest copy there is."""
    col = np.empty((flat.shape[0], *kernel, n, rows * grid_size[1]), dtype=flat.dtype)
    for i, j, seen in tap_slices(flat, n, grid_size, rows, kernel):
        col[:, i, j] = seen
    return col.reshape(-1, n * rows * grid_size[1])


def add_grid_columns(dflat, dcol, n, grid_size, rows, kernel):
    """The adjoint of ``grid_columns``: ADD every column entry back onto its pixel
    (windows overlap, so a pixel gathers from several taps)."""
    dcol = dcol.reshape(dflat.shape[0], *kernel, n, rows * grid_size[1])
    for i, j, seen in tap_slices(dflat, n, grid_size, rows, kernel):
        seen += dcol[:, i, j]  # a view: adds into dflat


class Convolution(Layer):
    """Cross-correlation (no kernel flip), as the book and ``nn.Conv2d``.

    W: (FN, C, FH, FW) filters; b: (FN,) biases, or None for a layer without bias.
    ``input_grad=False`` skips dx: backward then returns None (a network's first
    layer, whose input is the data, needs no gradient).

    The batch goes through in blocks of ``chunk`` images (default: as many as have
    ``BLOCK_BYTES`` of columns, at least one).  Per block: the padded
    images channel-major, the columns of the windows cornered in every padded column
    of the rows that hold a window (``grid_columns``), ONE matrix product with the
    flattened filters, then the outputs of the real windows are kept.  Backward
    recomputes the block's columns instead of storing them for the whole batch.
    (With stride s the product also computes windows the stride skips.)
    """

    def __init__(self, W, b, stride=1, pad=0, input_grad=True, chunk=None):
        super().__init__()
        self.params = {"W": W} if b is None else {"W": W, "b": b}
        self.stride, self.pad = pair(stride), pair(pad)
        self.input_grad, self.chunk = input_grad, chunk

    def blocks(self, N):
        """(first, end) image of each block."""
        chunk = self.chunk
        if chunk is None:
            col_bytes = self.params["W"][0].nbytes * self.rows * self.grid_size[1]
            chunk = max(1, BLOCK_BYTES // col_bytes)
        for n0 in range(0, N, chunk):
            yield n0, min(n0 + chunk, N)

    def block_columns(self, x):
        """A block of images (n, C, H, W) -> its channel-major padded buffer, its columns."""
        FH, FW = kernel = self.params["W"].shape[2:]
        Wp = self.grid_size[1]
        # the last window's last tap reaches (FH-1)*Wp + FW-1 pixels past the images
        flat = channel_major(x, self.pad, tail=(FH - 1) * Wp + FW - 1)
        return flat, grid_columns(flat, len(x), self.grid_size, self.rows, kernel)

    def kept(self, grid):
        """(..., rows, Wp) outputs of every window corner -> (..., OH, OW) of the real ones."""
        (sh, sw), OW = self.stride, self.out_size[1]
        return grid[..., ::sh, :OW * sw:sw]

    def forward(self, x):
        W = self.params["W"]
        FN, C, FH, FW = W.shape
        N, _, H, W_in = x.shape
        (ph, pw), (sh, sw) = self.pad, self.stride
        self.x = x
        self.grid_size = (H + 2 * ph, W_in + 2 * pw)
        self.out_size = OH, _ = (output_size(H, FH, sh, ph), output_size(W_in, FW, sw, pw))
        self.rows = (OH - 1) * sh + 1  # rows holding window corners, from the top
        out = np.empty((N, FN, *self.out_size), dtype=x.dtype)
        for n0, n1 in self.blocks(N):
            _, col = self.block_columns(x[n0:n1])
            grid = (W.reshape(FN, -1) @ col).reshape(FN, n1 - n0, self.rows, -1)
            out[n0:n1] = self.kept(grid).transpose(1, 0, 2, 3)
        if "b" in self.params:
            out += self.params["b"][:, None, None]
        return out

    def backward(self, dout):
        W = self.params["W"]
        FN, kernel = W.shape[0], W.shape[2:]
        W_mat = W.reshape(FN, -1)
        dW = np.zeros_like(W_mat)
        dx = np.empty_like(self.x) if self.input_grad else None
        for n0, n1 in self.blocks(len(dout)):
            n = n1 - n0
            # the output gradient on the grid of window corners: 0 at the dropped ones
            dgrid = np.zeros((FN, n, self.rows, self.grid_size[1]), dtype=dout.dtype)
            self.kept(dgrid)[...] = dout[n0:n1].transpose(1, 0, 2, 3)
            dgrid = dgrid.reshape(FN, -1)
            flat, col = self.block_columns(self.x[n0:n1])
            # (col @ dgrid.T).T: the same product; this orientation ran faster in OpenBLAS
            dW += (col @ dgrid.T).T
            if self.input_grad:
                dflat = np.zeros_like(flat)
                add_grid_columns(dflat, W_mat.T @ dgrid, n, self.grid_size, self.rows, kernel)
                dx[n0:n1] = crop(padded_grid(dflat, n, self.grid_size), self.pad).transpose(
                    1, 0, 2, 3)
        self.grads["W"] = dW.reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=(0, 2, 3))
        return dx


class _Pool(Layer):
    """What both poolings share: window size, stride (default: the window), padding."""

    def __init__(self, pool_h, pool_w, stride=None, pad=0):
        super().__init__()
        self.kernel = (pool_h, pool_w)
        self.stride = pair(self.kernel if stride is None else stride)
        self.pad = pair(pad)
        self.overlapping = any(s < k for s, k in zip(self.stride, self.kernel, strict=True))
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
