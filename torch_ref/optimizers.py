"""PyTorch twins of ``scratch.optimizers``: stock ``torch.optim`` configured for exact parity,
plus the book's Adam (which no setting of ``torch.optim.Adam`` reproduces).

Configuration that makes stock optimizers the book's:
  Momentum/Nesterov  SGD(momentum=m[, nesterov=True])  (book v = -lr * momentum_buffer)
  AdaGrad            Adagrad(eps=1e-7)                  (torch default 1e-10)
  RMSprop            RMSprop(alpha=decay_rate, eps=1e-7) (torch default 1e-8)
The book's weight decay touches weights only: ``param_groups`` gives weights
``weight_decay=lam`` and every other parameter (biases, BN gamma/beta) 0.
"""

import math

import torch


def param_groups(named_params, weight_decay=0.0, decays=lambda name: name.startswith("W")):
    """Two groups: decayed weights and the rest (weight_decay 0)."""
    named = list(named_params)
    return [{"params": [p for n, p in named if decays(n)], "weight_decay": weight_decay},
            {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0}]


def SGD(params, lr=0.01):
    return torch.optim.SGD(params, lr=lr)


def Momentum(params, lr=0.01, momentum=0.9):
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


def Nesterov(params, lr=0.01, momentum=0.9):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True)


def AdaGrad(params, lr=0.01, eps=1e-7):
    return torch.optim.Adagrad(params, lr=lr, eps=eps)


def RMSprop(params, lr=0.01, decay_rate=0.99, eps=1e-7):
    return torch.optim.RMSprop(params, lr=lr, alpha=decay_rate, eps=eps)


def Adam(params, lr=0.001, beta1=0.9, beta2=0.999, convention="book", eps=None):
    """``eps=None``: the convention's own (book 1e-7, torch 1e-8), as scratch's Adam."""
    if convention == "book":
        return BookAdam(params, lr=lr, betas=(beta1, beta2), eps=1e-7 if eps is None else eps)
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2),
                            eps=1e-8 if eps is None else eps)


def AdamW(params, lr=0.001, beta1=0.9, beta2=0.999, weight_decay=0.01, convention="torch",
          eps=None):
    """Decoupled weight decay; each group's ``weight_decay`` (param_groups) overrides."""
    if convention == "book":
        return BookAdam(params, lr=lr, betas=(beta1, beta2), eps=1e-7 if eps is None else eps,
                        weight_decay=weight_decay, decoupled=True)
    return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay,
                             eps=1e-8 if eps is None else eps)


class BookAdam(torch.optim.Optimizer):
    """The book's Adam: bias correction folded into lr_t, eps on the uncorrected sqrt(v).

        lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t);   p -= lr_t * m / (sqrt(v) + eps)

    State keys as torch.optim.Adam's (``step``, ``exp_avg``, ``exp_avg_sq``);
    ``weight_decay`` is added to the gradient (L2, the book's and Adam's way), or with
    ``decoupled=True`` (AdamW) multiplies the weights by 1 - lr*weight_decay first.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.0,
                 decoupled=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.decoupled = decoupled

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if self.decoupled:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                elif group["weight_decay"]:
                    grad = p.grad + group["weight_decay"] * p
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                lr_t = group["lr"] * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                m.add_(grad - m, alpha=1 - beta1)
                v.mul_(beta2).add_(grad * grad, alpha=1 - beta2)
                p.sub_(lr_t * m / (v.sqrt() + group["eps"]))
