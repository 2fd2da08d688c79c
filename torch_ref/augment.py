"""The same augmentations with torchvision.transforms.v2.functional, driven by a plan.

The plan (``parity.augment_plan.AugmentPlan``, plain NumPy fields read by name)
fixes every random choice, so the functional forms -- not the random transform
classes, which draw their own parameters -- apply exactly the scratch side's
choices.  x: (N, C, H, W) float tensor; a new tensor comes back.
"""

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

INTERPOLATION = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR}


def per_image(x, transform, params):
    """F.* take one set of parameters per call: apply image n with params[n]."""
    return torch.stack([transform(img, p) for img, p in zip(x, params, strict=True)])


def augment_batch(x, plan):
    """Apply ``plan``: shift, pad + crop, flip, rotate, noise (the scratch order)."""
    H, W = x.shape[-2:]
    if plan.shift is not None:
        # an integer translation with nearest sampling moves whole pixels; fill=None
        # is grid_sample's zero padding
        x = per_image(x, lambda img, d: F.affine(
            img, angle=0.0, translate=[int(d[0]), int(d[1])], scale=1.0, shear=[0.0, 0.0],
            interpolation=InterpolationMode.NEAREST), plan.shift)
    if plan.crop is not None:
        x = per_image(F.pad(x, [plan.pad] * 4, fill=0),
                      lambda img, o: F.crop(img, int(o[0]), int(o[1]), H, W), plan.crop)
    if plan.flip is not None:
        flags = torch.from_numpy(plan.flip).view(-1, 1, 1, 1)
        x = torch.where(flags, F.horizontal_flip(x), x)
    if plan.angle is not None:
        # fill=None: zero padding inside grid_sample.  (fill=0 would, for bilinear,
        # also scale border pixels by the interpolated coverage mask.)
        x = per_image(x, lambda img, a: F.rotate(
            img, float(a), interpolation=INTERPOLATION[plan.interpolation]), plan.angle)
    if plan.noise is not None:
        x = (x + torch.from_numpy(plan.noise).to(x.dtype)).clamp(0, 1)
    return x
