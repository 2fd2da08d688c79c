"""The convolution and max pooling the networks run: ``scratch.conv``'s, computed faster.

``FastConvolution`` has the book-shaped layer's constructor and results (the registry
requires them to agree to rounding on every convolution setting, and both to match
``nn.Conv2d``); only the way the one matrix product is fed changes.  Found by
measuring (the speed report, ``python -m reports --sections speed``):

- the batch goes through in blocks of a few images, so that a block's columns
  (~2 MB) stay in cache; backward recomputes them instead of keeping the whole
  batch's columns (tens of MB, which page-fault on every call);
- the padded images are laid out channel-major and flattened, and a window is
  cornered at every padded column of the rows that hold windows: then what tap
  (i, j) sees is, per image, ONE contiguous run ``i*Wp + j`` pixels on (windows
  sticking out at the right edge are computed and dropped), and all the taps are one
  strided view of the buffer, copied into the columns in one call (``taps``);
- a network's first convolution skips the input gradient nobody uses;
- every buffer a block needs is kept across calls, one per thread (a fresh large
  array per block page-faults, and threads of a network that splits its batch,
  ``scratch.network``, queue on page faults).

Tried and measured slower, so not here: only the real windows' columns (runs of OW
pixels: the copy took 2-3x as long as the products saved); the bias added while the
outputs are copied out (the step 2-4% slower); Winograd F(2x2, 3x3) for the 3x3, stride-1
layers (issue #14; a ``FastConvolution`` subclass with the same blocks and threads, forward,
dW by the adjoint, dx through the turned filters; git tag ``winograd-tried``).
At DeepConvNet's six layers, batch 100, float32, 1 thread, forward / backward it took
1.3-1.9x FastConvolution's time (10x / 4x on the 1 -> 16 first layer), more at 2 threads;
the training step 431 ms against 249 (1 thread).  The 16 per-position products need
2.5-2.8x fewer FLOPs but, with inner dimension C <= 64, run at ~35 GFLOP/s where this
layer's one product runs at ~75 (64 -> 64 on 8x8: the products alone 6.1 ms, this whole
forward 7.9), and the tile transforms (strided adds, ~1.2-1.6x this layer's column
bytes) come on top.

Gradients flow back through the same taps: ``add_grid_columns`` (col2im) ADDS each
tap's block into the padded image gradient (windows overlap when stride < kernel).

Two speed settings are attributes, not constructor arguments (the constructor is
the book's, so either class can be swapped for the other):

``input_grad`` (default True)
    False: ``backward`` skips dx and returns None.  A network sets it on its first
    convolution after building it (``layer.input_grad = False``), whose input is the
    data: training never needs that gradient (the book's ``gradient`` returns
    parameter gradients only), and skipping it saves one of the layer's two backward
    products and the scatter of its columns.
``chunk`` (default None)
    Images per block; None: as many as have ``BLOCK_BYTES`` of columns, at least one.

(Until issue #14's last step the blocks were also shared out over threads here; a
network now splits its whole run of per-sample layers instead, ``scratch.network``.)
"""

from dataclasses import dataclass

import numpy as np

from scratch.checks import check_dout
from scratch.conv import Convolution, Pooling, crop, output_shape, pad_image
from scratch.parallel import buffer, workspace

BLOCK_BYTES = 2 ** 21  # columns per block of images: ~2 MB stays in cache (measured best
#                       at 1-2 MB; big temporaries also page-fault on every call)


def padded_grid(flat, n, grid_size):
    """The (C, n, Hp, Wp) padded images inside a ``channel_major`` buffer (a view)."""
    return flat[:, :n * grid_size[0] * grid_size[1]].reshape(flat.shape[0], n, *grid_size)


