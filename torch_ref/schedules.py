"""Twins of ``scratch.schedules``: the stock ``torch.optim.lr_scheduler`` classes.

torch computes these recursively from the previous lr (scratch: closed form);
the two agree to rounding, which the parity trajectories measure.
"""

from torch.optim import lr_scheduler


def StepDecay(optimizer, step_size, gamma=0.1):
    return lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def CosineAnnealing(optimizer, t_max, eta_min=0.0):
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=eta_min)


def LinearWarmup(optimizer, warmup_steps, start_factor=0.1):
    return lr_scheduler.LinearLR(optimizer, start_factor=start_factor, end_factor=1.0,
                                 total_iters=warmup_steps)
