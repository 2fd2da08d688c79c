"""Training-run parity: the same batches, the same initial weights, both sides.

``BatchSampler`` is the one sampler both sides draw from: each epoch is a
seeded permutation (shuffle without replacement -- the book's Trainer samples
with replacement).  ``train_side_by_side`` runs a scratch network with its
optimizer and the torch twin with its own, step for step, and records both
loss curves and the final parameter gap.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from parity.inputs import TORCH_DTYPE, source
from parity.transfer import read_from_torch


@dataclass(frozen=True)
class BatchSampler:
    n: int
    batch_size: int
    seed: int = 0

    def epoch(self, k):
        """Index arrays of epoch ``k``: a permutation cut into full batches."""
        order = source("batch sampler", self.seed, k).permutation(self.n)
        usable = self.n - self.n % self.batch_size
        return order[:usable].reshape(-1, self.batch_size)

    def batches(self, steps):
        """The first ``steps`` batches, epoch after epoch."""
        out, k = [], 0
        while len(out) < steps:
            out.extend(self.epoch(k))
            k += 1
        return out[:steps]


def relative_gap(a, b):
    """max|a - b| / max|b|: one number per array, comparable across steps."""
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale else float(np.max(np.abs(a - b)))


def train_side_by_side(net, twin, scratch_opt, torch_opt, x, t, batches, links,
                       dtype="float64", augment=None, on_step=None):
    """Train both sides on the same ``batches`` (index arrays into x, t).

    ``net``: scratch Network (book names); ``twin``: WithLoss module holding the
    same initial weights; ``links``: parity.transfer links between them.
    ``augment(step, xb) -> (xb_scratch, xb_torch)`` may transform each batch on
    both sides with the same random parameters.  Returns (curve, final_gaps):
    a DataFrame step/loss_scratch/loss_torch/rel_gap and {param: relative gap}.
    """
    tdtype = TORCH_DTYPE[dtype]
    x_t, t_t = torch.from_numpy(x), torch.from_numpy(np.asarray(t))
    rows = []
    twin.train()
    for step, idx in enumerate(batches, start=1):
        xb, xb_t, tb = x[idx], x_t[idx].to(tdtype), t[idx]
        if augment:
            xb, xb_t = augment(step, xb)
        loss = float(net.loss(xb, tb, train_flg=True))
        net.backward()  # d loss / d loss: the scalar loss starts its own backward
        scratch_opt.update(net.params, net.grads)

        torch_opt.zero_grad(set_to_none=True)
        loss_t = twin(xb_t, t_t[idx])
        loss_t.backward()
        torch_opt.step()
        rows.append({"step": step, "loss_scratch": loss, "loss_torch": float(loss_t)})
        if on_step:
            on_step(step)
    curve = pd.DataFrame(rows)
    curve["rel_gap"] = (curve.loss_scratch - curve.loss_torch).abs() / curve.loss_torch.abs()
    theirs = read_from_torch(twin, links)
    gaps = {k: relative_gap(net.params[k], v) for k, v in theirs.items()}
    return curve, gaps