def channel_major(x, pad, tail):
    """(n, C, H, W) -> zero-padded (C, n*Hp*Wp + tail): per channel, the padded images one
    after another, flattened; ``tail`` more zeros keep every tap's slice below in bounds.
    This thread's buffer: only the images are written, padding and tail stay zero."""
    n, C, H, W = x.shape
    (ph, pw) = pad
    grid_size = (H + 2 * ph, W + 2 * pw)
    flat = buffer(("padded", pad, tail), (C, n * grid_size[0] * grid_size[1] + tail), x.dtype)
    padded_grid(flat, n, grid_size)[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
    return flat


def taps(flat, n, grid_size, rows, kernel):
    """What every kernel tap (i, j) sees from the windows whose top-left corners are the
    first ``rows`` rows (all Wp columns) of each of the n padded images in ``flat``:
    a view (C, FH, FW, n, rows*Wp) of ``flat``.

    Tap (i, j) sits i*Wp + j pixels after a window's corner, so for one image that is
    ONE contiguous run of rows*Wp pixels: the view only sets strides, i by a padded
    row, j by a pixel, an image by a padded image.  Windows cornered in the last FW-1
    columns stick out of the image (their taps read on into the next row): the caller
    drops their outputs.  The taps overlap in ``flat``: read the view whole, but write
    through it one tap at a time (``add_grid_columns``).
    """
    (FH, FW), (Hp, Wp) = kernel, grid_size
    needed = (FH - 1) * Wp + FW - 1 + (n - 1) * Hp * Wp + rows * Wp  # pixels a channel
    if needed > flat.shape[1]:  # as_strided checks nothing: never read past flat
        raise ValueError(f"taps: the windows need {needed} pixels a channel, the buffer has "
                         f"{flat.shape[1]}")
    channel, pixel = flat.strides
    return np.lib.stride_tricks.as_strided(
        flat, (flat.shape[0], FH, FW, n, rows * Wp),
        (channel, Wp * pixel, pixel, Hp * Wp * pixel, pixel))


def grid_columns(flat, n, grid_size, rows, kernel):
    """The book's im2col for the windows of ``taps``: (C*FH*FW, n*rows*Wp), in this
    thread's buffer, copied in ONE call.  A call per tap, as before, took each training
    step 3-11% longer at 2 threads (LeNet-5's 25 taps: 16%), 3% at 1: every call also
    takes Python's lock, which the threads of a split network share."""
    seen = taps(flat, n, grid_size, rows, kernel)
    col = workspace("columns", seen.shape, flat.dtype)
    col[...] = seen
    return col.reshape(-1, n * rows * grid_size[1])


def add_grid_columns(dflat, dcol, n, grid_size, rows, kernel):
    """The adjoint of ``grid_columns``: ADD every column entry back onto its pixel
    (windows overlap, so a pixel gathers from several taps: one tap at a time)."""
    seen = taps(dflat, n, grid_size, rows, kernel)
    dcol = dcol.reshape(seen.shape)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            seen[:, i, j] += dcol[:, i, j]  # a view: adds into dflat


@dataclass(frozen=True)
class Lowering:
    """Where the windows of one convolution lie on the padded grid of its images.

    ``rows`` rows of corners from the top (every padded column of each): the windows
    ``taps`` reads; ``kept`` picks the real ones (stride, right edge) out of them.
    """

    kernel: tuple  # (FH, FW)
    stride: tuple  # (sh, sw)
    pad: tuple  # (ph, pw)
    grid_size: tuple  # (Hp, Wp): an image padded
    out_size: tuple  # (OH, OW)
    rows: int

    @classmethod
    def of(cls, image, kernel, stride, pad):
        out_size = output_shape(image, kernel, stride, pad)
        grid_size = (image[0] + 2 * pad[0], image[1] + 2 * pad[1])
        return cls(tuple(kernel), stride, pad, grid_size, out_size,
                   rows=(out_size[0] - 1) * stride[0] + 1)

    def columns(self, x):
        """A block of images (n, C, H, W) -> its channel-major padded buffer, its columns."""
        (FH, FW), Wp = self.kernel, self.grid_size[1]
        # the last window's last tap reaches (FH-1)*Wp + FW-1 pixels past the images
        flat = channel_major(x, self.pad, tail=(FH - 1) * Wp + FW - 1)
        return flat, grid_columns(flat, len(x), self.grid_size, self.rows, self.kernel)

    def kept(self, grid):
        """(..., rows, Wp) outputs of every window corner -> (..., OH, OW) of the real ones."""
        (sh, sw), OW = self.stride, self.out_size[1]
        return grid[..., ::sh, :OW * sw:sw]

    def correlate(self, x, W_mat, out):
        """``out`` (n, FN, OH, OW) = the block ``x`` (n, C, H, W) cross-correlated with the
        flattened filters ``W_mat`` (FN, C*FH*FW): its columns, ONE product, the kept."""
        _, col = self.columns(x)
        grid = np.matmul(W_mat, col, out=workspace("grid", (len(W_mat), col.shape[1]), x.dtype))
        out[...] = self.kept(grid.reshape(len(W_mat), len(x), self.rows, -1)).transpose(
            1, 0, 2, 3)


class FastConvolution(Convolution):
    """``Convolution`` in blocks of images over a padded grid (see the module docstring).

    Per block: the padded images channel-major, the columns of the windows cornered
    in every padded column of the rows that hold a window (``grid_columns``), ONE
    matrix product with the flattened filters, then the outputs of the real windows
    are kept (``Lowering``).  Backward recomputes the block's columns instead of
    storing them for the whole batch.  (With stride s the product also computes
    windows the stride skips.)

    With stride 1 the input gradient is itself a cross-correlation: of the output
    gradient, padded by FH-1-ph (FW-1-pw), with the filters turned 180 degrees and
    their two channel axes swapped.  Backward computes it that way -- columns and one
    product, like forward -- instead of the column gradient and col2im's overlapping
    ADDs (measured at batch 100, float32, one thread: 1.1-1.25x faster backward for
    DeepConvNet's 3x3 layers with as many output channels as input ones).  Other strides,
    padding beyond FH-1, or more columns than col2im adds take col2im
    (``add_grid_columns``; see ``transposed``).
    """

    input_grad = True  # a network sets False on its first convolution
    chunk = None  # images per block; None: BLOCK_BYTES of columns

    def blocks(self, N):
        """The (first, end) image of each block."""
        chunk = self.chunk
        if chunk is None:
            lowering = self.lowering
            col_bytes = self.params["W"][0].nbytes * lowering.rows * lowering.grid_size[1]
            chunk = max(1, BLOCK_BYTES // col_bytes)
        return [(n0, min(n0 + chunk, N)) for n0 in range(0, N, chunk)]

    def forward(self, x):
        self.checked_output_shape(x)
        W = self.params["W"]
        self.x = x
        self.lowering = Lowering.of(x.shape[2:], W.shape[2:], self.stride, self.pad)
        W_mat = W.reshape(len(W), -1)
        out = np.empty(self.out_shape, dtype=x.dtype)
        for n0, n1 in self.blocks(len(x)):
            self.lowering.correlate(x[n0:n1], W_mat, out[n0:n1])
        if "b" in self.params:
            out += self.params["b"][:, None, None]
        return out

    def transposed(self):
        """(Lowering, flattened filters) of dx as a cross-correlation of dout, or None
        where col2im is the cheaper or the only way: stride > 1, padding beyond FH-1 or
        FW-1, or more columns to copy than col2im has to add (more output channels than
        input ones, or a grid padded wider: measured 1.7-3x slower then, e.g. LeNet-5's
        6 -> 16, 5x5 layer)."""
        W, (ph, pw), here = self.params["W"], self.pad, self.lowering
        FN, C, FH, FW = W.shape
        if self.stride != (1, 1) or ph > FH - 1 or pw > FW - 1:
            return None
        lowering = Lowering.of(here.out_size, (FH, FW), (1, 1), (FH - 1 - ph, FW - 1 - pw))
        if FN * lowering.rows * lowering.grid_size[1] > C * here.rows * here.grid_size[1]:
            return None
        turned = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, FN, FH, FW)
        return lowering, np.ascontiguousarray(turned).reshape(C, -1)

    def backward(self, dout):
        check_dout("FastConvolution.backward", dout, self.out_shape, unit="image")
        W, lowering = self.params["W"], self.lowering
        FN, kernel = W.shape[0], W.shape[2:]
        W_mat = W.reshape(FN, -1)
        dx = np.empty_like(self.x) if self.input_grad else None
        transposed = self.transposed() if self.input_grad else None
        dW_T = np.zeros(W_mat.shape[::-1], dtype=dout.dtype)  # dW as (C*FH*FW, FN)
        for n0, n1 in self.blocks(len(dout)):
            n = n1 - n0
            # the output gradient on the grid of window corners: 0 at the dropped
            # ones (never written: the buffer's name holds what decides the kept ones)
            dgrid = buffer(("corner gradient", lowering.stride, lowering.out_size),
                           (FN, n, lowering.rows, lowering.grid_size[1]), dout.dtype)
            lowering.kept(dgrid)[...] = dout[n0:n1].transpose(1, 0, 2, 3)
            dgrid = dgrid.reshape(FN, -1)
            flat, col = lowering.columns(self.x[n0:n1])
            # col @ dgrid.T: dW transposed; this orientation ran faster in OpenBLAS
            dW_T += np.matmul(col, dgrid.T, out=workspace("dW_T", dW_T.shape, dout.dtype))
            if transposed is not None:  # (after dW: the columns' buffer is reused)
                transposed[0].correlate(dout[n0:n1], transposed[1], dx[n0:n1])
            elif self.input_grad:
                dcol = np.matmul(W_mat.T, dgrid, out=workspace("dcol", col.shape, dout.dtype))
                dflat = workspace("dpadded", flat.shape, dout.dtype)
                dflat.fill(0)  # add_grid_columns accumulates
                add_grid_columns(dflat, dcol, n, lowering.grid_size, lowering.rows, kernel)
                dx[n0:n1] = crop(padded_grid(dflat, n, lowering.grid_size),
                                 self.pad).transpose(1, 0, 2, 3)
        self.grads["W"] = dW_T.T.reshape(W.shape)
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=(0, 2, 3))
        return dx


