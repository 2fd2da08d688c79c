"""Optimizers x schedules x weight decay: 25-step trajectories against torch.optim.

Every optimizer runs every trajectory below (constant lr and each schedule, with
and without the book's weight decay; gradient feedback; a high lr; tiny gradients).
"""

import scratch.optimizers as S
import scratch.schedules as SS
import torch_ref.optimizers as T
import torch_ref.schedules as TS
from parity.engine.optim_pair import CONSTANT, OptimizerPair, Schedule, StateLink, Trajectory
from parity.engine.probes import ConventionGap
from parity.engine.registry import register

LAM = 0.1  # weight decay strength

SCHEDULES = (
    CONSTANT,
    Schedule("step decay /2 every 10", lambda o: SS.StepDecay(o, 10, gamma=0.5),
             lambda o: TS.StepDecay(o, 10, gamma=0.5)),
    Schedule("cosine over 25", lambda o: SS.CosineAnnealing(o, 25),
             lambda o: TS.CosineAnnealing(o, 25)),
    Schedule("warmup from 0.1 over 5", lambda o: SS.LinearWarmup(o, 5, start_factor=0.1),
             lambda o: TS.LinearWarmup(o, 5, start_factor=0.1)),
)
STEP_DECAY, COSINE = SCHEDULES[1], SCHEDULES[2]

TRAJECTORIES = tuple(
    Trajectory(f"{s.name}, wd {wd}", s, weight_decay=wd) for s in SCHEDULES for wd in (0.0, LAM)
) + (
    Trajectory("feedback", feedback=True),
    Trajectory("feedback, cosine, wd", COSINE, weight_decay=LAM, feedback=True),
    Trajectory("feedback, high lr x10", feedback=True, lr_scale=10.0),
    Trajectory("tiny gradients 1e-6", grad_scale=1e-6),
)

STEP = StateLink("iter", "step", exact=True)
MOMENTUM_GAP = (
    "the book's velocity v = m*v - lr*g carries the old lr into later steps; torch's buffer "
    "is in gradient units and every step uses the current lr: equal only while lr is constant")


def pair(component, convention, scratch, torch, lr, state=(), **kw):
    """One optimizer configuration, every trajectory."""
    return OptimizerPair(
        component, convention,
        scratch=lambda lr_, wd: scratch(lr_, weight_decay=wd),
        torch=torch, lr=lr, trajectories=TRAJECTORIES, state=state, **kw)


def momentum(component, scratch_cls, twin):
    """Book convention (velocity, v = -lr*buf) and torch convention (buffer) of one twin."""
    velocity = StateLink("v", "momentum_buffer", to_book=lambda buf, lr: -lr * buf)
    return (
        pair(component, "book v=-lr*buf", lambda lr, **wd: scratch_cls(lr, 0.9, **wd),
             lambda groups, lr: twin(groups, lr, 0.9), 0.05, (velocity,),
             gap_when_lr_changes=MOMENTUM_GAP),
        pair(component, "torch buffer",
             lambda lr, **wd: scratch_cls(lr, 0.9, convention="torch", **wd),
             lambda groups, lr: twin(groups, lr, 0.9), 0.05,
             (StateLink("buf", "momentum_buffer"),)),
    )


# Components are named by the scratch class (the optimizer table of the experiments,
# parity.experiments.tables, names its entries; a test keeps those names in one place).
register(
    pair(S.SGD.__name__, "default", S.SGD, T.SGD, 0.1),
    *momentum(S.Momentum.__name__, S.Momentum, T.Momentum),
    *momentum(S.Nesterov.__name__, S.Nesterov, T.Nesterov),
    pair(S.AdaGrad.__name__, "eps 1e-7", S.AdaGrad, T.AdaGrad, 0.1, (StateLink("h", "sum"),)),
    pair(S.RMSprop.__name__, "alpha=decay_rate, eps 1e-7",
         lambda lr, **wd: S.RMSprop(lr, 0.9, **wd),
         lambda groups, lr: T.RMSprop(groups, lr, 0.9), 0.01, (StateLink("h", "square_avg"),)),
    *(pair(S.Adam.__name__, convention,
           lambda lr, c=convention, **wd: S.Adam(lr, convention=c, **wd),
           lambda groups, lr, c=convention: T.Adam(groups, lr, convention=c), 0.01,
           (StateLink("m", "exp_avg"), StateLink("v", "exp_avg_sq"), STEP))
      for convention in ("book", "torch")),
    # AdamW's weight_decay is decoupled: the trajectory's wd goes to AdamW, not to the gradient
    OptimizerPair(S.AdamW.__name__, "decoupled", lambda lr, wd: S.AdamW(lr, weight_decay=wd),
                  lambda groups, lr: T.AdamW(groups, lr), 0.01, TRAJECTORIES,
                  (StateLink("m", "exp_avg"), StateLink("v", "exp_avg_sq"), STEP)),
)

register(
    ConventionGap(S.Momentum.__name__, "book v=-lr*buf", "torch buffer",
                  lambda rng: Trajectory("step decay, probe", STEP_DECAY),
                  ("step25/W1", "step25/b2"), why=MOMENTUM_GAP),
    ConventionGap(S.Adam.__name__, "book", "torch",
                  lambda rng: Trajectory("tiny gradients 1e-6, probe", grad_scale=1e-6),
                  ("step1/W1", "step25/W1", "step25/b2"),
                  why="book: eps 1e-7 on the uncorrected sqrt(v), i.e. torch eps "
                      "1e-7/sqrt(1-b2^t) (3.2e-6 at t=1): with gradients ~1e-6 the steps differ"),
)
