"""Winograd F(2x2, 3x3): a 3x3, stride-1 convolution with fewer multiplications.

``WinogradConvolution`` is ``scratch.conv_fast.FastConvolution`` (same constructor,
same blocks of images shared over the same threads, same results to rounding) with
another way to compute each block.  The padded image is cut into 4x4 tiles that
overlap by two pixels (tile (t, u) starts at row 2t, column 2u); a tile holds the
four 3x3 windows of a 2x2 block of outputs.  Per tile (Lavin & Gray 2015):

    Y = A^T [ (G g G^T) * (B^T d B) ] A        (* elementwise, 4x4)

for a filter g (3x3) and a tile d (4x4).  ``U = G g G^T`` is computed once per filter
and channel, ``V = B^T d B`` once per tile and channel; the sum over input channels
of U * V is then, per position (a, b) of the 4x4, ONE matrix product (FN, C) @ (C,
tiles) -- 16 products over a quarter of the windows: 16 multiplications per four
outputs where the columns' product has 36.  The transforms are adds and subtracts
(every entry of B^T and A^T is 0, 1 or -1), done on strided views of whole blocks.

Backward:

- dW: the adjoint of each step.  ``dM = A dY A^T`` per tile of output gradients,
  ``dU = dM @ V^T`` per position (V recomputed, as FastConvolution recomputes its
  columns), ``dW = G^T dU G``.
- dx: with stride 1 the input gradient is a cross-correlation of the output gradient,
  padded by 2 - pad, with the filters turned 180 degrees and their channel axes
  swapped (as ``FastConvolution.transposed``) -- itself a 3x3, stride-1 correlation,
  so it runs through the same Winograd forward.

Rounding: the transforms add up to 4 tile values (V) and 9 products (Y) and halve
(G), so float32
results differ from the columns' product by more than assert_close's float32
tolerance near a large input; ``parity.engine.tolerances`` names the bound
("winograd-float32").  Float64 agrees to rounding.

Odd output sizes: the tiles cover one row or column more, the padded grid gets
zeros there, and the extra outputs are dropped.  Other kernels, strides or padding
beyond 2 run FastConvolution's code.

Which layers use it is the network's choice, per pass (attributes, as
FastConvolution's speed settings): ``winograd_forward`` and ``winograd_backward``
(default True).  Not yet timed (the machine was busy with a mutation campaign while
this was written), so no network uses it yet.  Counted, not measured, at DeepConvNet's
layers (batch 100): the products need 2.5-2.8x fewer FLOPs than FastConvolution's
(which also computes the windows cornered in the padding columns), but the transforms
write 1.2-1.6x the bytes of its columns (4.6x for the 1 -> 16 first layer, whose
columns are tiny): expect gains where the products dominate (32 and 64 channels), a
loss on the first layer.
"""

from dataclasses import dataclass

import numpy as np

from scratch.checks import check_dout
from scratch.conv_fast import FastConvolution, Lowering
from scratch.parallel import buffer, map_parts, workspace

BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])  # tile transform
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])  # filter transform
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])  # output transform


def combine(row, terms, out):
    """``out = sum(row[k] * terms[k])`` for a row of 0, 1, -1 (zeros skipped): adds and
    subtracts of whole arrays, never a multiplication.  Returns ``out``."""
    used = [(row[k], terms[k]) for k in np.flatnonzero(row)]
    if any(abs(c) != 1 for c, _ in used):
        raise ValueError(f"combine: coefficients must be 0, 1 or -1, got {list(row)}")
    used.sort(key=lambda ct: -ct[0])  # a +1 first where there is one
    (sign, first), rest = used[0], used[1:]
    if not rest:
        return np.multiply(first, sign, out=out)
    # out = sign * (first + sum((c / sign) * t)): sign is -1 only when every c is
    (c, t), rest = rest[0], rest[1:]
    (np.add if c == sign else np.subtract)(first, t, out=out)
    for c, t in rest:
        (np.add if c == sign else np.subtract)(out, t, out=out)
    if sign == -1:
        np.negative(out, out=out)
    return out


