"""Dropout, the book's convention and torch's inverted one, with injected masks.

Both sides get a ``mask_source`` seeded by the same names, so the k-th training
call of either side draws the same keep-mask: parity is exact, and backward
must reuse its forward's mask.  The finite-difference oracle builds a fresh
layer per evaluation, so it too sees the first mask every time (the book's
numerical gradient, redrawing the mask on every forward, cannot work).
"""

import scratch.layers as S
import torch_ref.layers as T
from parity.engine.inputs import replayed_masks
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, Call, LayerPair, Sample
from parity.engine.probes import ConventionGap
from parity.engine.registry import register

P = 0.3  # not 0.5: 1/(1-p) is then not a power of two, so rounding is exercised


def dropout_samples(rng):
    x = rng.standard_normal((5, 8))
    return [
        Sample.of("train x(5,8)", x, train=True),
        Sample.of("eval x(5,8)", x, train=False),
        Sample.of("train x(2,3,4,4)", rng.standard_normal((2, 3, 4, 4)), train=True),
        # a new mask per training call; eval in between must not consume one
        Sample("train, train, eval, train",
               tuple(Call((rng.standard_normal((4, 6)),), train=t)
                     for t in (True, True, False, True))),
    ]


def dropout(convention):
    return LayerPair("Dropout", convention,
                     scratch=lambda p: S.Dropout(P, convention, mask_source=replayed_masks(P)),
                     torch=lambda p: T.Dropout(P, convention, mask_source=replayed_masks(P)),
                     samples=dropout_samples,
                     bench=BenchSize(((BENCH_BATCH, 30, 24, 24),)))  # SimpleConvNet's conv1


register(dropout("book"), dropout("inverted"))


def train_then_eval(rng):
    x = rng.standard_normal((4, 6))
    return Sample("train + eval", (Call((x,), train=True), Call((x,), train=False)))


register(
    ConventionGap("Dropout", "book", "inverted", train_then_eval, ("step1/out", "step2/out"),
                  why="book = inverted * (1 - p) in both modes (same mask): train x*mask vs "
                      "x*mask/(1-p), eval x*(1-p) vs x; with p = 0.3 the book is 0.7x"),
)


def flatten_samples(rng):
    return [
        Sample.of("x(2,3,4,5)", rng.standard_normal((2, 3, 4, 5))),
        Sample.of("x(3,4) already flat", rng.standard_normal((3, 4))),
        Sample.of("x(1,2,3)", rng.standard_normal((1, 2, 3))),
    ]


register(LayerPair("Flatten", "default", scratch=lambda p: S.Flatten(),
                   torch=lambda p: T.Flatten(), samples=flatten_samples,
                   bench=BenchSize(((BENCH_BATCH, 30, 12, 12),))))  # SimpleConvNet's pool
