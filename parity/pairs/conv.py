"""Convolution, max pooling, average pooling vs nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d.

One entry per layer setting (kernel, stride, padding, bias); the variant
column names the setting.  Every convolution setting is registered twice: the
book-shaped ``scratch.conv.Convolution`` and the fast ``scratch.conv_fast.FastConvolution``
the networks run (variant ending in ", fast"); each matches ``nn.Conv2d`` and the
finite differences, and a ``SameResults`` probe requires the fast one to give the
book-shaped one's numbers (float64 to rounding).  Max pooling likewise: ``scratch.conv.Pooling``
and the networks' ``scratch.conv_fast.FastPooling``.  AvgPooling's two real conventions
(count_include_pad) get an entry each and a probe that they differ.  Samples are small:
the float64 finite-difference oracle costs two forwards per input and weight element.
"""

import numpy as np

import scratch.conv as S
import scratch.conv_fast as SF
import torch_ref.conv as T
from parity.book import Formula
from parity.engine.inputs import with_values
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, LayerPair, Sample
from parity.engine.probes import ConventionGap, SameResults
from parity.engine.registry import register
from parity.engine.transfer import Link

CHAPTER = "convolution"
FORMULAS = {
    "Convolution": Formula(
        r"y_{n f i j} = \sum_{c, u, v} W_{f c u v}\, x_{n, c, s i + u - p, s j + v - p} + b_f"
        r" \;\Leftrightarrow\; Y = \mathrm{im2col}(x)\, W_{\text{col}}^{T} + b",
        r"\frac{\partial L}{\partial W_{\text{col}}} = \frac{\partial L}{\partial Y}^{T} "
        r"\mathrm{im2col}(x), \quad \frac{\partial L}{\partial x} = \mathrm{col2im}\left("
        r"\frac{\partial L}{\partial Y} W_{\text{col}}\right), \quad \frac{\partial L}"
        r"{\partial b} = \sum \frac{\partial L}{\partial Y}",
        note="s: stride, p: padding; cross-correlation (no kernel flip), as nn.Conv2d"),
    "Pooling": Formula(r"y_{n c i j} = \max_{(u, v) \in \text{window}(i, j)} x_{n c u v}",
                       r"\frac{\partial L}{\partial x_{n c u v}} = \sum_{(i,j):\, (u,v) = "
                       r"\operatorname{argmax}} \frac{\partial L}{\partial y_{n c i j}}",
                       note="the gradient goes to the first maximum of each window"),
    "AvgPooling": Formula(r"y_{n c i j} = \frac{1}{|\text{window}|} \sum_{(u, v) \in "
                          r"\text{window}(i, j)} x_{n c u v}",
                          r"\frac{\partial L}{\partial x_{n c u v}} = \sum_{(i,j) \ni (u,v)} "
                          r"\frac{1}{|\text{window}|} \frac{\partial L}{\partial y_{n c i j}}",
                          note="|window|: the kernel area (count_include_pad=True) or its real "
                               "pixels (False)"),
}


def setting(kernel, stride, pad, *extra):
    """'3x3, stride 2, pad 1' -- pairs print as (h,w)."""
    def text(v):
        h, w = (v, v) if np.ndim(v) == 0 else v
        return str(h) if h == w else f"({h},{w})"
    return ", ".join([f"{kernel[0]}x{kernel[1]}", f"stride {text(stride)}", f"pad {text(pad)}",
                      *extra])


def image_samples(shape, pooling=False):
    """rng -> samples for images of ``shape`` = (N, C, H, W).

    Every layer: a random batch, a batch of one, a few large entries.  Pooling
    adds windows full of ties (all pixels equal; small integers) and an all-negative
    image, where zero padding would win a max that -inf padding never wins.
    """
    def samples(rng):
        x = rng.standard_normal(shape)
        found = [
            Sample.of(f"x{shape}".replace(" ", ""), x),
            Sample.of("batch-of-1", rng.standard_normal((1,) + shape[1:])),
            Sample.of("large", with_values(rng.standard_normal(shape), [1e3, -1e3, 1e-8], rng)),
        ]
        if pooling:
            found += [
                Sample.of("all-negative", -1 - rng.random(shape)),
                Sample.of("windows-all-equal", np.full(shape, 0.5), smooth=False),
                Sample.of("integer-ties", rng.integers(-1, 2, shape).astype(float), smooth=False),
            ]
        return found
    return samples


FAST = "fast"  # the last part of a FastConvolution or FastPooling entry's variant


def convolution(FN, C, FH, FW, stride=1, pad=0, bias=True, samples=None, image=(8, 8),
                fast=False, bench=None, label=None):
    """A Convolution pair; ``samples`` defaults to ``image_samples`` of 2 images of ``image``.
    ``fast``: the scratch side is ``FastConvolution`` (same constructor); ``label``: a
    word for the variant where the setting alone repeats another entry's."""
    layer = SF.FastConvolution if fast else S.Convolution
    extra = ([label] if label else []) + ([] if bias else ["no bias"]) + ([FAST] if fast else [])
    def init_params(rng):
        params = {"W": rng.standard_normal((FN, C, FH, FW)) / np.sqrt(C * FH * FW)}
        return params | ({"b": rng.standard_normal(FN)} if bias else {})

    return LayerPair(
        "Convolution", setting((FH, FW), stride, pad, *extra),
        scratch=lambda p: layer(p["W"], p.get("b"), stride, pad),
        torch=lambda p: T.Convolution(*p["W"].shape, stride, pad, bias),
        samples=samples or image_samples((2, C) + image), init_params=init_params,
        params=(Link("W", "weight"),) + ((Link("b", "bias"),) if bias else ()), bench=bench,
        doc="nn.Conv2d: same weight layout, no kernel flip")


