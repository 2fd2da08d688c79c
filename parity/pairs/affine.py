"""Affine: the book's W (in, out) against nn.Linear's weight (out, in)."""

import scratch.layers as S
import torch_ref.layers as T
from parity.engine.inputs import with_values
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, LayerPair, Sample
from parity.engine.registry import register
from parity.engine.transfer import Link

N_IN, N_OUT = 12, 5


def affine_params(rng):
    return {"W": rng.standard_normal((N_IN, N_OUT)) * 0.5, "b": rng.standard_normal(N_OUT)}


def affine_samples(rng):
    return [
        Sample.of("x(4,12)", rng.standard_normal((4, N_IN))),
        # the book flattens any input silently: (N, C, H, W) -> (N, C*H*W)
        Sample.of("x(3,3,2,2)", rng.standard_normal((3, 3, 2, 2))),
        Sample.of("batch-of-1", rng.standard_normal((1, N_IN))),
        Sample.of("large", with_values(rng.standard_normal((2, N_IN)), [1e3, -1e3, 1e-8], rng)),
    ]


register(
    LayerPair("Affine", "book-layout (in,out)", scratch=lambda p: S.Affine(p["W"], p["b"]),
              torch=lambda p: T.Affine(*p["W"].shape), samples=affine_samples,
              init_params=affine_params,
              params=(Link("W", "1.weight", "transpose"), Link("b", "1.bias")),
              # timed as the MLP's first layer, 784 -> 100
              bench=BenchSize(((BENCH_BATCH, 784),), (("W", (784, 100)), ("b", (100,)))),
              doc="nn.Linear stores weight (out, in): transfer W.T, compare dW transposed"),
)
