"""Data augmentation for MNIST batches in NumPy: shift, pad + crop, flip, rotation, noise.

Every random choice comes in a *plan* (``parity.experiments.augment_plan.AugmentPlan``: plain
NumPy fields, read here by name), so the same plan can be applied by the torch
twin.  Images are (N, C, H, W) float arrays; the result has the input's shape and
dtype and the input is never written into.

Coordinates follow torchvision: pixel (row i, column j) has its centre at (i, j),
the image centre is ((H - 1) / 2, (W - 1) / 2), and outside the image is 0.
"""

import numpy as np


def pad(x, p):
    """Zero border of ``p`` pixels on each side of the last two axes."""
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)])


def crop(x, offsets, height, width):
    """Per image n, the height x width window whose top-left corner is offsets[n]."""
    return np.stack([img[..., top:top + height, left:left + width]
                     for img, (top, left) in zip(x, offsets, strict=True)])


def shift(x, offsets):
    """Move image n by offsets[n] = (dx, dy) pixels (right/down), zero fill.

    A shift is a crop of the zero-padded image: the window starts dy rows above
    and dx columns left of where the original image sits in the padding.
    """
    m = int(np.abs(offsets).max(initial=0))
    H, W = x.shape[-2:]
    return crop(pad(x, m), m - offsets[:, ::-1], H, W)


def horizontal_flip(x, flags):
    """Mirror left <-> right the images whose flag is set."""
    return np.where(flags[:, None, None, None], x[..., ::-1], x)


def _read(img, rows, cols):
    """img[:, rows, cols] for integer index arrays, 0 where they fall outside."""
    H, W = img.shape[-2:]
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
    return np.where(inside, img[:, rows.clip(0, H - 1), cols.clip(0, W - 1)], 0)


def sample_nearest(img, rows, cols):
    # np.rint rounds halves to even, as grid_sample's nearbyint
    return _read(img, np.rint(rows).astype(np.int64), np.rint(cols).astype(np.int64))


def sample_bilinear(img, rows, cols):
    """Weighted mean of the four pixels around each (row, col) point."""
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    return ((1 - fr) * (1 - fc) * _read(img, r0, c0) + (1 - fr) * fc * _read(img, r0, c0 + 1)
            + fr * (1 - fc) * _read(img, r0 + 1, c0) + fr * fc * _read(img, r0 + 1, c0 + 1))


SAMPLERS = {"nearest": sample_nearest, "bilinear": sample_bilinear}


def rotate_image(img, angle, interpolation="bilinear"):
    """Rotate one (C, H, W) image by ``angle`` degrees counter-clockwise about its centre.

    Each output pixel reads the input at the inversely rotated position
    (``torchvision``'s inverse affine matrix for ``rotate``).
    """
    H, W = img.shape[-2:]
    theta = np.deg2rad(angle)
    x = np.arange(W) - (W - 1) / 2  # output pixel centres relative to the image centre
    y = (np.arange(H) - (H - 1) / 2)[:, None]
    cols = np.cos(theta) * x - np.sin(theta) * y + (W - 1) / 2
    rows = np.sin(theta) * x + np.cos(theta) * y + (H - 1) / 2
    return SAMPLERS[interpolation](img, rows, cols).astype(img.dtype)


def rotate(x, angles, interpolation="bilinear"):
    return np.stack([rotate_image(img, a, interpolation)
                     for img, a in zip(x, angles, strict=True)])


def add_noise(x, noise):
    """x + noise, clipped back to the pixel range [0, 1]."""
    return np.clip(x + noise.astype(x.dtype), 0, 1)


def augment_batch(x, plan):
    """Apply ``plan`` to the batch x (N, C, H, W): shift, pad + crop, flip, rotate, noise."""
    H, W = x.shape[-2:]
    if plan.shift is not None:
        x = shift(x, plan.shift)
    if plan.crop is not None:
        x = crop(pad(x, plan.pad), plan.crop, H, W)
    if plan.flip is not None:
        x = horizontal_flip(x, plan.flip)
    if plan.angle is not None:
        x = rotate(x, plan.angle, plan.interpolation)
    if plan.noise is not None:
        x = add_noise(x, plan.noise)
    return x
