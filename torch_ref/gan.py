"""PyTorch twin of ``scratch.gan``: ``nn.Sequential`` MLPs, ``F.binary_cross_entropy_with_logits``
(torch's stable form, the scratch ``BCEWithLogits``'s twin), the same alternating step."""

import torch
import torch.nn.functional as F
from torch import nn

BCEWithLogits = nn.BCEWithLogitsLoss


def MLP(sizes, last=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last is not None:
        layers.append(last)
    return nn.Sequential(*layers)


class GAN(nn.Module):
    def __init__(self, g_sizes, d_sizes):
        super().__init__()
        self.G = MLP(g_sizes, nn.Sigmoid())
        self.D = MLP(d_sizes)

    def attach(self, g_optimizer, d_optimizer):
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        return self

    def d_step(self, real, z):
        fake = self.G(z).detach()  # D's step: G's images are data
        x = torch.cat([real, fake])
        t = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)]).to(x)
        loss = F.binary_cross_entropy_with_logits(self.D(x), t)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()
        return loss.item()

    def g_step(self, z):
        logits = self.D(self.G(z))
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        self.g_optimizer.zero_grad(set_to_none=True)
        loss.backward()  # also fills D's .grad: cleared by the next d_step's zero_grad
        self.g_optimizer.step()
        return loss.item()

    def train_step(self, real, z_d, z_g):
        return self.d_step(real, z_d), self.g_step(z_g)

    @torch.no_grad()
    def sample(self, z):
        return self.G(z)
