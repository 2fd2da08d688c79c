"""Optimizers, schedules, weight decay: coverage, documented gaps, and that the checks bite."""

import dataclasses

import numpy as np
import pytest

import scratch.optimizers as S
import scratch.regularization as R
import scratch.schedules as SS
from parity.engine.compare import EXPECTED_GAP, MATCH
from parity.engine.inputs import source
from parity.engine.optim_pair import SHAPES, Problem, Trajectory
from parity.engine.registry import find, load_all
from parity.engine.runner import run_entries
from parity.engine.tolerances import tolerance_for
from parity.pairs.optimizers import LAM, SCHEDULES, STEP_DECAY, TRAJECTORIES

OPTIMIZERS = [e for e in load_all() if hasattr(e, "trajectories")]


def failures(pair, dtype="float64", **changes):
    checks = dataclasses.replace(pair, **changes).run(dtype)
    return [c for c in checks if not c.passed]


# ---- coverage: every optimizer x every schedule x weight decay on/off, plus the variants ----
def test_every_optimizer_runs_every_schedule_with_and_without_weight_decay():
    assert {e.component for e in OPTIMIZERS} == {
        cls.__name__ for cls in (S.SGD, S.Momentum, S.Nesterov, S.AdaGrad, S.RMSprop, S.Adam,
                                 S.AdamW)}
    combos = {(t.schedule.name, bool(t.weight_decay)) for t in TRAJECTORIES}
    assert combos == {(s.name, wd) for s in SCHEDULES for wd in (False, True)}
    assert any(t.lr_scale >= 10 for t in TRAJECTORIES)  # the high-lr variant
    assert any(t.feedback for t in TRAJECTORIES) and any(not t.feedback for t in TRAJECTORIES)
    # every optimizer has an entry that runs them all (the non-default settings in
    # parity/pairs/settings.py run a few each)
    full = {e.component for e in OPTIMIZERS
            if e.trajectories == TRAJECTORIES and e.checkpoints[-1] == 25}
    assert full == {e.component for e in OPTIMIZERS}


def test_trajectories_have_weights_and_undecayed_parameters():
    assert {k for k in SHAPES if k.startswith("W")} and {"b1", "gamma1", "beta1"} <= set(SHAPES)


def test_fixed_gradients_do_not_depend_on_params():
    problem = Problem(TRAJECTORIES[0], "float64")
    g1 = problem.gradient(3, {k: np.zeros(s) for k, s in SHAPES.items()})
    g2 = problem.gradient(3, {k: np.ones(s) for k, s in SHAPES.items()})
    assert all(np.array_equal(g1[k], g2[k]) for k in SHAPES)


# ---- documented gaps ----
def test_book_momentum_matches_until_the_lr_changes_then_diverges():
    pair = find(S.Momentum.__name__, "book v=-lr*buf")
    checks = pair.compare_sides(Trajectory("step decay", STEP_DECAY), "float64")  # lr halves at 11
    verdict = {c.quantity: c.verdict for c in checks}
    assert verdict["step1/W1"] == verdict["step5/W1"] == MATCH
    assert verdict["step25/W1"] == verdict["state/v/W1"] == EXPECTED_GAP
    worst = max(c.max_abs_err for c in checks if c.verdict == EXPECTED_GAP)
    assert worst > 0.1  # measured 0.85 at step 25 (lr 0.05 -> 0.025 -> 0.0125)
    constant = pair.compare_sides(TRAJECTORIES[0], "float64")
    assert all(c.verdict == MATCH for c in constant)


def test_book_and_torch_adam_differ_for_tiny_gradients_only_slightly_otherwise():
    def end(convention, grad_scale):
        pair = find(S.Adam.__name__, convention)
        res = pair.scratch_results(Trajectory("tiny", grad_scale=grad_scale), "float64")
        return np.concatenate([res[f"step25/{k}"].ravel() for k in SHAPES])

    start = np.concatenate([v.ravel() for v in
                            Problem(Trajectory("tiny"), "float64").start.values()])
    moved = {s: np.abs(end("torch", s) - start).max() for s in (1.0, 1e-6)}
    gap = {s: np.abs(end("book", s) - end("torch", s)).max() for s in (1.0, 1e-6)}
    # measured, lr 0.01, 25 steps, parameters moved ~0.11: unit gradients 2.4e-7 apart
    # (2e-6 of the distance moved), gradients ~1e-6: 5.6e-2 apart (half the distance)
    assert gap[1.0] / moved[1.0] < 1e-5
    assert gap[1e-6] / moved[1e-6] > 0.1


