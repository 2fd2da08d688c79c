"""Whole networks as twin pairs: logits, loss, input gradient and every parameter gradient.

Components are named by the scratch class (the model table of the experiments,
``parity.experiments.tables``, names the trained models; a test keeps those names in
one place).

Small configurations keep the finite-difference oracle affordable; the book's
full-size networks are exercised by the published-weights and training checks.
"""

from dataclasses import replace

import numpy as np

import scratch.models as S
import torch_ref.layers as TL
import torch_ref.models as T
import torch_ref.notes as TN
from parity.book import Formula
from parity.engine.inputs import labels, one_hot
from parity.engine.layer_pair import Call, LayerPair, Sample
from parity.engine.probes import SameResults
from parity.engine.registry import register
from parity.engine.transfer import book_links
from parity.experiments.training import mask_factory, masks_as_layers
from parity.pairs.losses import fd_gap_of

CHAPTER = "networks"
CHAPTER_OF = {"study notes: SimpleCNN": "notes"}
FORMULAS = {
    "TwoLayerNet": Formula(r"y = \mathrm{softmax}(\mathrm{ReLU}(x W_1 + b_1) W_2 + b_2)",
                           r"\text{backward: each layer's backward, last layer first}"),
}

N_IN, HIDDEN, N_OUT = 12, (9, 7), 4


def mlp_params(sizes):
    """He-scaled weights and small random biases (zero biases would hide a bias bug)."""

    def init(rng):
        params = {}
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            params[f"W{i}"] = rng.standard_normal((a, b)) * np.sqrt(2.0 / a)
            params[f"b{i}"] = rng.standard_normal(b) * 0.1
        return params

    return init


def classifier_samples(shape, n_out, loss):
    """Logits alone (random upstream over the logits) and the loss, index and one-hot labels."""
    gap = fd_gap_of(loss)

    def samples(rng):
        x, t = rng.standard_normal((6, *shape)), labels(rng, 6, n_out)
        return [
            Sample.of("logits", x),
            Sample.of("loss/index-labels", x, t, fd_gap=gap),
            Sample.of("loss/one-hot", x, one_hot(t, n_out), fd_gap=gap),
            Sample.of("loss/batch-of-1", rng.standard_normal((1, *shape)),
                      labels(rng, 1, n_out), fd_gap=gap),
        ]

    return samples


def without_split(net):
    net.split_batches = False
    return net


def model_pair(component, variant, scratch_net, torch_net, init, samples, **kw):
    """A network pair; parameter links follow the book's numbering (transfer.book_links).
    The scratch net computes its input gradient (the models skip it in their first layer,
    ``scratch.models.needs_no_input_grad``): the pair checks the network's dx.  It runs
    its whole batch on one thread (``split_pair`` is the variant that splits it)."""
    params, state = book_links(torch_net())
    return LayerPair(component, variant,
                     scratch=lambda p: S.with_input_grad(without_split(scratch_net(p))),
                     torch=lambda p: torch_net(), samples=samples, init_params=init,
                     params=params, state=state, **kw)


SPLIT_THREADS = 2


def split_over(net, threads=SPLIT_THREADS):
    """``net`` with its per-sample layers run on the batch in parts, one per thread, on any
    machine (``split_batches`` with ``split_threads``; ``scratch.network``)."""
    net.split_batches, net.split_threads = True, threads
    return net


def split_pair(pair, threads=SPLIT_THREADS):
    """``pair`` with its scratch network's per-sample layers run on the batch in parts, one
    per thread (``split_batches``, ``scratch.network``), on any machine; SameResults holds
    it to the unsplit pair's numbers, so it skips finite differences (the unsplit pair's
    check the same formulas, and every call here pays a thread hand-off: they tripled
    LeNet-5's entries' time).  (The samples' batches of 6 split 3 + 3; a batch of one
    stays whole.)"""
    return replace(pair, variant=f"{pair.variant}, split over {threads} threads",
                   scratch=lambda p: split_over(pair.scratch(p), threads),
                   finite_differences=False)


