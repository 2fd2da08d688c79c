"""What several test modules share: synthetic MNIST-shaped data and a broken layer."""

import dataclasses

import numpy as np

import scratch.layers as S
from parity.engine import registry


def synthetic_mnist(n, seed=0):
    """``n`` random 'images' (n, 784) in [0, 1) and labels: MNIST's shapes, none of its data."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 784)), rng.integers(0, 10, n)


class BrokenTanh(S.Tanh):
    def backward(self, dout):
        return dout * (1 - self.out)  # missing the square


def broken_tanh_entry():
    """The registry's tanh entry with ``BrokenTanh`` on the scratch side: its float64 dx fails."""
    return dataclasses.replace(registry.find("tanh", "default"), scratch=lambda p: BrokenTanh())
