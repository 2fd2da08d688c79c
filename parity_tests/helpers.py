"""What several test modules share: synthetic MNIST-shaped data, a broken layer, a stand-in
torch device."""

import dataclasses

import numpy as np

import scratch.layers as S
from parity.engine import registry

# A second torch device for the speed report's GPU path on a machine without one: tensors
# on "meta" have shapes and no data, so a twin that makes a tensor on the CPU inside forward,
# or keeps one outside its parameters and buffers, fails there as it would on a GPU.
STAND_IN_DEVICE = "meta"


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