def test_book_l2_penalty_gradient_equals_optimizer_weight_decay():
    """loss + 0.5*lam*sum(W^2) through SGD == SGD(weight_decay=lam): the two book forms.

    The total loss is scaled by a random c (upstream gradient c, lr / c), so the
    penalty's backward is driven by a non-trivial dout."""
    problem = Problem(TRAJECTORIES[0], "float64")
    c = source("test", "loss scale").uniform(0.5, 2.0)
    a = {k: v.copy() for k, v in problem.start.items()}
    b = {k: v.copy() for k, v in problem.start.items()}
    decayed, penalty = S.SGD(0.1, weight_decay=LAM), R.L2WeightDecay(b, LAM)
    plain = S.SGD(0.1 / c)
    for step in range(1, 6):
        decayed.update(a, problem.gradient(step, a))
        penalty.forward(np.array(0.0))
        penalty.backward(np.array(c))
        g = problem.gradient(step, b)
        plain.update(b, {k: c * g[k] + penalty.grads[k] for k in g})
    for k in SHAPES:
        np.testing.assert_allclose(b[k], a[k], rtol=tolerance_for("trajectory").rtol,
                                   atol=tolerance_for("trajectory").atol)


def test_adamw_decoupled_decay_differs_from_adam_weight_decay():
    problem = Problem(TRAJECTORIES[0], "float64")
    ends = []
    coupled = S.Adam(0.01, convention="torch", weight_decay=LAM)
    for opt in (coupled, S.AdamW(0.01, weight_decay=LAM)):
        p = {k: v.copy() for k, v in problem.start.items()}
        for step in range(1, 26):
            opt.update(p, problem.gradient(step, p))
        ends.append(p)
    assert np.abs(ends[0]["W1"] - ends[1]["W1"]).max() > 1e-3  # measured 1.8e-2
    np.testing.assert_array_equal(ends[0]["b1"], ends[1]["b1"])  # biases are never decayed


def test_scratch_schedules_set_the_optimizer_lr():
    opt = S.SGD(lr=1.0)
    schedule = SS.StepDecay(opt, step_size=2, gamma=0.5)
    lrs = [opt.lr]
    for _ in range(4):
        schedule.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    warm = SS.LinearWarmup(S.Adam(lr=1.0), 4, start_factor=0.2)
    assert warm.lr_at(0) == 0.2 and warm.lr_at(4) == warm.lr_at(9) == 1.0
    assert SS.CosineAnnealing(S.SGD(lr=1.0), 10).lr_at(10) == 0.0


# ---- the checks bite: a broken scratch side fails ----
class AdaGradTorchEps(S.AdaGrad):
    def __init__(self, lr, **decay):
        super().__init__(lr, eps=1e-10, **decay)  # torch's default eps, not the book's 1e-7


class SGDWritesIntoGrads(S.SGD):
    def update(self, params, grads):
        for key in params:
            grads[key] *= self.lr  # the slip: scaling the caller's gradient in place
            params[key] -= grads[key]


class AdamWDecayAfterStep(S.AdamW):
    def update(self, params, grads):
        decay, self.decoupled_decay = self.decoupled_decay, 0.0
        super().update(params, grads)
        self.decoupled_decay = decay
        self.decay_weights(params)  # torch decays before the Adam step


def test_adagrad_eps_mismatch_is_caught():
    """eps 1e-10 for 1e-7 shifts each step by ~1e-7 relative: float64's 1e-12 trajectory
    tolerance sees it on every trajectory; float32's assert_close tolerance only where the
    gradients are tiny -- the reason for that trajectory."""
    pair = find(S.AdaGrad.__name__, "eps 1e-7")

    def broken(lr, wd):
        return AdaGradTorchEps(lr, weight_decay=wd)

    assert {c.sample for c in failures(pair, scratch=broken)} == {t.name for t in TRAJECTORIES}
    bad32 = failures(pair, "float32", scratch=broken)
    assert bad32 and {c.sample for c in bad32} == {"tiny gradients 1e-6"}


def test_weight_decay_on_biases_is_caught():
    pair = find(S.Momentum.__name__, "torch buffer")
    everything = tuple(SHAPES)
    bad = failures(pair, scratch=lambda lr, wd: S.Momentum(
        lr, 0.9, convention="torch", weight_decay=wd, decay_keys=everything))
    names = {c.quantity.split("/")[-1] for c in bad}
    assert {"b1", "gamma1", "beta1", "b2"} <= names and all(", wd" in c.sample or "wd " in c.sample
                                                           for c in bad)


def test_optimizer_writing_into_grads_is_caught():
    bad = failures(find(S.SGD.__name__, "default"), scratch=lambda lr, wd: SGDWritesIntoGrads(lr))
    assert any(c.quantity.startswith("grad written/") for c in bad)


def test_adamw_decay_order_is_caught():
    bad = failures(find("AdamW", "decoupled"),
                   scratch=lambda lr, wd: AdamWDecayAfterStep(lr, weight_decay=wd))
    assert bad and all("wd" in c.sample for c in bad)


def test_state_compared_without_the_lr_mapping_is_caught():
    pair = find(S.Momentum.__name__, "book v=-lr*buf")
    unmapped = tuple(dataclasses.replace(link, to_book=lambda buf, lr: buf) for link in pair.state)
    bad = failures(pair, state=unmapped)
    assert bad and all(c.quantity.startswith("state/v/") for c in bad)


