"""Optimizers (the book's ``common/optimizer.py``), each ``update(params, grads)`` in place.

As in the book, an optimizer works on the network's ``params``/``grads`` dicts and
keeps its own state per key (``v``, ``h``, ``m``); ``lr`` is a plain attribute, so a
schedule (scratch.schedules) can change it between steps.

Additions, each an explicit parameter with the book's behaviour as default:
- ``weight_decay=lam``: the book's L2 weight decay, ``grad + lam * W``, on weights only
  (keys starting with "W", or ``decay_keys``), applied before the step.  The caller's
  ``grads`` are never written into.
- ``convention="torch"`` for Momentum/Nesterov keeps torch's momentum buffer (gradient
  units) instead of the book's velocity (parameter units, v = -lr * buffer): the two
  agree only while lr is constant.
- ``convention="torch"`` for Adam puts eps on the bias-corrected sqrt(v_hat) (torch.optim.Adam);
  the book folds the bias correction into lr_t and adds eps to the uncorrected sqrt(v).
"""

import numpy as np

from scratch.checks import check_range, check_same_shapes


class Optimizer:
    def __init__(self, lr, weight_decay=0.0, decay_keys=None):
        name = type(self).__name__
        check_range(name, "lr", lr, 0, np.inf)
        check_range(name, "weight_decay", weight_decay, 0, np.inf)
        self.lr = lr
        self.weight_decay = weight_decay
        self.decay_keys = decay_keys  # None: every key starting with "W" (W1, W2, ...)

    def decays(self, key):
        return key.startswith("W") if self.decay_keys is None else key in self.decay_keys

    def with_weight_decay(self, params, grads):
        """The gradient of loss + 0.5*lam*sum(W**2): grad + lam*W for decayed keys, new dict.
        (Every update starts here: it first checks that grads match params.)"""
        check_same_shapes(f"{type(self).__name__}.update", "grads", grads, params, "params")
        if not self.weight_decay:
            return grads
        return {key: grads[key] + self.weight_decay * params[key] if self.decays(key)
                else grads[key] for key in grads}

    @staticmethod
    def zeros_like(params):
        return {key: np.zeros_like(val) for key, val in params.items()}


class SGD(Optimizer):
    def __init__(self, lr=0.01, **decay):
        super().__init__(lr, **decay)

    def update(self, params, grads):
        grads = self.with_weight_decay(params, grads)
        for key in params:
            params[key] -= self.lr * grads[key]


class Momentum(Optimizer):
    """book: v = m*v - lr*g; p += v.   torch: buf = m*buf + g; p -= lr*buf."""

    def __init__(self, lr=0.01, momentum=0.9, convention="book", **decay):
        super().__init__(lr, **decay)
        check_range(type(self).__name__, "momentum", momentum, 0, np.inf)
        self.momentum, self.convention = momentum, convention
        self.v = None  # book: velocity, in parameter units
        self.buf = None  # torch: momentum buffer, in gradient units

    def update(self, params, grads):
        grads = self.with_weight_decay(params, grads)
        if self.convention == "book":
            if self.v is None:
                self.v = self.zeros_like(params)
            for key in params:
                self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
                params[key] += self.v[key]
        else:
            if self.buf is None:
                self.buf = self.zeros_like(params)
            for key in params:
                self.buf[key] = self.momentum * self.buf[key] + grads[key]
                params[key] -= self.lr * self.step_direction(self.buf[key], grads[key])

    def step_direction(self, buf, grad):
        return buf


class Nesterov(Momentum):
    """book: p += m*m*v - (1+m)*lr*g; v = m*v - lr*g.   torch: p -= lr*(g + m*buf)."""

    def update(self, params, grads):
        if self.convention != "book":
            return super().update(params, grads)
        grads = self.with_weight_decay(params, grads)
        if self.v is None:
            self.v = self.zeros_like(params)
        for key in params:
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]

    def step_direction(self, buf, grad):
        return grad + self.momentum * buf


class AdaGrad(Optimizer):
    """h += g*g; p -= lr*g/(sqrt(h) + eps): each parameter's lr shrinks with its history."""

    def __init__(self, lr=0.01, eps=1e-7, **decay):
        super().__init__(lr, **decay)
        check_range(type(self).__name__, "eps", eps, 0, np.inf)
        self.eps = eps
        self.h = None

    def update(self, params, grads):
        grads = self.with_weight_decay(params, grads)
        if self.h is None:
            self.h = self.zeros_like(params)
        for key in params:
            self.h[key] = self.accumulate(self.h[key], grads[key])
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)

    def accumulate(self, h, grad):
        return h + grad * grad


class RMSprop(AdaGrad):
    """AdaGrad whose history fades: h = r*h + (1-r)*g*g."""

    def __init__(self, lr=0.01, decay_rate=0.99, eps=1e-7, **decay):
        super().__init__(lr, eps, **decay)
        check_range("RMSprop", "decay_rate", decay_rate, 0, 1, high_open=False)
        self.decay_rate = decay_rate

    def accumulate(self, h, grad):
        return self.decay_rate * h + (1 - self.decay_rate) * grad**2


class Adam(Optimizer):
    """book:  lr_t = lr*sqrt(1-b2^t)/(1-b1^t);  p -= lr_t*m/(sqrt(v) + 1e-7)
    torch: p -= lr/(1-b1^t) * m/(sqrt(v)/sqrt(1-b2^t) + 1e-8)

    The same up to where eps sits: the book's eps acts like torch's eps/sqrt(1-b2^t),
    which matters when sqrt(v) is not much larger than eps (tiny gradients).
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, convention="book", eps=None,
                 **decay):
        super().__init__(lr, **decay)
        check_range(type(self).__name__, "beta1", beta1, 0, 1)
        check_range(type(self).__name__, "beta2", beta2, 0, 1)
        self.beta1, self.beta2, self.convention = beta1, beta2, convention
        self.eps = eps if eps is not None else {"book": 1e-7, "torch": 1e-8}[convention]
        self.iter = 0
        self.m = self.v = None

    def update(self, params, grads):
        grads = self.with_weight_decay(params, grads)
        self.decay_weights(params)
        if self.m is None:
            self.m, self.v = self.zeros_like(params), self.zeros_like(params)
        self.iter += 1
        correction1 = 1.0 - self.beta1**self.iter
        correction2 = 1.0 - self.beta2**self.iter
        lr_t = self.lr * np.sqrt(correction2) / correction1
        for key in params:
            self.m[key] = self.m[key] + (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] = self.beta2 * self.v[key] + (1 - self.beta2) * grads[key]**2
            if self.convention == "book":
                params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + self.eps)
            else:
                denom = np.sqrt(self.v[key]) / np.sqrt(correction2) + self.eps
                params[key] -= self.lr / correction1 * self.m[key] / denom

    def decay_weights(self, params):
        """Decoupled weight decay (AdamW); Adam's own weight decay is in the gradient."""


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr*lam before the Adam step (torch.optim.AdamW).

    Not in the book; torch's eps convention by default.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, weight_decay=0.01,
                 convention="torch", eps=None, decay_keys=None):
        super().__init__(lr, beta1, beta2, convention, eps, decay_keys=decay_keys)
        self.decoupled_decay = weight_decay

    def decay_weights(self, params):
        for key in params:
            if self.decays(key):
                params[key] *= 1 - self.lr * self.decoupled_decay
