"""The book's chapter-6 experiments, run on both sides at once.

Each experiment trains (or, for the activation histograms, just runs) a scratch
``MultiLayerNet`` with the book's conventions and its torch twin from the same
initial weights, on the same batches (``parity.experiments.training.BatchSampler``) and,
with dropout, the same masks.  It returns an ``Outcome``: every curve the book
plots, sampled on both sides (long format: experiment, config, curve, x,
scratch, torch), and gaps that are not curves (final weights, raw activations).

Settings mirror the book's scripts (``QUICK`` shortens them for the default
report, ``FULL`` is the book's own length); ``hidden`` and the data sizes can
shrink everything for tests.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

import scratch.models as SM
import torch_ref.layers as TL
import torch_ref.models as TM
from parity.engine.inputs import NP_DTYPE, TORCH_DTYPE, source
from parity.engine.transfer import to_numpy
from parity.experiments.tables import OPTIMIZERS, SGD, Optimizer
from parity.experiments.training import (
    BatchSampler,
    build_pair,
    load_mnist,
    mask_factory,
    train_side_by_side,
    twin_parameters,
)
from parity.experiments.training import accuracies as side_accuracies


@dataclass(frozen=True)
class Settings:
    """How long and how big; the defaults are the book's scripts."""

    steps: int = 2000  # optimizer and weight-init comparisons (iterations)
    batch_size: int = 128
    hidden: int = 100  # width of every hidden layer
    bn_scales: tuple = tuple(np.logspace(0, -4, num=16))  # batch_norm_test's weight scales
    bn_samples: int = 1000
    bn_epochs: int = 20
    overfit_samples: int = 300
    overfit_epochs: int = 200
    test_samples: int | None = None  # None: the whole test set
    histogram_samples: int = 1000
    dtype: str = "float64"


FULL = Settings()
# the report section in 85-87 s on the shared 2-core machine (measured, load ~5)
QUICK = Settings(steps=500, bn_scales=tuple(np.logspace(0, -4, num=4)), bn_epochs=10,
                 overfit_epochs=60, test_samples=2000)


@dataclass(frozen=True)
class Data:
    x: np.ndarray
    t: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray


@dataclass
class Outcome:
    experiment: str
    curves: pd.DataFrame
    gaps: list = field(default_factory=list)  # rows: config, quantity, max_abs_gap


def mnist(dtype="float64"):
    """MNIST as ``Data`` (pixels in [0, 1], flat); raises ``Skipped`` when it is absent."""
    (x, t), (x_test, t_test) = load_mnist(flatten=True, dtype=dtype)
    return Data(x, t, x_test, t_test)


# ---- one configuration on both sides ----

@dataclass(frozen=True)
class Config:
    """A MultiLayerNet and its optimizer, as the book's scripts set them up."""

    label: str
    layers: int = 4  # hidden layers
    weight_init_std: object = "relu"
    activation: str = "relu"
    batchnorm: bool = False
    dropout: float = 0.0
    optimizer: Optimizer = SGD  # a parity.experiments.tables entry
    lr: float | None = None  # None: the book's lr for this optimizer
    weight_decay: float = 0.0


def build(config, n_in, hidden, dtype, seed=0):
    """The scratch net (book init, seeded) and its twin holding the same weights."""
    sizes = (hidden,) * config.layers
    masks = mask_factory(config.dropout, "ch6", config.label)
    eps = SM.BATCHNORM_EPS["book"]

    def make_net(**kw):
        return SM.MultiLayerNet(n_in, sizes, 10, config.activation, config.weight_init_std,
                                use_batchnorm=config.batchnorm, use_dropout=bool(config.dropout),
                                dropout_ratio=config.dropout, dropout_masks=masks(), **kw)

    def make_twin():
        next_source = masks()
        bn = (lambda n: TL.BatchNormalization(n, eps=eps, convention="book")) \
            if config.batchnorm else None
        drop = (lambda: TL.Dropout(config.dropout, "book", mask_source=next_source())) \
            if config.dropout else None
        return TM.with_book_loss(TM.MultiLayerNet(n_in, sizes, 10, config.activation, bn, drop))

    return build_pair(make_net, make_twin, dtype, seed)


def optimizers(config, setup):
    """The scratch optimizer and its twin; weight decay on weights only (param groups)."""
    optimizer = config.optimizer
    lr = optimizer.lr if config.lr is None else config.lr
    named = zip((link.scratch for link in setup.links), twin_parameters(setup.twin, setup.links))
    return optimizer.with_decay(lr, config.weight_decay, named)