def and_split(pair):
    """``pair``, its ``split_pair`` and the SameResults probe between them: for every
    network whose class splits its batches (a test holds the registry to that)."""
    split = split_pair(pair)
    return pair, split, SameResults.of(split, pair)


def mlp_pair(component, variant, activation, hidden, loss):
    sizes = (N_IN, *hidden, N_OUT)
    return model_pair(
        component, variant,
        scratch_net=lambda p: S.MultiLayerNet(N_IN, hidden, N_OUT, activation, params=p,
                                              loss_convention=loss),
        torch_net=lambda: T.with_book_loss(T.MultiLayerNet(N_IN, hidden, N_OUT, activation),
                                           loss),
        init=mlp_params(sizes), samples=classifier_samples((N_IN,), N_OUT, loss))


register(
    mlp_pair("TwoLayerNet", "relu, book loss", "relu", HIDDEN[:1], "book"),
    mlp_pair("MultiLayerNet", "relu, log_softmax loss", "relu", HIDDEN, "log_softmax"),
    mlp_pair("MultiLayerNet", "sigmoid, book loss", "sigmoid", HIDDEN, "book"),
    mlp_pair("MultiLayerNet", "tanh, log_softmax loss", "tanh", HIDDEN, "log_softmax"),
)


def conv_params(shapes):
    """He-scaled conv kernels / affine weights for ``shapes`` (book order W1, W2, ...)."""

    def init(rng):
        params = {}
        for i, shape in enumerate(shapes, start=1):
            fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
            params[f"W{i}"] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
            params[f"b{i}"] = rng.standard_normal(shape[0] if len(shape) == 4 else shape[1]) * 0.1
        return params

    return init


IMAGE = (1, 8, 8)
SMALL_CONV = dict(input_dim=IMAGE, filter_num=3, filter_size=3, hidden_size=5, output_size=N_OUT)
LENET_IMAGE = (1, 12, 12)

register(
    *and_split(model_pair(
        S.SimpleConvNet.__name__, "small, log_softmax loss",
        scratch_net=lambda p: S.SimpleConvNet(
            **SMALL_CONV, params=p, loss_convention="log_softmax"),
        torch_net=lambda: T.with_book_loss(T.SimpleConvNet(**SMALL_CONV), "log_softmax"),
        init=conv_params([(3, 1, 3, 3), (27, 5), (5, N_OUT)]),
        samples=classifier_samples(IMAGE, N_OUT, "log_softmax"))),
    *(entry for act in ("tanh", "sigmoid") for entry in and_split(model_pair(
        S.LeNet5.__name__, f"{act}, 12x12 input",
        scratch_net=lambda p, a=act: S.LeNet5(
            a, params=p, input_dim=LENET_IMAGE, loss_convention="log_softmax"),
        torch_net=lambda a=act: T.with_book_loss(T.LeNet5(a, LENET_IMAGE), "log_softmax"),
        init=conv_params([(6, 1, 5, 5), (16, 6, 5, 5), (16, 120), (120, 84), (84, 10)]),
        samples=classifier_samples(LENET_IMAGE, 10, "log_softmax")))),
    model_pair("study notes: SimpleCNN", "corrected (self.fc), 4x4 input",
               scratch_net=lambda p: S.SimpleCNN(
                   p, image_size=4, loss_convention="log_softmax"),
               torch_net=lambda: T.WithLoss(TN.SimpleCNNFixed(image_size=4),
                                            TL.SoftmaxWithLoss("log_softmax")),
               init=conv_params([(32, 1, 3, 3), (32 * 16, 10)]),
               samples=classifier_samples((1, 4, 4), 10, "log_softmax")),
)


# ---- networks with state and randomness: BatchNorm running statistics, dropout masks ----

