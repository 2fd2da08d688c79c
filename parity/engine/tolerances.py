"""The one tolerance table.  Every comparison in the suite looks its tolerance up here.

A value passes when |actual - expected| <= atol + rtol * |expected| elementwise
(``torch.testing.assert_close``'s rule).  ``normwise`` entries compare against the
largest magnitude instead: max|actual - expected| <= rtol * max|expected| -- the
right measure for finite differences, whose error does not shrink with the element.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    normwise: bool = False


TOLERANCES = {
    # Two float64 implementations of the same formula differ only by rounding order.
    "float64": Tolerance(rtol=1e-10, atol=1e-12),
    # torch.testing.assert_close's defaults for float32.
    "float32": Tolerance(rtol=1.3e-6, atol=1e-5),
    # Whole training runs, same batches and initial weights (parity.experiments.training): loss at
    # every step; final weights within rtol of the network's largest weight.  float64:
    # the bar.  float32: a sanity bound that still catches a wrong formula --
    # rounding compounds over steps (measured over 200 steps: MLP losses 5e-4 apart,
    # SimpleConvNet 2.2e-2, weights up to 2.6e-2); each row's note gives the first step
    # past 1e-6.
    "training-float64": Tolerance(rtol=1e-8, atol=0.0),
    "training-float32": Tolerance(rtol=1e-1, atol=0.0),
    # Training runs must learn, on each side: mean loss of the last LEARNING_WINDOW steps over
    # the first step's loss, compared with 0, must stay below this atol.  Measured over 200
    # MNIST steps: MLP SGD 0.134, MLP Adam 0.099, MLP+BatchNorm SGD 0.091, SimpleConvNet SGD
    # 0.289, SimpleConvNet Adam 0.114, LeNet-5 SGD 0.139 / Adam 0.109, DeepConvNet (dropout
    # 0.5, float64) SGD 0.466 / Adam 0.462 -- the thinnest margin, but every run is seeded
    # and deterministic; with images paired to the wrong labels
    # (labels shifted by one) 0.95 -- the sides agree perfectly then, so only this catches it.
    "learning": Tolerance(rtol=0.0, atol=0.5),
    # Integers, masks, labels, pixel bytes: identical or wrong.
    "exact": Tolerance(rtol=0.0, atol=0.0),
    # Scratch backward vs central differences (float64, step FD_STEP).
    "finite-diff": Tolerance(rtol=1e-7, atol=0.0, normwise=True),
    # Optimizer trajectories, float64: 25 steps of the same update formula, rounding only.
    # Tighter than "float64" on purpose: a formula difference (eps placement, a missing
    # bias correction) shows long before 1e-10.  Measured worst: see the parity report.
    # atol governs parameters that pass near 0 (and lr values of 0).
    "trajectory": Tolerance(rtol=1e-12, atol=1e-14),
    # A learner's numerical_gradient (the book's central differences, h = 1e-4) against the
    # exact gradient: truncation ~h^2 * |f3| / 6 ~ 2e-9 on the smooth test function of
    # `make check`; a forward difference is off by ~h * |f2| / 2 ~ 5e-5.
    "numerical-gradient": Tolerance(rtol=1e-6, atol=0.0, normwise=True),
}

# Statistical checks (initializers: the RNGs differ, only distributions can agree).
# A sample statistic passes when it lies within CONFIDENCE_Z standard errors of the
# value it estimates; z = 5 is a two-sided false-alarm probability of 6e-7 per check.
CONFIDENCE_Z = 5.0


def statistical(standard_error):
    """Tolerance for a sample statistic with the given standard error."""
    return Tolerance(rtol=0.0, atol=CONFIDENCE_Z * standard_error)

LEARNING_WINDOW = 20  # steps averaged at the end of a training run (batch noise)
# The floor was measured on 200-step runs; a shorter run (a quick test of the harness) is
# not held to it: after 5 steps of SGD the MLP's ratio is 0.91 (measured).
LEARNING_MIN_STEPS = 100

FD_STEP = 1e-5  # truncation ~h^2 = 1e-10, rounding ~1e-16 / h = 1e-11 (relative)
FD_NOISE = 10  # finite-diff atol = FD_NOISE * eps * max(|f|, 1) / FD_STEP (rounding floor)
FD_MAX_ELEMENTS = 32  # larger arrays are spot-checked at this many random elements


def tolerance_for(key):
    return TOLERANCES[str(key)]
