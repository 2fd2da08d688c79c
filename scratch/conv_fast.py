"""The convolution the networks run: ``scratch.conv.Convolution``, computed faster.

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
  sticking out at the right edge are computed and dropped);
- a network's first convolution skips the input gradient nobody uses.

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
"""

import numpy as np

from scratch.checks import check_dout
from scratch.conv import Convolution, crop, output_shape

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


class FastConvolution(Convolution):
    """``Convolution`` in blocks of images over a padded grid (see the module docstring).

    Per block: the padded images channel-major, the columns of the windows cornered
    in every padded column of the rows that hold a window (``grid_columns``), ONE
    matrix product with the flattened filters, then the outputs of the real windows
    are kept.  Backward recomputes the block's columns instead of storing them for the
    whole batch.  (With stride s the product also computes windows the stride skips.)
    """

    input_grad = True  # a network sets False on its first convolution
    chunk = None  # images per block; None: BLOCK_BYTES of columns

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
        self.checked_output_shape(x)
        W = self.params["W"]
        FN, C, FH, FW = W.shape
        N, _, H, W_in = x.shape
        (ph, pw), sh = self.pad, self.stride[0]
        self.x = x
        self.grid_size = (H + 2 * ph, W_in + 2 * pw)
        self.out_size = OH, _ = output_shape((H, W_in), (FH, FW), self.stride, self.pad)
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
        check_dout("FastConvolution.backward", dout, self.out_shape, unit="image")
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
