"""Learning-rate schedules that drive any scratch optimizer by setting ``optimizer.lr``.

Protocol, as torch.optim.lr_scheduler: construction sets the lr of step 1;
call ``step()`` after each ``optimizer.update(...)`` to set the lr of the next one.
Each schedule is a closed-form ``lr_at(t)`` of the number ``t`` of steps taken.
"""

import math


class Schedule:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.t = 0
        optimizer.lr = self.lr_at(0)

    def step(self):
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)

    def lr_at(self, t):
        raise NotImplementedError


class StepDecay(Schedule):
    """lr * gamma^(t // step_size): multiply by gamma every ``step_size`` steps."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineAnnealing(Schedule):
    """Half a cosine from lr down to ``eta_min`` over ``t_max`` steps."""

    def __init__(self, optimizer, t_max, eta_min=0.0):
        self.t_max, self.eta_min = t_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, t):
        cosine = (1 + math.cos(math.pi * t / self.t_max)) / 2  # 1 -> 0
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class LinearWarmup(Schedule):
    """From ``start_factor * lr`` linearly up to lr over ``warmup_steps`` steps, then lr."""

    def __init__(self, optimizer, warmup_steps, start_factor=0.1):
        self.warmup_steps, self.start_factor = warmup_steps, start_factor
        super().__init__(optimizer)

    def lr_at(self, t):
        progress = min(t, self.warmup_steps) / self.warmup_steps
        return self.base_lr * (self.start_factor + (1 - self.start_factor) * progress)
