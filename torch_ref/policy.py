"""PyTorch twin of ``scratch.policy``'s network, returns, baseline and loss (the game's
recorded episodes -- states, actions, rewards -- are data, the same for both sides)."""

import torch
import torch.nn.functional as F
from torch import nn


def PolicyNetwork(cells, hidden, actions=2):
    return nn.Sequential(nn.Linear(cells, hidden), nn.Tanh(), nn.Linear(hidden, actions))


class ReinforceLoss(nn.Module):
    """-mean(advantage * log pi(action)): cross-entropy per step, weighted."""

    def forward(self, logits, actions, advantages):
        return (F.cross_entropy(logits, actions, reduction="none") * advantages).mean()


def discounted_returns(rewards, ends, gamma):
    """G_t = r_t + gamma G_{t+1}, restarting at each episode's last step."""
    returns = torch.zeros_like(rewards)
    g = torch.zeros((), dtype=rewards.dtype)
    for i in reversed(range(len(rewards))):
        g = rewards[i] + (0.0 if ends[i] else gamma * g)
        returns[i] = g
    return returns


def advantages(returns):
    return returns - returns.mean()
