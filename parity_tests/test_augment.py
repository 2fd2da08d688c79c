"""Augmentation: the plan, the geometry conventions, and slips the registry must catch."""

import dataclasses

import numpy as np
import pytest
import torch

import scratch.augment as S
import torch_ref.augment as T
from parity.engine.inputs import source
from parity.engine.registry import find
from parity.experiments.augment_plan import AugmentPlan, draw_plan
from parity_tests.helpers import STAND_IN_DEVICE
from parity_tests.test_engine_bites import MESSAGE

BILINEAR = "bilinear, +-15 deg about ((W-1)/2, (H-1)/2); F.rotate"


def both_sides(x, plan):
    return S.augment_batch(x, plan), T.augment_batch(torch.from_numpy(x.copy()), plan).numpy()


# ---- the plan ----
def test_draw_plan_is_reproducible_and_in_range():
    kw = dict(max_shift=2, pad=3, flip=True, max_angle=10.0, noise_std=0.1)
    a, b = (draw_plan(source("plan-test"), 50, **kw) for _ in range(2))
    for field in ("shift", "crop", "flip", "angle", "noise"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.shift.shape == (50, 2) and np.abs(a.shift).max() <= 2
    assert a.crop.shape == (50, 2) and a.crop.min() >= 0 and a.crop.max() <= 6
    assert a.flip.dtype == bool and 0 < a.flip.sum() < 50
    assert np.abs(a.angle).max() <= 10 and a.noise.shape == (50, 1, 28, 28)
    # every value of the documented ranges is drawn, nothing outside them: dx, dy in [-2, 2],
    # crop offsets in [0, 2 * pad], angles on both sides of 0 up to the limit
    assert set(a.shift.ravel()) == set(range(-2, 3)) and set(a.crop.ravel()) == set(range(7))
    assert a.angle.min() < -5 and a.angle.max() > 5


def test_an_augmentation_switched_off_draws_nothing():
    """Zero/False leaves the field None -- and takes no numbers from rng, so switching one
    augmentation off does not change the others' draws."""
    plan = draw_plan(source("plan-off"), 4)
    assert all(getattr(plan, f) is None for f in ("shift", "crop", "flip", "angle", "noise"))
    with_noise = draw_plan(source("plan-off"), 4, noise_std=0.5)
    noise_only = source("plan-off").standard_normal((4, 1, 28, 28)) * 0.5
    np.testing.assert_array_equal(with_noise.noise, noise_only)


def test_draw_plan_refuses_an_unknown_interpolation():
    with pytest.raises(ValueError, match=r"interpolation must be one of \('nearest', 'bil"):
        draw_plan(source("plan-bad"), 2, interpolation="bicubic")


def test_a_plan_for_fewer_images_than_the_batch_is_refused():
    """zip(strict=True): a per-image parameter missing must not drop an image silently."""
    x = source("short-plan").random((3, 1, 6, 6))
    with pytest.raises(ValueError):
        S.crop(x, np.zeros((2, 2), int), 6, 6)
    with pytest.raises(ValueError):
        S.rotate(x, np.zeros(2))


def test_rotation_interpolates_bilinearly_unless_told_otherwise():
    x = source("rot-default").random((2, 1, 6, 6))
    angles = np.array([10.0, -20.0])
    np.testing.assert_array_equal(S.rotate(x, angles), S.rotate(x, angles, "bilinear"))
    np.testing.assert_array_equal(S.rotate_image(x[0], 10.0),
                                  S.rotate_image(x[0], 10.0, "bilinear"))


def test_every_augmentation_runs_on_another_torch_device():
    """Plans are NumPy arrays: the twin must move each one to the images' device."""
    rng = source("augment on another device")
    x = torch.from_numpy(rng.random((4, 1, 28, 28))).to(STAND_IN_DEVICE)
    plan = draw_plan(rng, 4, (1, 28, 28), max_shift=2, pad=2, flip=True, max_angle=10.0,
                     noise_std=0.05)
    out = T.augment_batch(x, plan)
    assert out.device == x.device and out.shape == x.shape


def test_empty_plan_changes_nothing():
    x = source("empty").random((3, 1, 28, 28))
    ours, theirs = both_sides(x, draw_plan(source("empty-plan"), 3))
    np.testing.assert_array_equal(ours, x)
    np.testing.assert_array_equal(theirs, x)


# ---- the conventions, against plain NumPy facts ----
def test_shift_moves_content_right_and_down_with_zero_fill():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    plan = AugmentPlan(shift=np.array([[2, -1]]))  # dx = 2 right, dy = 1 up
    for out in both_sides(x, plan):
        assert out[0, 0, 1, 4] == 1.0 and out.sum() == 1.0


@pytest.mark.parametrize("angle,k", [(90.0, 1), (-90.0, -1), (180.0, 2)])
def test_rotation_is_counter_clockwise_about_the_centre(angle, k):
    """Quarter turns land on the pixel grid: both sides equal np.rot90 there (up to
    the cos(90 deg) ~ 6e-17 rounding of the scratch grid in bilinear)."""
    x = source("rot90").random((2, 1, 6, 6))
    for interpolation in ("nearest", "bilinear"):
        plan = AugmentPlan(angle=np.array([angle, angle]), interpolation=interpolation)
        for out in both_sides(x, plan):
            np.testing.assert_allclose(out, np.rot90(x, k, axes=(-2, -1)), atol=1e-12)


def distance_to_tie(angles, size=28):
    """Per angle and output pixel: how far its source point is from a half-pixel
    boundary, where nearest sampling switches neighbour (float64, exact enough)."""
    theta = np.deg2rad(np.asarray(angles))[:, None, None]
    c = (size - 1) / 2
    xc, yc = np.arange(size) - c, (np.arange(size) - c)[:, None]
    cols = np.cos(theta) * xc - np.sin(theta) * yc + c
    rows = np.sin(theta) * xc + np.cos(theta) * yc + c
    return np.minimum(np.abs(cols % 1 - 0.5), np.abs(rows % 1 - 0.5))


def angles_on_ties(rng, n, size=28):
    """n angles (degrees), each putting the source column of one random output pixel
    exactly on a half-pixel boundary: cos(t) xc - sin(t) yc = R cos(t + phi) = v."""
    c = (size - 1) / 2
    xc, yc = rng.integers(0, size, (2, n)) - c
    t0 = np.deg2rad(rng.uniform(-15, 15, n))
    v = np.trunc(np.cos(t0) * xc - np.sin(t0) * yc)  # (W-1)/2 = 13.5: boundaries at v + c
    a, phi = np.arccos(v / np.hypot(xc, yc)), np.arctan2(yc, xc)
    both = (np.stack([a - phi, -a - phi]) + np.pi) % (2 * np.pi) - np.pi
    return np.rad2deg(both[np.argmin(np.abs(both - t0), axis=0), np.arange(n)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nearest_rotation_differs_only_on_half_pixel_ties(dtype):
    """At a point exactly on a half-pixel boundary nearest sampling picks a neighbour by
    rounding error, which differs between torchvision's grid (built in the image dtype)
    and scratch's (float64).  At angles that put pixels exactly on ties, differences
    appear -- and only on ties.  For random angles a tie needs a point within rounding
    of the boundary: measured 4 of 1,176,000 pixels in float32, 0 in float64."""
    rng = source("nearest-ties")
    near_tie = angles_on_ties(rng, 40)
    ties = distance_to_tie(near_tie) < 1e-9  # (angle, row, col) on a tie, up to rounding
    assert ties.any(axis=(1, 2)).all()
    x = rng.random((40, 1, 28, 28)).astype(dtype)
    ours, theirs = both_sides(x, AugmentPlan(angle=near_tie, interpolation="nearest"))
    n, _, i, j = np.nonzero(ours != theirs)
    assert len(n) > 0 and ties[n, i, j].all()


# ---- slips the registry catches ----
def with_plan_change(**changes):
    """The scratch side, applying a subtly wrong version of the plan."""
    def broken(x, plan):
        return S.augment_batch(x, dataclasses.replace(plan, **{
            k: f(plan) for k, f in changes.items()}))
    return broken


def rotate_about_h_over_2(x, plan):
    """The slip: centre H/2 instead of (H - 1)/2 (PIL's convention in some versions)."""
    out = []
    for img, angle in zip(x, plan.angle, strict=True):
        H, W = img.shape[-2:]
        t = np.deg2rad(angle)
        xc, yc = np.arange(W) - W / 2, (np.arange(H) - H / 2)[:, None]
        cols = np.cos(t) * xc - np.sin(t) * yc + W / 2
        rows = np.sin(t) * xc + np.cos(t) * yc + H / 2
        out.append(S.sample_bilinear(img, rows, cols).astype(img.dtype))
    return np.stack(out)


def flip_in_place(x, plan):
    x[plan.flip] = x[plan.flip][..., ::-1]
    return x


def noise_unclipped(x, plan):
    return S.augment_batch(x, dataclasses.replace(plan, noise=None)) + plan.noise.astype(x.dtype)


SLIPS = [
    ("augment/shift", with_plan_change(shift=lambda p: -p.shift), "out"),
    ("augment/shift", with_plan_change(shift=lambda p: p.shift[:, ::-1]), "out"),  # (dy, dx)
    ("augment/pad+crop", with_plan_change(crop=lambda p: p.crop[:, ::-1]), "out"),
    ("augment/rotation", with_plan_change(angle=lambda p: -p.angle), "out"),
    ("augment/rotation", rotate_about_h_over_2, "out"),
    ("augment/horizontal flip", flip_in_place, "input after"),
    ("augment/noise", noise_unclipped, "out"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("component,slip,quantity", SLIPS,
                         ids=[f"{c}-{q}-{i}" for i, (c, _, q) in enumerate(SLIPS)])
def test_augmentation_slips_are_caught(component, slip, quantity, dtype):
    entry = next(e for e in _entries() if e.component == component)
    bad = [c for c in dataclasses.replace(entry, scratch=slip).run(dtype) if not c.passed]
    assert quantity in {c.quantity for c in bad}
    out = [c for c in bad if c.quantity == "out"]
    assert not out or MESSAGE.match(out[0].message()), out[0].message()


def _entries():
    from parity.engine.registry import load_all

    return [e for e in load_all() if e.component.startswith("augment/")]


def test_bilinear_entry_is_registered_for_both_dtypes():
    assert find("augment/rotation", BILINEAR).dtypes == ("float64", "float32")
