"""Data augmentation: NumPy (scratch.augment) against torchvision.transforms.v2.functional.

One plan (parity.experiments.augment_plan) per sample fixes every random choice; both sides
apply it and the images are compared.  Whole-pixel operations (shift, pad + crop,
flip) and the noise must match exactly in every dtype.  Rotation samples between
pixels; both sides use the same centre ((W - 1) / 2, (H - 1) / 2), zero outside,
and the same interpolation:

- bilinear: float64 differs by rounding only (max 1.9e-14 measured); float32 by
  up to 3.8e-6 (torchvision builds its sampling grid in float32, scratch in
  float64) -- both within the dtype's own tolerance;
- nearest: a point on a half-pixel boundary picks its neighbour by rounding error,
  which differs between the grids (float32 vs float64): a whole pixel value apart.
  For random angles a point lands within float32 rounding of a boundary rarely --
  4 of 1,176,000 pixels (3.4e-6) in float32 -- and within float64 rounding never
  (0 of 1,176,000).  No elementwise tolerance describes such a pixel, so nearest
  is registered, pixel-exact, for float64 only; parity_tests/test_augment.py puts
  pixels exactly on ties and shows the differences appear there and only there.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import scratch.augment as S
import torch_ref.augment as T
from parity.engine.compare import compare
from parity.engine.inputs import DTYPES, cast, source
from parity.engine.registry import register
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import to_numpy
from parity.experiments.augment_plan import draw_plan

CHAPTER = "augmentation"

N, SHAPE = 6, (1, 28, 28)


def uniform_images(rng):
    """Every pixel random in [0, 1]: the harshest case for borders and interpolation."""
    return rng.random((N, *SHAPE))


def stroke_images(rng):
    """Smooth digit-like strokes on a black background, as MNIST."""
    rows, cols = np.mgrid[0:SHAPE[1], 0:SHAPE[2]]
    images = np.zeros((N, *SHAPE))
    for img in images:
        for r, c in rng.uniform(6, 22, size=(4, 2)):
            img[0] += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 6.0)
    return np.clip(images, 0, 1)


SAMPLES = {"uniform": uniform_images, "strokes": stroke_images}


@dataclass(frozen=True)
class AugmentPair:
    """One plan per sample from ``draw_plan(rng, N, **plan)``; compare the images."""

    component: str
    variant: str
    plan: dict  # keyword arguments of draw_plan
    exact: bool = False  # True: pixel-exact in every dtype; False: the dtype's tolerance
    dtypes: tuple = DTYPES
    scratch: Callable = S.augment_batch
    torch: Callable = T.augment_batch

    def run(self, dtype):
        tol = tolerance_for("exact" if self.exact else dtype)
        checks = []
        for name, images in SAMPLES.items():
            rng = source(self.component, self.variant, name)
            x = cast(images(rng), dtype)
            plan = draw_plan(rng, len(x), x.shape[1:], **self.plan)
            x_ours, x_theirs = x.copy(), torch.from_numpy(x.copy())
            ours = np.asarray(self.scratch(x_ours, plan))
            theirs = to_numpy(self.torch(x_theirs, plan))
            label = dict(component=self.component, variant=self.variant, dtype=dtype,
                         sample=name)
            checks += [
                compare(ours, theirs, tol, quantity="out", oracle="torch", **label),
                # neither side may write into the batch it was given
                compare(x_ours, x, tolerance_for("exact"), quantity="input after",
                        oracle="original", **label),
                compare(to_numpy(x_theirs), x, tolerance_for("exact"),
                        quantity="torch input after", oracle="original", **label),
            ]
        return checks


CENTRE = "about ((W-1)/2, (H-1)/2)"
register(
    AugmentPair("augment/shift", "integer dx,dy in [-3,3], zero fill; F.affine nearest",
                dict(max_shift=3), exact=True),
    AugmentPair("augment/pad+crop", "zero pad 4, 28x28 window; F.pad + F.crop",
                dict(pad=4), exact=True),
    AugmentPair("augment/horizontal flip", "p=1/2; F.horizontal_flip", dict(flip=True),
                exact=True),
    AugmentPair("augment/noise", "+N(0, 0.1^2), clipped to [0,1]; add + clamp",
                dict(noise_std=0.1), exact=True),
    AugmentPair("augment/rotation", f"bilinear, +-15 deg {CENTRE}; F.rotate",
                dict(max_angle=15.0)),
    AugmentPair("augment/rotation", f"nearest, +-15 deg {CENTRE}; F.rotate",
                dict(max_angle=15.0, interpolation="nearest"), exact=True,
                dtypes=("float64",)),
    AugmentPair("augment/all", "shift 2, pad 2 + crop, flip, bilinear 10 deg, noise 0.05",
                dict(max_shift=2, pad=2, flip=True, max_angle=10.0, noise_std=0.05)),
)
