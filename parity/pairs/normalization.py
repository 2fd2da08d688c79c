"""BatchNormalization, 2-D and 4-D input, in the book's convention and torch's.

book:  eps 1e-6, running var biased and starting at 0, 4-D input normalised per
       activation; twin: torch_ref.layers.BookBatchNorm (F.batch_norm inside).
torch: eps 1e-5, running var unbiased and starting at 1, 4-D input per channel;
       twin: stock nn.BatchNorm1d / nn.BatchNorm2d with their default settings.
Multi-call samples train three steps and then evaluate, comparing running
statistics and outputs after every call; single-call samples (train or eval)
also go to the finite-difference oracle.
"""

import numpy as np

import scratch.layers as S
import torch_ref.layers as T
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, Call, LayerPair, Sample
from parity.engine.probes import ConventionGap
from parity.engine.registry import register
from parity.engine.transfer import Link

N, D = 6, 5  # 2-D input (N, D)
C, H, W = 3, 2, 2  # 4-D input (4, C, H, W)
EPS = {"book": 1e-6, "torch": 1e-5}
LINKS = dict(params=(Link("gamma", "weight"), Link("beta", "bias")),
             state=(Link("running_mean", "running_mean"), Link("running_var", "running_var")))


def activations(rng, shape, std):
    """Features with their own offsets and spread ``std`` (axis 1 is the feature/channel)."""
    offsets = rng.standard_normal((1, shape[1]) + (1,) * (len(shape) - 2))
    return std * (offsets + rng.standard_normal(shape))


def train_then_eval(rng, shape, steps=3):
    """``steps`` training calls (running statistics move), then one eval call."""
    calls = [Call((activations(rng, shape, 1.0),), train=True) for _ in range(steps)]
    calls.append(Call((activations(rng, shape, 1.0),), train=False))
    return Sample(f"{steps} train + eval", tuple(calls))


def samples_for(shape):
    def samples(rng):
        return [
            Sample.of("train", activations(rng, shape, 2.0), train=True),
            # from the start state the book divides by sqrt(0 + eps) = 1e-3: small inputs
            # keep its output O(1), so float32 rounding stays within assert_close's atol.
            # Eval is linear in x: the default finite-difference step has no truncation error.
            Sample.of("eval (start state)", activations(rng, shape, 1e-3), train=False),
            # very small / very large activations: eps dominates / vanishes
            # float64 only: dx is ~1e3 here and float32 rounding of BOTH sides is ~1e-7 of
            # that (measured vs float64: up to 1.7e-4 scratch, 2.4e-4 torch), over atol 1e-5
            Sample.of("train std 1e-3", activations(rng, shape, 1e-3), train=True,
                      input_scale=1e-3, dtypes=("float64",)),
            Sample.of("train std 1e3", activations(rng, shape, 1e3), train=True,
                      input_scale=1e3),
            train_then_eval(rng, shape),
        ]
    return samples


def gamma_beta(features):
    def init(rng):
        return {"gamma": 1 + 0.5 * rng.standard_normal(features),
                "beta": 0.5 * rng.standard_normal(features)}
    return init


def batch_norm(component, convention, shape, bench=None):
    # book: one statistic per activation; torch: per channel (axis 1)
    features = int(np.prod(shape[1:])) if convention == "book" else shape[1]
    eps = EPS[convention]
    return LayerPair(
        component, convention,
        scratch=lambda p: S.BatchNormalization(p["gamma"], p["beta"], eps=eps,
                                               convention=convention),
        torch=lambda p: T.BatchNormalization(len(p["gamma"]), eps=eps, convention=convention,
                                             input_ndim=len(shape)),
        samples=samples_for(shape), init_params=gamma_beta(features), bench=bench, **LINKS)


BN2, BN4 = "BatchNormalization (N,D)", "BatchNormalization (N,C,H,W)"
register(
    # timed as the BatchNorm MLP's hidden layer, training mode (batch statistics)
    batch_norm(BN2, "book", (N, D), bench=BenchSize(
        ((BENCH_BATCH, 100),), (("gamma", (100,)), ("beta", (100,))))),
    batch_norm(BN2, "torch", (N, D)),
    batch_norm(BN4, "book", (4, C, H, W)),
    batch_norm(BN4, "torch", (4, C, H, W)),
)


def one_step_then_eval(rng):
    return train_then_eval(rng, (N, D), steps=1)


def one_4d_step(rng):
    return Sample.of("train", activations(rng, (4, C, H, W), 1.0), train=True)


register(
    ConventionGap(BN2, "book", "torch", one_step_then_eval,
                  ("step1/running_var", "step2/out"),
                  why="book running var starts at 0 (torch: 1) and is biased: after one step "
                      "it is 0.1*var (0.024-0.13 here, torch 0.93-1.06), so eval divides by a "
                      "smaller std: eval output 2.8-6.2x inflated around beta on this 6-row "
                      "batch (sqrt(10) = 3.2x for unit-variance features); max abs diff 10.2"),
    ConventionGap(BN4, "book", "torch", one_4d_step, ("out",),
                  why="book normalises each of C*H*W activations over N, BatchNorm2d each "
                      "channel over N*H*W: training outputs differ by up to 3.15 (abs) on this "
                      "(4,3,2,2) batch; the eps difference (1e-6 vs 1e-5) adds only ~1e-5"),
)
