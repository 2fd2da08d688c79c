"""``OptimizerPair``: a scratch optimizer and its torch twin, stepped along the same trajectory.

A ``Trajectory`` is an optimizer's sample: the same starting parameters (book
layout, weights "W*" that weight decay hits and biases/BN parameters it must
skip) and the same gradient sequence for both sides, ``steps`` steps long:

  fixed gradients  drawn once from the seeded source, independent of the parameters;
  feedback         plus the gradient of a quadratic at the *current* parameters,
                   so any difference feeds back into later gradients;
  lr_scale         the high-lr variant (a large lr amplifies formula differences);
  grad_scale       tiny gradients, where the eps conventions show;
  schedule         a scratch schedule and its torch twin, stepped after each update;
  weight_decay     the book's (weights only) <-> torch parameter groups.

Quantities: ``stepK/<param>`` at the checkpoints, ``lr`` (the lr each step used),
``grad written/<param>`` (last gradients after the step minus as handed over:
0, an optimizer must not write into them), and at the end every optimizer state
entry (``state/<name>/<param>``), mapped to the book's units by its ``StateLink``.
Every array both sides see is drawn per trajectory name only, so every optimizer
solves the same problem.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from parity.engine.compare import compare
from parity.engine.inputs import DTYPES, cast, source
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import to_numpy
from torch_ref.optimizers import param_groups

# The parameters of a small two-layer net with batch norm, book names and layout.
SHAPES = {"W1": (4, 3), "b1": (3,), "gamma1": (3,), "beta1": (3,), "W2": (3, 2), "b2": (2,)}


@dataclass(frozen=True)
class Schedule:
    name: str
    scratch: Callable | None = None  # scratch optimizer -> scratch schedule
    torch: Callable | None = None  # torch optimizer -> lr_scheduler


CONSTANT = Schedule("constant lr")


@dataclass(frozen=True)
class Trajectory:
    name: str
    schedule: Schedule = CONSTANT
    weight_decay: float = 0.0
    feedback: bool = False
    lr_scale: float = 1.0
    grad_scale: float = 1.0
    steps: int = 25


class Problem:
    """Starting parameters and gradients of one trajectory, in one dtype (both sides)."""

    def __init__(self, trajectory, dtype):
        rng = source("optimizer-trajectory", trajectory.name)
        self.trajectory, self.dtype = trajectory, dtype
        draw = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
        self.start = {k: cast(v, dtype) for k, v in draw.items()}
        self.noise = [{k: cast(rng.standard_normal(s) * trajectory.grad_scale, dtype)
                       for k, s in SHAPES.items()} for _ in range(trajectory.steps)]
        # loss 0.5 * sum(curvature * (p - center)**2): gradient curvature * (p - center)
        self.curvature = {k: cast(rng.uniform(0.5, 1.5, s), dtype) for k, s in SHAPES.items()}
        self.center = {k: cast(rng.standard_normal(s), dtype) for k, s in SHAPES.items()}

    def gradient(self, step, params):
        """Gradients for step ``step`` (1-based) at ``params`` (numpy arrays), a new dict."""
        noise = self.noise[step - 1]
        if not self.trajectory.feedback:
            return {k: g.copy() for k, g in noise.items()}
        return {k: noise[k] + self.curvature[k] * (params[k] - self.center[k]) for k in noise}


@dataclass(frozen=True)
class StateLink:
    """Scratch optimizer attribute (a dict per param, or a step count) <-> torch state key."""

    scratch: str
    torch: str
    to_book: Callable = lambda value, lr: value  # torch value, lr of the last step -> book units
    exact: bool = False  # step counts: identical or wrong


@dataclass(frozen=True)
class OptimizerPair:
    component: str
    variant: str
    scratch: Callable  # (lr, weight_decay) -> scratch optimizer
    torch: Callable  # (param groups with weight_decay, lr) -> torch.optim optimizer
    lr: float
    trajectories: tuple
    state: tuple = ()  # StateLinks
    # why parameters differ once the lr has changed (the book's velocity in lr units)
    gap_when_lr_changes: str = ""
    checkpoints: tuple = (1, 5, 25)
    # which parameters weight decay hits (the scratch optimizer's ``decay_keys``); None:
    # the book's rule, every name starting with "W"
    decay_keys: tuple | None = None
    dtypes: tuple = DTYPES
    doc: str = ""

    # ---- each side on its own ----
    def scratch_results(self, trajectory, dtype):
        problem = Problem(trajectory, dtype)
        params = {k: v.copy() for k, v in problem.start.items()}
        opt = self.scratch(self.lr * trajectory.lr_scale, trajectory.weight_decay)
        schedule = trajectory.schedule.scratch(opt) if trajectory.schedule.scratch else None
        res, lrs = {}, []
        for k in range(1, trajectory.steps + 1):
            lrs.append(opt.lr)
            grads = problem.gradient(k, params)
            given = {name: g.copy() for name, g in grads.items()}
            opt.update(params, grads)
            if k in self.checkpoints:
                res |= {f"step{k}/{name}": p.copy() for name, p in params.items()}
            if schedule:
                schedule.step()
        res |= {f"grad written/{name}": grads[name] - given[name] for name in grads}
        res["lr"] = np.array(lrs)
        for link in self.state:
            value = getattr(opt, link.scratch)
            res |= {f"state/{link.scratch}/{name}": (
                np.array(value[name]) if isinstance(value, dict) else np.float64(value))
                for name in params}
        return res

    def torch_results(self, trajectory, dtype):
        problem = Problem(trajectory, dtype)
        params = {k: torch.nn.Parameter(torch.from_numpy(v.copy()))
                  for k, v in problem.start.items()}
        decays = {} if self.decay_keys is None else {"decays": self.decay_keys.__contains__}
        opt = self.torch(param_groups(params.items(), trajectory.weight_decay, **decays),
                         self.lr * trajectory.lr_scale)
        schedule = trajectory.schedule.torch(opt) if trajectory.schedule.torch else None
        res, lrs = {}, []
        for k in range(1, trajectory.steps + 1):
            lrs.append(opt.param_groups[0]["lr"])
            grads = problem.gradient(k, {name: to_numpy(p) for name, p in params.items()})
            for name, p in params.items():
                p.grad = torch.from_numpy(grads[name])
            opt.step()
            if k in self.checkpoints:
                res |= {f"step{k}/{name}": to_numpy(p).copy() for name, p in params.items()}
            if schedule:
                schedule.step()
        res |= {f"grad written/{name}": to_numpy(p.grad) - grads[name]
                for name, p in params.items()}
        res["lr"] = np.array(lrs)
        for link in self.state:
            for name, p in params.items():
                value = opt.state[p][link.torch]
                res[f"state/{link.scratch}/{name}"] = (
                    np.float64(float(value)) if link.exact
                    else link.to_book(to_numpy(value).copy(), lrs[-1]))
        return res

    # ---- the checks ----
    def run(self, dtype):
        return [c for t in self.trajectories for c in self.compare_sides(t, dtype)]

    def first_lr_change(self, lrs):
        """1-based step whose lr first differs from step 1's (len + 1 when none)."""
        changed = np.flatnonzero(lrs != lrs[0])
        return int(changed[0]) + 1 if changed.size else len(lrs) + 1

    def expected_gap(self, quantity, lrs):
        if not self.gap_when_lr_changes or not quantity.startswith(("step", "state/")):
            return ""
        changed_at = self.first_lr_change(lrs)
        step = len(lrs) if quantity.startswith("state/") else int(
            quantity.split("/")[0].removeprefix("step"))
        return self.gap_when_lr_changes if step >= changed_at else ""

    def compare_sides(self, trajectory, dtype):
        label = dict(component=self.component, variant=self.variant, dtype=dtype,
                     sample=trajectory.name, oracle="torch")
        tol = tolerance_for("trajectory" if dtype == "float64" else dtype)
        # A side that raises stops the entry: the runner turns that into a CRASHED row.
        ours, theirs = self.scratch_results(trajectory, dtype), self.torch_results(trajectory,
                                                                                   dtype)
        exact = {f"state/{l.scratch}/{n}" for l in self.state if l.exact for n in SHAPES}
        exact |= {f"grad written/{n}" for n in SHAPES}
        return [compare(ours.get(q, np.array(np.nan)), expected,
                        tolerance_for("exact") if q in exact else tol,
                        expected_gap=self.expected_gap(q, theirs["lr"]), quantity=q, **label)
                for q, expected in theirs.items()]