class FastPooling(Pooling):
    """``Pooling`` (max) that remembers which tap won each window.

    Forward copies the window taps side by side into one contiguous array (SIMD
    compares on strided views are 5-10x slower) and keeps, per window, the index of
    the tap holding its first maximum -- one byte per output instead of the padded
    image.  Backward then writes each window's gradient straight to its winner,
    without comparing the image with the maxima again.  Measured at SimpleConvNet's
    pooling (100x30x24x24, float32): forward + backward 2.8 ms, the reference 6.2.

    A tap wins only where it is strictly greater than the maximum so far, so a tie
    keeps the earlier tap: the reference's first maximum in row-major order.
    """

    def forward(self, x):
        self.check_input(x)
        self.x_shape = x.shape
        image = pad_image(x, self.pad, -np.inf)  # pad 0: x itself, no copy
        views = [image[window] for _, _, window in self.taps(x.shape)]
        taps = np.empty((len(views), *views[0].shape), dtype=x.dtype)
        for k, view in enumerate(views):
            taps[k] = view
        out = taps[0].copy()
        winner = np.zeros(out.shape, dtype=np.min_scalar_type(len(taps) - 1))
        for k in range(1, len(taps)):
            # k is above every earlier winner: the maximum sets it where tap k wins
            np.maximum(winner, (taps[k] > out) * winner.dtype.type(k), out=winner)
            np.maximum(out, taps[k], out=out)
        self.winner = winner
        return out

    def backward(self, dout):
        check_dout("FastPooling.backward", dout, self.out_shape, unit="image")
        H, W = self.x_shape[2:]
        (ph, pw) = self.pad
        dimage = np.zeros(self.x_shape[:2] + (H + 2 * ph, W + 2 * pw), dtype=dout.dtype)
        for k, (_, _, window) in enumerate(self.taps(self.x_shape)):
            won = self.winner == k
            if self.overlapping:
                dimage[window] += dout * won
            else:  # every pixel in one window at most: write, no temporary
                np.multiply(dout, won, out=dimage[window])
        return np.ascontiguousarray(crop(dimage, self.pad))
