"""The same augmentations with torchvision.transforms.v2.functional, driven by a plan.

The plan (``parity.experiments.augment_plan.AugmentPlan``, plain NumPy fields read by name)
fixes every random choice, so the functional forms -- not the random transform
classes, which draw their own parameters -- apply exactly the scratch side's
choices.  x: (N, C, H, W) float tensor; a new tensor comes back.
"""

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

INTERPOLATION = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR}


def per_image(x, transform, params):
    """F.* take one set of parameters per call: image n gets params[n].  Images that
    share parameters (a few dozen distinct shifts or crops per batch) go in one call."""
    values, group = np.unique(params, axis=0, return_inverse=True)
    members = [torch.from_numpy(np.flatnonzero(group.reshape(-1) == k)).to(x.device)
               for k in range(len(values))]
    done = torch.cat([transform(x[m], v) for m, v in zip(members, values, strict=True)])
    return done[torch.argsort(torch.cat(members))]  # back to the batch's order


def augment_batch(x, plan):
    """Apply ``plan``: shift, pad + crop, flip, rotate, noise (the scratch order)."""
    H, W = x.shape[-2:]
    if plan.shift is not None:
        # an integer translation with nearest sampling moves whole pixels; fill=None
        # is grid_sample's zero padding
        x = per_image(x, lambda imgs, d: F.affine(
            imgs, angle=0.0, translate=[int(d[0]), int(d[1])], scale=1.0, shear=[0.0, 0.0],
            interpolation=InterpolationMode.NEAREST), plan.shift)
    if plan.crop is not None:
        x = per_image(F.pad(x, [plan.pad] * 4, fill=0),
                      lambda imgs, o: F.crop(imgs, int(o[0]), int(o[1]), H, W), plan.crop)
    if plan.flip is not None:
        flags = torch.from_numpy(plan.flip).to(x.device).view(-1, 1, 1, 1)
        x = torch.where(flags, F.horizontal_flip(x), x)
    if plan.angle is not None:
        # fill=None: zero padding inside grid_sample.  (fill=0 would, for bilinear,
        # also scale border pixels by the interpolated coverage mask.)
        x = per_image(x, lambda imgs, a: F.rotate(
            imgs, float(a), interpolation=INTERPOLATION[plan.interpolation]), plan.angle)
    if plan.noise is not None:
        x = (x + torch.from_numpy(plan.noise).to(x.device, x.dtype)).clamp(0, 1)
    return x