def filter_transform(W):
    """Filters (FN, C, 3, 3) -> U (16, FN, C): ``G g G^T`` per filter and channel, the
    4x4 positions first (one matrix per position)."""
    U = np.matmul(np.matmul(G.astype(W.dtype), W), G.T.astype(W.dtype))  # (FN, C, 4, 4)
    return np.ascontiguousarray(U.transpose(2, 3, 0, 1)).reshape(16, *W.shape[:2])


def filter_gradient(dU):
    """The adjoint of ``filter_transform``: dU (16, FN, C) -> dW (FN, C, 3, 3)."""
    dU = dU.reshape(4, 4, *dU.shape[1:]).transpose(2, 3, 0, 1)  # (FN, C, 4, 4)
    return np.matmul(np.matmul(G.T.astype(dU.dtype), dU), G.astype(dU.dtype))


@dataclass(frozen=True)
class Tiling:
    """Where the 4x4 tiles of one 3x3, stride-1 convolution lie on its padded images."""

    image: tuple  # (H, W)
    pad: tuple  # (ph, pw)
    out_size: tuple  # (OH, OW)
    tiles: tuple  # (TH, TW): tiles per column and per row, ceil(out / 2)

    @classmethod
    def of(cls, image, pad):
        (H, W), (ph, pw) = image, pad
        OH, OW = H + 2 * ph - 2, W + 2 * pw - 2
        return cls((H, W), (ph, pw), (OH, OW), ((OH + 1) // 2, (OW + 1) // 2))

    def transformed(self, x):
        """A block of images (n, C, H, W) -> V (16, C, n*TH*TW): ``B^T d B`` of every tile,
        in this thread's buffer.  Rows first (on tile rows 2t..2t+3 of the whole padded
        grid), then columns."""
        n, C = x.shape[:2]
        (H, W), (ph, pw), (TH, TW) = self.image, self.pad, self.tiles
        # zero padding and, for an odd output size, one more row/column of zeros; the
        # name holds what decides where the images are written (the rest stays zero)
        grid = buffer(("winograd grid", self.image, self.pad), (C, n, 2 * TH + 2, 2 * TW + 2),
                      x.dtype)
        grid[:, :, ph:ph + H, pw:pw + W] = x.transpose(1, 0, 2, 3)
        rows = workspace("winograd rows", (4, C, n, TH, 2 * TW + 2), x.dtype)
        tile_rows = [grid[:, :, r:r + 2 * TH:2] for r in range(4)]
        for a in range(4):
            combine(BT[a], tile_rows, rows[a])
        V = workspace("winograd V", (4, 4, C, n, TH, TW), x.dtype)
        for a in range(4):
            tile_columns = [rows[a][..., s:s + 2 * TW:2] for s in range(4)]
            for b in range(4):
                combine(BT[b], tile_columns, V[a, b])
        return V.reshape(16, C, n * TH * TW)

    def correlate(self, x, U, out):
        """``out`` (n, FN, OH, OW) = the block ``x`` (n, C, H, W) cross-correlated with the
        filters whose transform is ``U`` (16, FN, C): tiles, 16 products, back to outputs."""
        n, FN, (TH, TW), (OH, OW) = len(x), U.shape[1], self.tiles, self.out_size
        V = self.transformed(x)
        M = np.matmul(U, V, out=workspace("winograd M", (16, FN, V.shape[2]), x.dtype))
        M = M.reshape(4, 4, FN, n, TH, TW)
        half = workspace("winograd half", (2, 4, FN, n, TH, TW), x.dtype)
        for i in range(2):
            combine(AT[i], M, half[i])
        Y = workspace("winograd Y", (FN, n, TH, 2, TW, 2), x.dtype)
        for i in range(2):
            for j in range(2):
                combine(AT[j], half[i], Y[:, :, :, i, :, j])
        out[...] = Y.reshape(FN, n, 2 * TH, 2 * TW)[:, :, :OH, :OW].transpose(1, 0, 2, 3)

    def output_gradient(self, dout):
        """A block's output gradient (n, FN, OH, OW) -> dM (16, FN, n*TH*TW): ``A dY A^T``
        per tile, the adjoint of ``correlate``'s output transform."""
        n, FN = dout.shape[:2]
        (TH, TW), (OH, OW) = self.tiles, self.out_size
        dY = buffer(("winograd dY", self.out_size), (FN, n, 2 * TH, 2 * TW), dout.dtype)
        dY[:, :, :OH, :OW] = dout.transpose(1, 0, 2, 3)  # dropped outputs: 0
        dY = dY.reshape(FN, n, TH, 2, TW, 2)
        half = workspace("winograd dhalf", (4, FN, n, TH, TW, 2), dout.dtype)
        for a in range(4):
            combine(AT[:, a], [dY[:, :, :, i] for i in range(2)], half[a])
        dM = workspace("winograd dM", (4, 4, FN, n, TH, TW), dout.dtype)
        for a in range(4):
            for b in range(4):
                combine(AT[:, b], [half[a][..., j] for j in range(2)], dM[a, b])
        return dM.reshape(16, FN, n * TH * TW)


def applies(layer):
    """Winograd F(2x2, 3x3) covers this layer: 3x3 filters, stride 1, padding at most 2
    (the input gradient's correlation pads by 2 - pad)."""
    return (layer.params["W"].shape[2:] == (3, 3) and layer.stride == (1, 1)
            and max(layer.pad) <= 2)


class WinogradConvolution(FastConvolution):
    """``FastConvolution`` whose 3x3, stride-1 blocks go through Winograd F(2x2, 3x3)
    (module docstring).  Any other setting runs FastConvolution's code."""

    winograd_forward = True  # forward by Winograd (where it applies)
    winograd_backward = True  # dW and dx by Winograd (where it applies)

    def forward(self, x):
        if not (self.winograd_forward and applies(self)):
            return super().forward(x)
        self.checked_output_shape(x)
        W = self.params["W"]
        self.x = x
        # FastConvolution's backward and block sizes read the lowering
        self.lowering = Lowering.of(x.shape[2:], W.shape[2:], self.stride, self.pad)
        tiling = Tiling.of(x.shape[2:], self.pad)
        U = filter_transform(W)
        out = np.empty(self.out_shape, dtype=x.dtype)

        def run(blocks):  # one thread's blocks
            for n0, n1 in blocks:
                tiling.correlate(x[n0:n1], U, out[n0:n1])

        map_parts(run, self.blocks(len(x)))
        if "b" in self.params:
            out += self.params["b"][:, None, None]
        return out

    def backward(self, dout):
        if not (self.winograd_backward and applies(self)):
            return super().backward(dout)
        check_dout("WinogradConvolution.backward", dout, self.out_shape, unit="image")
        W = self.params["W"]
        (ph, pw) = self.pad
        tiling = Tiling.of(self.x.shape[2:], self.pad)
        dx = np.empty_like(self.x) if self.input_grad else None
        if self.input_grad:  # dx: dout padded by 2 - pad, correlated with turned filters
            back = Tiling.of(tiling.out_size, (2 - ph, 2 - pw))
            turned = filter_transform(W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))

        def run(blocks):  # one thread's blocks -> its part of dU
            dU = np.zeros((16, *W.shape[:2]), dtype=dout.dtype)
            for n0, n1 in blocks:
                dM = tiling.output_gradient(dout[n0:n1])
                V = tiling.transformed(self.x[n0:n1])
                dU += np.matmul(dM, V.transpose(0, 2, 1),
                                out=workspace("winograd dU", dU.shape, dout.dtype))
                if self.input_grad:  # (after dU: V's buffer is reused)
                    back.correlate(dout[n0:n1], turned, dx[n0:n1])
            return dU

        self.grads["W"] = filter_gradient(sum(map_parts(run, self.blocks(len(dout)))))
        if "b" in self.params:
            self.grads["b"] = dout.sum(axis=(0, 2, 3))
        return dx
