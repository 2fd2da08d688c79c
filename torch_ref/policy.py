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
    """G_t = sum of gamma^(k - t) r_k over t's episode from t on: the definition, as one
    matrix of discounts times the rewards -- not scratch's back-to-front recursion, so the
    two agree only if both read the definition right."""
    ends = torch.as_tensor(ends, dtype=torch.bool, device=rewards.device)
    episode = torch.cumsum(ends.long(), 0) - ends.long()  # an episode's last step is its own
    step = torch.arange(len(rewards), device=rewards.device)
    ahead = step[None, :] - step[:, None]  # k - t
    counted = (episode[None, :] == episode[:, None]) & (ahead >= 0)
    discounts = torch.where(counted, gamma ** ahead.clamp(min=0).to(rewards.dtype), 0.0)
    return discounts @ rewards


def advantages(returns):
    return returns - returns.mean()