def train(config, x, t, steps, batch_size, settings, every=None, evaluate=None, progress=None):
    """Train ``config`` on both sides: loss rows per step, and ``evaluate`` rows (x = epoch)
    before training and every ``every`` steps.  ``evaluate(setup) -> {curve: (s, t)}``."""
    setup = build(config, x.shape[1], settings.hidden, settings.dtype)
    scratch_opt, torch_opt = optimizers(config, setup)
    batches = BatchSampler(len(x), batch_size, seed=0).batches(steps)
    rows = []

    def record(epoch):
        for curve, (s, tw) in evaluate(setup).items():
            rows.append({"config": config.label, "curve": curve, "x": epoch,
                         "scratch": s, "torch": tw})

    def on_step(step):
        if progress:
            progress(1)
        if evaluate and step % every == 0:
            record(step // every)

    if evaluate:
        record(0)
    curve, final = train_side_by_side(setup.net, setup.twin, scratch_opt, torch_opt, x, t,
                                      batches, setup.links, settings.dtype, on_step=on_step)
    rows += [{"config": config.label, "curve": "loss", "x": r.step, "scratch": r.loss_scratch,
              "torch": r.loss_torch} for r in curve.itertuples()]
    return rows, array_gap(config.label, "final weights (all W, b, ...)",
                           [(setup.net.params[k], v) for k, v in final.items()])


def array_gap(config, quantity, pairs):
    """A gap-table row for (scratch array, torch array) pairs: max |difference| over the
    entries finite on both sides, and how many are not."""
    with np.errstate(invalid="ignore"):  # inf - inf: counted below, not warned about
        diffs = np.concatenate([np.abs(a - b).ravel() for a, b in pairs])
    finite = np.isfinite(diffs)
    return {"config": config, "quantity": quantity, "points": diffs.size,
            "non-finite": int((~finite).sum()),
            "max_abs_gap": float(diffs[finite].max()) if finite.any() else np.nan}


def accuracies(sets):
    """``evaluate`` for ``train``: accuracy on each named (x, t) of ``sets``, both sides."""
    def evaluate(setup):
        return {name: tuple(side_accuracies(setup, x, t).values())
                for name, (x, t) in sets.items()}
    return evaluate


def run_configs(name, configs, fit, progress=None):
    """``fit(config, progress) -> (rows, gap row)`` per config, collected into an Outcome."""
    rows, gaps = [], []
    for config in configs:
        r, gap = fit(config, progress)
        rows += r
        gaps.append(gap)
    return Outcome(name, pd.DataFrame(rows), gaps)


# ---- the experiments ----

def optimizer_compare(data, s, progress=None):
    """optimizer_compare_mnist: MultiLayerNet 784-[100]*4-10, batch 128, four optimizers."""
    configs = [Config(optimizer.name, optimizer=optimizer) for optimizer in OPTIMIZERS]
    return run_configs("optimizer comparison", configs, lambda c, p: train(
        c, data.x, data.t, s.steps, s.batch_size, s, progress=p), progress)


def weight_init_compare(data, s, progress=None):
    """weight_init_compare: the same net with std 0.01, the book's 'Xavier' and He; SGD .01."""
    configs = [Config("std=0.01", weight_init_std=0.01),
               Config("Xavier (book: sqrt(1/n))", weight_init_std="sigmoid"),
               Config("He (sqrt(2/n))", weight_init_std="relu")]
    return run_configs("weight-init comparison", configs, lambda c, p: train(
        c, data.x, data.t, s.steps, s.batch_size, s, progress=p), progress)


def batch_norm_compare(data, s, progress=None):
    """batch_norm_test: 784-[100]*5-10 on 1000 samples, SGD .01, with and without
    BatchNorm (the book's convention) for each weight scale; train accuracy per epoch."""
    n = min(s.bn_samples, len(data.x))
    x, t = data.x[:n], data.t[:n]
    epoch = max(n // 100, 1)
    train_acc = accuracies({"train acc": (x, t)})
    configs = [Config(f"w={w:.3g}, {'BatchNorm' if bn else 'no BatchNorm'}", layers=5,
                      weight_init_std=float(w), batchnorm=bn)
               for w in s.bn_scales for bn in (True, False)]
    return run_configs("BatchNorm vs none", configs, lambda c, p: train(
        c, x, t, s.bn_epochs * epoch, 100, s, every=epoch, evaluate=train_acc, progress=p),
        progress)


def overfit_compare(data, s, progress=None):
    """overfit_weight_decay / overfit_dropout: 784-[100]*6-10 on 300 samples, SGD .01;
    none, weight decay lambda 0.1 (weights only), dropout 0.2 (book convention)."""
    n = min(s.overfit_samples, len(data.x))
    x, t = data.x[:n], data.t[:n]
    test = slice(None, s.test_samples)
    sets = {"train acc": (x, t), "test acc": (data.x_test[test], data.t_test[test])}
    epoch = max(n // 100, 1)
    configs = [Config("no regularization", layers=6),
               Config("weight decay 0.1", layers=6, weight_decay=0.1),
               Config("dropout 0.2", layers=6, dropout=0.2)]
    return run_configs("overfitting: weight decay and dropout", configs, lambda c, p: train(
        c, x, t, s.overfit_epochs * epoch, 100, s, every=epoch,
        evaluate=accuracies(sets), progress=p), progress)


HISTOGRAM_CONFIGS = [("sigmoid", 1.0), ("sigmoid", 0.01), ("sigmoid", "xavier"),
                     ("tanh", "xavier"), ("relu", 0.01), ("relu", "xavier"), ("relu", "he")]
BINS = np.linspace(-1, 1, 41)  # tanh lies in (-1, 1), sigmoid in (0, 1); ReLU clipped at 1


def scratch_activations(net, x):
    outs = []
    for name, layer in net.layers.items():
        x = layer.forward(x)
        if name.startswith("Activation"):
            outs.append(x)
    return outs


def twin_activations(twin, x, dtype):
    outs, h = [], torch.from_numpy(x).to(TORCH_DTYPE[dtype])
    with torch.no_grad():
        for module in twin.net:
            h = module(h)
            if isinstance(module, tuple(TM.ACTIVATIONS.values())):
                outs.append(to_numpy(h))
    return outs


def activation_histograms(s, layers=5):
    """weight_init_activation_histogram: 5 layers x 100 units, 1000 x 100 random input;
    per layer the histogram of the activations, both sides (no training)."""
    x = source("ch6", "activation histogram").standard_normal(
        (s.histogram_samples, s.hidden)).astype(NP_DTYPE[s.dtype])
    rows, gaps = [], []
    for activation, std in HISTOGRAM_CONFIGS:
        label = f"{activation}, std={std}"
        config = Config(label, layers=layers, weight_init_std=std, activation=activation)
        setup = build(config, s.hidden, s.hidden, s.dtype)
        scratch_out = scratch_activations(setup.net, x)
        twin_out = twin_activations(setup.twin, x, s.dtype)
        for k, (a, b) in enumerate(zip(scratch_out, twin_out), start=1):
            hs, _ = np.histogram(np.clip(a, -1, 1), BINS)
            ht, _ = np.histogram(np.clip(b, -1, 1), BINS)
            rows += [{"config": label, "curve": f"layer {k} histogram", "x": c, "scratch": u,
                      "torch": v} for c, u, v in zip((BINS[1:] + BINS[:-1]) / 2, hs, ht)]
        gaps.append(array_gap(label, "activations, all layers", zip(scratch_out, twin_out)))
    return Outcome("activation histograms", pd.DataFrame(rows), gaps)


TRAINED = (optimizer_compare, weight_init_compare, batch_norm_compare, overfit_compare)


def planned_steps(data, s):
    """Total training steps of the trained experiments (for one progress bar)."""
    bn = s.bn_epochs * max(min(s.bn_samples, len(data.x)) // 100, 1) * 2 * len(s.bn_scales)
    overfit = s.overfit_epochs * max(min(s.overfit_samples, len(data.x)) // 100, 1) * 3
    return s.steps * (len(OPTIMIZERS) + 3) + bn + overfit


def gap_table(outcome):
    """Max |scratch - torch| (and the max relative gap) per config and curve over the points
    finite on both sides, plus the outcome's non-curve gaps.  ``non-finite`` counts points
    where either side is inf/NaN (a diverged run)."""
    df = outcome.curves
    finite = np.isfinite(df.scratch) & np.isfinite(df.torch)
    df = df.assign(gap=(df.scratch - df.torch).abs().where(finite), finite=finite)
    df["rel"] = df.gap / df.torch.abs().where(df.torch != 0)
    rows = [{"config": c, "quantity": q, "points": len(g), "non-finite": int((~g.finite).sum()),
             "max_abs_gap": g.gap.max(), "max_rel_gap": g.rel.max()}
            for (c, q), g in df.groupby(["config", "curve"], sort=False)]
    table = pd.DataFrame(rows + outcome.gaps)
    return table.assign(experiment=outcome.experiment)[
        ["experiment", "config", "quantity", "points", "non-finite", "max_abs_gap",
         "max_rel_gap"]]
