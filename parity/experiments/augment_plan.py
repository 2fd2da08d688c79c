"""The augmentation plan: every random choice for one batch, drawn once, side-neutral.

Both sides apply the same plan -- ``scratch.augment.augment_batch`` in NumPy,
``torch_ref.augment.augment_batch`` with torchvision.transforms.v2.functional --
so an augmented batch is the same batch on both sides and training keeps parity.
Plain NumPy values only (no torch): the plan is data, not code.
"""

from dataclasses import dataclass

import numpy as np

INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class AugmentPlan:
    """Per-image parameters for a batch of N images, applied in field order.

    A field left ``None`` switches that augmentation off.
    """

    shift: np.ndarray | None = None  # (N, 2) int (dx, dy): content moves right/down, zero fill
    pad: int = 0  # zero border added before cropping back to the original size
    crop: np.ndarray | None = None  # (N, 2) int (top, left) of the window in the padded image
    flip: np.ndarray | None = None  # (N,) bool: mirror left <-> right
    angle: np.ndarray | None = None  # (N,) float degrees, counter-clockwise, about the centre
    interpolation: str = "bilinear"  # for the rotation: "nearest" or "bilinear"
    noise: np.ndarray | None = None  # (N, C, H, W) float64, added; the sum is clipped to [0, 1]


def draw_plan(rng, n, shape=(1, 28, 28), *, max_shift=0, pad=0, flip=False, max_angle=0.0,
              noise_std=0.0, interpolation="bilinear"):
    """Draw one batch's plan from ``rng`` (a seeded ``np.random.Generator``).

    max_shift: dx, dy uniform in [-max_shift, max_shift];  pad: crop offsets uniform
    in [0, 2 * pad];  flip: each image mirrored with probability 1/2;  max_angle:
    angle uniform in [-max_angle, max_angle];  noise_std: Gaussian noise.  Zero/False
    switches the augmentation off.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}")
    return AugmentPlan(
        shift=rng.integers(-max_shift, max_shift + 1, size=(n, 2)) if max_shift else None,
        pad=pad,
        crop=rng.integers(0, 2 * pad + 1, size=(n, 2)) if pad else None,
        flip=rng.random(n) < 0.5 if flip else None,
        angle=rng.uniform(-max_angle, max_angle, size=n) if max_angle else None,
        interpolation=interpolation,
        noise=rng.standard_normal((n, *shape)) * noise_std if noise_std else None,
    )