def max_pooling(kernel, stride=None, pad=0, samples=None, image=(2, 3, 6, 6), bench=None,
                fast=False):
    """A max Pooling pair; ``fast``: the scratch side is ``FastPooling`` (same constructor)."""
    layer = SF.FastPooling if fast else S.Pooling
    return LayerPair(
        "Pooling", setting(kernel, stride or kernel, pad, *([FAST] if fast else [])),
        scratch=lambda p: layer(*kernel, stride, pad),
        torch=lambda p: T.Pooling(*kernel, stride, pad),
        samples=samples or image_samples(image, pooling=True), bench=bench,
        doc="nn.MaxPool2d: -inf padding, gradient to the first maximum of a window")


def avg_pooling(kernel, stride=None, pad=0, count_include_pad=True, samples=None,
                image=(2, 3, 6, 6), bench=None):
    extra = [] if count_include_pad else ["count_include_pad=False"]
    return LayerPair(
        "AvgPooling", setting(kernel, stride or kernel, pad, *extra),
        scratch=lambda p: S.AvgPooling(*kernel, stride, pad, count_include_pad),
        torch=lambda p: T.AvgPooling(*kernel, stride, pad, count_include_pad),
        samples=samples or image_samples(image, pooling=True), bench=bench,
        doc="nn.AvgPool2d; count_include_pad=True (torch's default) divides by the window area")


CONVOLUTIONS = [  # (FN, C, FH, FW), settings
    # SimpleConvNet's first layer (C = 1, 5x5), on small images; timed at its real size
    ((3, 1, 5, 5), dict(bench=BenchSize(((BENCH_BATCH, 1, 28, 28),),
                                        (("W", (30, 1, 5, 5)), ("b", (30,)))))),
    # timed as a DeepConvNet-like layer, 16 -> 32 channels on 14x14
    ((4, 3, 3, 3), dict(pad=1, image=(5, 5), bench=BenchSize(
        ((BENCH_BATCH, 16, 14, 14),), (("W", (32, 16, 3, 3)), ("b", (32,)))))),
    # DeepConvNet's 3x3 layers with as many filters as channels: FastConvolution's input
    # gradient is then a correlation with the turned filters (not col2im); timed at 16 -> 16
    ((3, 3, 3, 3), dict(pad=1, image=(6, 6), label="as many filters as channels",
                        bench=BenchSize(((BENCH_BATCH, 16, 28, 28),),
                                        (("W", (16, 16, 3, 3)), ("b", (16,)))))),
    # non-square kernel, stride 2, bias off
    ((3, 2, 2, 3), dict(stride=2, pad=1, bias=False, image=(6, 7))),
    # non-square stride and pad; rows 6 and 7 fall outside every window (their dx is 0)
    ((2, 2, 3, 2), dict(stride=(3, 1), pad=(0, 1), image=(8, 5))),
]
for sizes, kw in CONVOLUTIONS:
    book, fast = convolution(*sizes, **kw), convolution(*sizes, **kw, fast=True)
    register(book, fast, SameResults.of(fast, book))

MAX_POOLINGS = [  # kernel, settings
    ((2, 2), dict(bench=BenchSize(((BENCH_BATCH, 30, 24, 24),)))),  # SimpleConvNet's
    ((3, 3), dict(stride=2, pad=1, image=(2, 2, 7, 7))),  # overlapping windows
    ((2, 3), dict(stride=(1, 2), pad=(1, 1), image=(2, 2, 5, 6))),
]
for kernel, kw in MAX_POOLINGS:
    book, fast = max_pooling(kernel, **kw), max_pooling(kernel, **kw, fast=True)
    register(book, fast, SameResults.of(fast, book))

register(
    avg_pooling((2, 2), bench=BenchSize(((BENCH_BATCH, 6, 28, 28),))),  # LeNet-5's C1 output
    avg_pooling((3, 3), stride=2, pad=1, image=(2, 2, 7, 7)),
    avg_pooling((3, 3), stride=2, pad=1, count_include_pad=False, image=(2, 2, 7, 7)),
    avg_pooling((2, 3), stride=(1, 2), pad=(1, 1), image=(2, 2, 5, 6)),
)


def padded_avg_sample(rng):
    return Sample.of("x(2,2,7,7)", rng.standard_normal((2, 2, 7, 7)))


register(
    ConventionGap("AvgPooling", setting((3, 3), 2, 1),
                  setting((3, 3), 2, 1, "count_include_pad=False"), padded_avg_sample,
                  ("out", "dx"),
                  why="count_include_pad=True divides border windows by 9 although only 4 "
                      "or 6 of their pixels are real; False divides by the real count"),
)
