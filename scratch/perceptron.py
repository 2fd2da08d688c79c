"""Perceptrons and logic gates (the book's chapter 2), plus the perceptron learning rule.

A perceptron fires (1) when the weighted sum of its inputs plus the bias is
positive, else stays silent (0) -- exactly 0 counts as silent, as in the book's
``if tmp <= 0: return 0``.  Inputs are batched: x has shape (N, 2), one row per
input pair, and the output has shape (N,).
"""

import numpy as np

from scratch.functions import step_function

# The book's hand-picked weights and biases (ch02, p. 27-28).
GATE_WEIGHTS = {
    "AND": ((0.5, 0.5), -0.7),
    "NAND": ((-0.5, -0.5), 0.7),
    "OR": ((0.5, 0.5), -0.2),
}
TRUTH_TABLE_INPUTS = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64)
# Each gate's output on TRUTH_TABLE_INPUTS, row by row.
TRUTH_TABLES = {"AND": (0, 0, 0, 1), "NAND": (1, 1, 1, 0), "OR": (0, 1, 1, 1), "XOR": (0, 1, 1, 0)}


class Perceptron:
    """y = step(x @ w + b): w of shape (2,), b a scalar (0-d array)."""

    def __init__(self, w, b):
        self.params = {"w": w, "b": b}

    def forward(self, x):
        return step_function(x @ self.params["w"] + self.params["b"])


def gate_params(name, dtype=np.float64):
    w, b = GATE_WEIGHTS[name]
    return {"w": np.array(w, dtype=dtype), "b": np.array(b, dtype=dtype)}


class XOR:
    """XOR is not linearly separable; two layers of gates make it (book p. 34):
    s1 = NAND(x1, x2), s2 = OR(x1, x2), y = AND(s1, s2).

    ``params`` holds each gate's w and b under "<gate>_w" / "<gate>_b" keys.
    """

    GATES = ("NAND", "OR", "AND")

    def __init__(self, params):
        self.params = params
        self.gates = {g: Perceptron(params[f"{g}_w"], params[f"{g}_b"]) for g in self.GATES}

    def forward(self, x):
        s = np.stack([self.gates["NAND"].forward(x), self.gates["OR"].forward(x)], axis=-1)
        return self.gates["AND"].forward(s)


def xor_params(dtype=np.float64):
    return {f"{g}_{k}": v for g in XOR.GATES for k, v in gate_params(g, dtype).items()}


def learn(w, b, x, t, lr, epochs):
    """The perceptron learning rule, one point at a time (online), in the given order:

        y = step(x_i @ w + b);  w += lr * (t_i - y) * x_i;  b += lr * (t_i - y)

    A point already classified right (t_i == y) changes nothing.  Returns the
    trajectory: a list of (w, b) copies after every update step.
    """
    w, b = w.copy(), b.copy()
    lr = w.dtype.type(lr)
    trajectory = []
    for _ in range(epochs):
        for xi, ti in zip(x, t, strict=True):
            error = ti - step_function(xi @ w + b)
            w = w + lr * error * xi
            b = b + lr * error
            trajectory.append((w.copy(), b.copy()))
    return trajectory