def test_vanished_lr_change_gap_fails():
    """The book convention's documented gap must show: a torch-convention scratch side fails."""
    pair = find(S.Momentum.__name__, "book v=-lr*buf")
    bad = failures(pair, scratch=lambda lr, wd: S.Momentum(lr, 0.9, convention="torch",
                                                           weight_decay=wd),
                   state=find(S.Momentum.__name__, "torch buffer").state)
    assert bad and {c.verdict for c in bad} == {"GAP VANISHED"}


def test_schedule_off_by_one_is_caught():
    late = dataclasses.replace(STEP_DECAY, scratch=lambda o: SS.StepDecay(o, 11, gamma=0.5))
    trajectory = Trajectory("late step decay", late)
    sgd = find(S.SGD.__name__, "default")
    bad = [c for c in sgd.compare_sides(trajectory, "float64") if not c.passed]
    assert {c.quantity for c in bad} >= {"lr", "step25/W1"}


def test_a_crashing_optimizer_is_a_failing_check():
    def broken(lr, wd):
        raise RuntimeError("boom")

    checks, _ = run_entries([dataclasses.replace(find(S.SGD.__name__, "default"), scratch=broken)])
    bad = [c for c in checks if not c.passed]
    assert [c.verdict for c in bad] == ["CRASHED"] * 2  # one row per dtype
    assert "the scratch side raised RuntimeError: boom" in bad[0].message()


# ---- the L1/L2 penalties (LayerPairs): biases decayed, or L1 given L2's gradient ----
class L2DecaysBiases(R.L2WeightDecay):
    def __init__(self, params, lam):
        super().__init__(params, lam, decay_keys=tuple(params))


class L1WithL2Gradient(R.L1WeightDecay):
    def gradient(self, W):
        return self.lam * W


def test_penalty_on_biases_is_caught():
    bad = failures(find("L2 weight decay", "book 0.5*lam*sum(W^2), W only"),
                   scratch=lambda p: L2DecaysBiases(p, LAM))
    assert {c.quantity for c in bad} == {"out", "db1", "db2"}


def test_l1_with_the_wrong_gradient_is_caught_by_both_oracles():
    bad = failures(find("L1 weight decay", "book lam*sum(|W|), W only"),
                   scratch=lambda p: L1WithL2Gradient(p, LAM))
    assert {c.oracle for c in bad} == {"torch", "finite-diff"}
    assert {c.quantity for c in bad} == {"dW1", "dW2"}


def test_weight_decay_backward_defaults_to_dout_1_and_returns_a_fresh_array():
    """backward() without dout takes d loss / d loss = 1, as the book's loss layers; the
    gradient it passes on is dout itself in value (d(loss + penalty)/d loss = 1) but a new
    array: a caller that updates it in place must not change its own dout."""
    W = source("regularization", "backward").standard_normal((3, 2))
    decay = R.L2WeightDecay({"W1": W, "b1": np.zeros(2)}, lam=0.1)
    assert decay.backward() == 1
    np.testing.assert_array_equal(decay.grads["W1"], 0.1 * W)
    dout = np.array(2.0)
    out = decay.backward(dout)
    assert out == 2.0 and not np.shares_memory(out, dout)


# The book's defaults (common/optimizer.py); AdamW, not in the book, takes torch's.
BOOK_DEFAULTS = {S.SGD: dict(lr=0.01), S.Momentum: dict(lr=0.01, momentum=0.9),
                 S.Nesterov: dict(lr=0.01, momentum=0.9), S.AdaGrad: dict(lr=0.01, eps=1e-7),
                 S.RMSprop: dict(lr=0.01, decay_rate=0.99, eps=1e-7),
                 S.Adam: dict(lr=0.001, beta1=0.9, beta2=0.999),
                 S.AdamW: dict(lr=0.001, beta1=0.9, beta2=0.999, weight_decay=0.01)}


@pytest.mark.parametrize("cls", list(BOOK_DEFAULTS), ids=lambda c: c.__name__)
def test_defaults_are_the_books(cls):
    """Three steps with the defaults are three steps with the book's values spelled out."""
    def steps(optimizer):
        rng = source("optimizer defaults", cls.__name__)
        params = {"W": rng.standard_normal((3, 2))}
        for _ in range(3):
            optimizer.update(params, {"W": rng.standard_normal((3, 2))})
        return params["W"]
    np.testing.assert_array_equal(steps(cls()), steps(cls(**BOOK_DEFAULTS[cls])))


def test_rmsprop_takes_a_decay_rate_of_1():
    """[0, 1] closed: decay_rate 1 keeps h as it is (the bad-input table refuses 1.5)."""
    assert S.RMSprop(decay_rate=1.0).decay_rate == 1.0