def train_eval_samples(shape, n_out, loss):
    """Training calls (masks drawn, running statistics updated), then evaluation.

    No evaluation from the initial state: the book's running variance starts at 0,
    so it would divide by sqrt(1e-6) -- that convention gap has its own probe."""
    gap = fd_gap_of(loss)

    def samples(rng):
        xs = [rng.standard_normal((6, *shape)) for _ in range(3)]
        ts = [labels(rng, 6, n_out) for _ in range(3)]
        return [
            Sample.of("train/loss", xs[0], ts[0], train=True, fd_gap=gap),
            Sample.of("train/logits", xs[0], train=True),
            Sample("train, train, eval", (Call((xs[0], ts[0]), True), Call((xs[1], ts[1]), True),
                                          Call((xs[2], ts[2]), False))),
        ]

    return samples


DROPOUT_P = 0.3


def extended_mlp_pair(bn, dropout):
    """The book's MultiLayerNetExtend: Affine -> BatchNorm -> ReLU -> Dropout per hidden layer."""
    masks = mask_factory(DROPOUT_P, "MultiLayerNet", bn, dropout)
    sizes = (N_IN, *HIDDEN, N_OUT)

    def init(rng):
        params = mlp_params(sizes)(rng)
        for i, n in enumerate(HIDDEN, start=1):
            params[f"gamma{i}"] = 1 + 0.1 * rng.standard_normal(n)
            params[f"beta{i}"] = 0.1 * rng.standard_normal(n)
        return params

    eps = S.BATCHNORM_EPS[bn]
    return model_pair(
        "MultiLayerNet", f"BatchNorm {bn} + dropout {dropout}",
        scratch_net=lambda p: S.MultiLayerNet(
            N_IN, HIDDEN, N_OUT, params=p, use_batchnorm=True, use_dropout=True,
            dropout_ratio=DROPOUT_P, batchnorm_convention=bn, dropout_convention=dropout,
            loss_convention="log_softmax", dropout_masks=masks()),
        torch_net=lambda: T.with_book_loss(T.MultiLayerNet(
            N_IN, HIDDEN, N_OUT, batchnorm=lambda n: TL.BatchNormalization(n, eps=eps,
                                                                          convention=bn),
            dropout=masks_as_layers(masks(), dropout, DROPOUT_P)), "log_softmax"),
        init=init, samples=train_eval_samples((N_IN,), N_OUT, "log_softmax"))


DEEP_IMAGE = (1, 8, 8)  # 8 -> 8 -> 8 -> 4 -> 4 -> 6 -> 3 -> 3 -> 3 -> 1: 64 features


def deep_convnet_pair():
    masks = mask_factory(DROPOUT_P, S.DeepConvNet.__name__)
    shapes = [(16, 1, 3, 3), (16, 16, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3),
              (64, 64, 3, 3), (64, 50), (50, N_OUT)]
    return model_pair(
        S.DeepConvNet.__name__, "book dropout, 8x8 input",
        scratch_net=lambda p: S.DeepConvNet(
            DEEP_IMAGE, 50, N_OUT, params=p, dropout_ratio=DROPOUT_P, dropout_masks=masks(),
            loss_convention="log_softmax"),
        torch_net=lambda: T.with_book_loss(T.DeepConvNet(
            DEEP_IMAGE, 50, N_OUT, dropout=masks_as_layers(masks(), "book", DROPOUT_P)),
            "log_softmax"),
        init=conv_params(shapes), samples=train_eval_samples(DEEP_IMAGE, N_OUT, "log_softmax"),
        # six ReLU layers and three max-pools: a 1e-5 step crosses kinks (measured: rel err
        # up to 4e-3 on dW1..db5); 1e-6 stays on one side of them
        fd_step=1e-6)


register(
    extended_mlp_pair("book", "book"),
    extended_mlp_pair("torch", "inverted"),
    *and_split(deep_convnet_pair()),
)
