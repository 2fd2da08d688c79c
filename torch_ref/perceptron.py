"""PyTorch twins of ``scratch.perceptron``: nn.Linear + torch.heaviside, and the
perceptron learning rule as plain SGD on the perceptron criterion.
"""

import torch
from torch import nn


def step(z):
    """1 where z > 0, else 0: ``heaviside`` with value 0 at the kink, as the book."""
    return torch.heaviside(z, torch.zeros((), dtype=z.dtype))


class Perceptron(nn.Module):
    """step(x @ weight.T + bias) for x of shape (N, 2); output (N,)."""

    def __init__(self, in_features=2):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return step(self.linear(x).squeeze(-1))


class XOR(nn.Module):
    """AND(NAND(x), OR(x)): three perceptrons in two layers."""

    def __init__(self):
        super().__init__()
        self.nand, self.or_, self.and_ = Perceptron(), Perceptron(), Perceptron()

    def forward(self, x):
        return self.and_(torch.stack([self.nand(x), self.or_(x)], dim=-1))


def learn(module, x, t, lr, epochs):
    """The perceptron learning rule, online, as ``torch.optim.SGD`` steps.

    The perceptron criterion for one point, loss = -(t - y) * z with z = w.x + b
    and y = step(z) held constant, has gradient -(t - y) * x for w and -(t - y)
    for b; one SGD step is then exactly w += lr * (t - y) * x, b += lr * (t - y).
    Returns the trajectory: (weight, bias) copies after every step.
    """
    opt = torch.optim.SGD(module.parameters(), lr=lr)
    trajectory = []
    for _ in range(epochs):
        for xi, ti in zip(x, t, strict=True):
            z = module.linear(xi.unsqueeze(0)).squeeze()
            loss = -(ti - step(z.detach())) * z
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            trajectory.append(tuple(p.detach().clone() for p in module.linear.parameters()))
    return trajectory
