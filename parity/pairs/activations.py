"""Activations: step (forward only), sigmoid, tanh, ReLU, softmax."""

import numpy as np

import scratch.layers as S
import torch_ref.layers as T
from parity.book import Formula
from parity.engine.inputs import with_values
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, LayerPair, Sample
from parity.engine.registry import register

CHAPTER = "activations"
FORMULAS = {
    "step": Formula(r"y = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}"),
    "sigmoid": Formula(r"y = \frac{1}{1 + e^{-x}}",
                       r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} "
                       r"\odot y (1 - y)"),
    "tanh": Formula(r"y = \tanh x",
                    r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} "
                    r"\odot (1 - y^2)"),
    "relu": Formula(r"y = \max(0, x)",
                    r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} \odot "
                    r"\mathbf{1}[x > 0]"),
    "softmax": Formula(r"y_k = \frac{\exp(x_k - \max_j x_j)}{\sum_i \exp(x_i - \max_j x_j)}",
                       r"\frac{\partial L}{\partial x_k} = y_k \left(\frac{\partial L}"
                       r"{\partial y_k} - \sum_i \frac{\partial L}{\partial y_i} y_i\right)"),
}

EXTREMES = [1000.0, -1000.0, 800.0, -800.0, 30.0, -30.0]


def elementwise_samples(rng):
    """Random values; exact kinks (0); saturating extremes (+-1000); 4-D input."""
    return [
        Sample.of("randn(5,7)", rng.standard_normal((5, 7)) * 2),
        Sample.of("zeros-and-randn", with_values(rng.standard_normal((4, 6)), [0.0] * 6, rng),
                  smooth=False),
        Sample.of("extremes", with_values(rng.standard_normal((3, 8)), EXTREMES, rng)),
        Sample.of("randn(2,3,4,5)", rng.standard_normal((2, 3, 4, 5))),
    ]


def softmax_samples(rng):
    return [
        Sample.of("logits(6,10)", rng.standard_normal((6, 10)) * 3),
        Sample.of("logits+-1000", with_values(rng.standard_normal((4, 10)), EXTREMES, rng)),
        Sample.of("ties", np.repeat(rng.standard_normal((3, 1)), 5, axis=1)),
        Sample.of("one-row", rng.standard_normal((1, 4))),
        # "over the last axis" also for (N, T, C) scores, where axis 1 is not the last
        Sample.of("logits(2,3,5)", rng.standard_normal((2, 3, 5)) * 3),
    ]


def stateless(component, scratch_cls, twin, samples=elementwise_samples, **kw):
    return LayerPair(component, "default", scratch=lambda p: scratch_cls(),
                     torch=lambda p: twin(), samples=samples, **kw)


# timed where activations cost: SimpleConvNet's conv1 output
ACTIVATION_BENCH = BenchSize(((BENCH_BATCH, 30, 24, 24),))
register(
    # forward only: its derivative is 0 almost everywhere and undefined at 0
    stateless("step", S.Step, T.Step, backward=False, grad_inputs=(), bench=ACTIVATION_BENCH),
    stateless("sigmoid", S.Sigmoid, T.Sigmoid, bench=ACTIVATION_BENCH),
    stateless("tanh", S.Tanh, T.Tanh, bench=ACTIVATION_BENCH),
    # ReLU at exactly 0: book and F.relu both give gradient 0 (torch.maximum would give 0.5).
    stateless("relu", S.Relu, T.Relu, bench=ACTIVATION_BENCH),
    stateless("softmax", S.Softmax, T.Softmax, samples=softmax_samples),
)

