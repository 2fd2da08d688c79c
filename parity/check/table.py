"""The one table of `make check`: each book component, how to find it, how to check it.

Per component: its kind (layer, function, optimizer, network), the spellings
learners give it, and its entries -- registry pairs (``parity.engine.registry.find``)
or check-specific pairs built with the registry's own factories -- each with the
arguments the book's constructor takes for that setting.  ``conventions`` are the
valid non-book conventions a learner may follow ("matches convention X"),
``defects`` the book's own published defects ("book defect copied").

The learner's object replaces the scratch side of each pair
(``dataclasses.replace(pair, scratch=...)``): the same engine, inputs, weights,
upstream gradients, dtypes, state and finite differences as for ``scratch/``.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import parity.pairs.models as PM
import scratch.layers as SL
import scratch.models as SM
import torch_ref.layers as TL
import torch_ref.models as TM
from parity.engine.inputs import labels, one_hot
from parity.engine.layer_pair import Call, LayerPair, Sample
from parity.engine.registry import find
from parity.pairs.conv import convolution, max_pooling

# Seed of np.random before a learner's first forward, and of the twin's mask draws:
# the book's Dropout draws np.random.rand(*x.shape) > ratio, so both see the same masks.
DROPOUT_SEED = 20161
WEIGHT_DECAY = 0.1


@dataclass(frozen=True)
class Entry:
    """One setting a component is checked in: a pair and the book constructor's arguments."""

    pair: Callable  # () -> LayerPair | OptimizerPair
    args: Callable = lambda p: {}  # pair params -> ordered {canonical arg: value}
    label: str = ""  # e.g. "convention torch" (for conventions)
    why: str = ""  # what the convention / defect is
    # networks: params -> the project's scratch network with these weights, the reference
    # bisection and the network hypotheses compare the learner's net with
    reference: Callable | None = None


@dataclass(frozen=True)
class Defect:
    """A published defect of the book's code: copying it is not the learner's bug."""

    text: str
    detect: str  # "ignores dout" | "writes dout" | "pool pad sizing"


@dataclass(frozen=True)
class Component:
    name: str
    kind: str  # layer | function | optimizer | network
    spellings: tuple = ()
    entries: tuple = ()
    conventions: tuple = ()
    defects: tuple = ()
    params: tuple = ()  # layer arrays handed to the constructor (W, b / gamma, beta)
    loss: bool = False  # forward returns a loss (a tuple's scalar element is taken)
    methods: tuple = ("forward", "backward")  # what a candidate class should define
    doc: str = ""
    extra: dict = field(default_factory=dict)


def registry(component, variant):
    return lambda: find(component, variant)


def no_eval_backward(samples):
    """The book's Dropout and BatchNormalization define backward only after a training
    forward (after an evaluation one they read a stale or missing mask / batch statistics):
    evaluation calls are checked forward only."""
    def transformed(rng):
        return [dataclasses.replace(s, calls=tuple(
            dataclasses.replace(c, backward=c.backward and c.train is not False)
            for c in s.calls))
            for s in samples(rng)]
    return transformed


def training_backward_only(make):
    return lambda: (lambda p: dataclasses.replace(p, samples=no_eval_backward(p.samples)))(make())


def flat_inputs_only(make):
    """The pair without its samples of 4-D input."""
    def samples(pair):
        return lambda rng: [s for s in pair.samples(rng) if s.calls[0].inputs[0].ndim == 2]
    return lambda: (lambda p: dataclasses.replace(p, samples=samples(p)))(make())


def without_weight_decay(make):
    """The book's optimizers have no weight decay: its trajectories without it."""
    return lambda: (lambda p: dataclasses.replace(p, trajectories=tuple(
        t for t in p.trajectories if not t.weight_decay)))(make())


def no_backward(pair):
    return dataclasses.replace(pair, backward=False, grad_inputs=())


def forward_only(component, variant):
    return lambda: no_backward(find(component, variant))


# ---- twins for the book's functions that have no registry entry ----

class BookCrossEntropy(nn.Module):
    """cross_entropy_error(y, t) on probabilities: -sum(t * log(y + 1e-7)) / N (1-D y: N=1)."""

    def forward(self, y, t):
        if y.dim() == 1:
            y, t = y[None], t[None] if t.dim() == 1 and t.numel() == y.numel() else t.reshape(1)
        dist = t.to(y.dtype) if t.dim() == 2 else F.one_hot(t.long(), y.shape[-1]).to(y.dtype)
        return -(dist * torch.log(y + 1e-7)).sum() / y.shape[0]


def probabilities(rng, n, c):
    z = rng.standard_normal((n, c)) * 2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy_samples(rng):
    y, t = probabilities(rng, 6, 5), labels(rng, 6, 5)
    exact = probabilities(rng, 3, 5)
    t_exact = labels(rng, 3, 5)
    exact[np.arange(3), t_exact] = 0.0  # a probability underflowed to 0: the 1e-7 guard
    exact /= exact.sum(axis=1, keepdims=True)
    return [
        Sample.of("index-labels", y, t),
        Sample.of("one-hot", y, one_hot(t, 5)),
        Sample.of("batch-of-1", probabilities(rng, 1, 5), labels(rng, 1, 5)),
        Sample.of("single sample (1-D)", probabilities(rng, 1, 5)[0], one_hot(labels(rng, 1, 5),
                                                                              5)[0]),
        Sample.of("target probability 0", exact, one_hot(t_exact, 5)),
    ]


def cross_entropy_pair():
    return LayerPair("cross_entropy_error", "book (log(y + 1e-7), mean over N)",
                     scratch=None, torch=lambda p: BookCrossEntropy(),
                     samples=cross_entropy_samples, backward=False, grad_inputs=())


class Unfold(nn.Module):
    """The book's im2col layout: (N*OH*OW, C*FH*FW) rows of windows = F.unfold transposed."""

    def __init__(self, kernel, stride, pad):
        super().__init__()
        self.kernel, self.stride, self.pad = kernel, stride, pad

    def forward(self, x):
        cols = F.unfold(x, self.kernel, padding=self.pad, stride=self.stride)
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])


class Fold(nn.Module):
    """The book's col2im: im2col's adjoint (overlapping windows add) = F.fold."""

    def __init__(self, shape, kernel, stride, pad):
        super().__init__()
        self.shape, self.kernel, self.stride, self.pad = shape, kernel, stride, pad

    def forward(self, col):
        N, C, H, W = self.shape
        cols = col.reshape(N, -1, col.shape[1]).transpose(1, 2)
        return F.fold(cols, (H, W), self.kernel, padding=self.pad, stride=self.stride)


IM2COL_SETTINGS = (  # (N, C, H, W), (FH, FW), stride, pad: odd shapes, N = 1, overlap
    ((2, 3, 5, 6), (2, 3), 2, 1),
    ((1, 2, 4, 4), (3, 3), 1, 0),
    ((2, 1, 5, 5), (3, 3), 1, 1),
)


def conv_setting(shape, kernel, stride, pad):
    return f"x{shape}, {kernel[0]}x{kernel[1]}, stride {stride}, pad {pad}".replace(" ", "")


def im2col_pair(shape, kernel, stride, pad):
    def samples(rng):
        return [Sample.of("randn", rng.standard_normal(shape))]
    return LayerPair("im2col", conv_setting(shape, kernel, stride, pad), scratch=None,
                     torch=lambda p: Unfold(kernel, stride, pad), samples=samples,
                     backward=False, grad_inputs=(), dtypes=("float64",))


def col2im_pair(shape, kernel, stride, pad):
    N, C, H, W = shape
    oh, ow = (H + 2 * pad - kernel[0]) // stride + 1, (W + 2 * pad - kernel[1]) // stride + 1

    def samples(rng):
        return [Sample.of("randn", rng.standard_normal((N * oh * ow, C * kernel[0] * kernel[1])))]
    return LayerPair("col2im", conv_setting(shape, kernel, stride, pad), scratch=None,
                     torch=lambda p: Fold(shape, kernel, stride, pad), samples=samples,
                     backward=False, grad_inputs=(), dtypes=("float64",))


def im2col_args(shape, kernel, stride, pad):
    return {"filter_h": kernel[0], "filter_w": kernel[1], "stride": stride, "pad": pad}


def col2im_args(shape, kernel, stride, pad):
    return {"input_shape": shape, "filter_h": kernel[0], "filter_w": kernel[1],
            "stride": stride, "pad": pad}


# ---- dropout: masks from np.random, as the book draws them ----

def numpy_masks(p):
    """The twin's mask source: the same np.random.rand draws the learner's layers make."""
    rs = np.random.RandomState(DROPOUT_SEED)
    return lambda shape: rs.rand(*shape) > p


def dropout_pair(convention):
    base = find("Dropout", convention)
    ratio = PM.DROPOUT_P
    return dataclasses.replace(
        base, torch=lambda p: TL.Dropout(ratio, convention, mask_source=numpy_masks(ratio)),
        scratch=lambda p: SL.Dropout(ratio, convention, mask_source=numpy_masks(ratio)))


def global_masks(p):
    """A scratch network's dropout masks drawn like the book's: np.random.rand(*shape) > p."""
    return lambda: (lambda shape: np.random.rand(*shape) > p)  # noqa: NPY002


class DecayedMultiLayerNet(SM.MultiLayerNet):
    """The project's MultiLayerNet plus the book's weight_decay_lambda (W only)."""

    def __init__(self, *args, weight_decay_lambda=0.0, **kw):
        super().__init__(*args, **kw)
        self.weight_decay_lambda = weight_decay_lambda

    def loss(self, x, t, train_flg=False):
        weights = [v for k, v in self.params.items() if k.startswith("W")]
        return super().loss(x, t, train_flg) + 0.5 * self.weight_decay_lambda * sum(
            np.sum(w ** 2) for w in weights)

    def gradient(self, x, t):
        grads = dict(super().gradient(x, t))
        return {k: g + self.weight_decay_lambda * self.params[k] if k.startswith("W") else g
                for k, g in grads.items()}


class BookDeepConvNet(SM.DeepConvNet):
    """The book's DeepConvNet.loss(x, t) always runs in training mode (dropout on) and
    takes no train_flg: the same here, so that this design is not taken for a bug."""

    def loss(self, x, t, *args, **kwargs):  # (Network.gradient passes train_flg=True)
        return super().loss(x, t, True)


def copied(p):
    return {k: np.array(v) for k, v in p.items()}


# ---- networks: the book's loss, its constructors' sizes ----

def book_mlp_pair(variant, activation, hidden, weight_decay=0.0):
    def twin():
        net = TM.with_book_loss(TM.MultiLayerNet(PM.N_IN, hidden, PM.N_OUT, activation), "book")
        return WeightDecay(net, weight_decay) if weight_decay else net
    samples = PM.classifier_samples((PM.N_IN,), PM.N_OUT, "book")
    if weight_decay:  # the penalty is in the loss: logits are the same as without it
        samples = loss_samples_only(samples)
    pair = PM.model_pair("MultiLayerNet", variant, None, twin,
                         PM.mlp_params((PM.N_IN, *hidden, PM.N_OUT)), samples)
    return dataclasses.replace(pair, grad_inputs=())


def loss_samples_only(samples):
    return lambda rng: [s for s in samples(rng) if len(s.calls[0].inputs) == 2]


class WeightDecay(nn.Module):
    """loss + 0.5 * lam * sum(W**2) over the weights (nn.Linear/Conv2d weight), not biases."""

    def __init__(self, net, lam):
        super().__init__()
        self.net, self.lam = net, lam

    def forward(self, x, t=None):
        out = self.net(x, t)
        if t is None:
            return out
        weights = [m.weight for m in self.net.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
        return out + 0.5 * self.lam * sum((w ** 2).sum() for w in weights)


def extend_samples(shape, n_out):
    """The registry's training and evaluation samples (PM.train_eval_samples), then the book's
    defaults: predict(x) and loss(x, t) without train_flg are test mode."""
    registry_samples = PM.train_eval_samples(shape, n_out, "book")

    def samples(rng):
        loss, logits, calls = registry_samples(rng)
        (x0, t0), (x1, t1) = (call.inputs for call in calls.calls[:2])
        # train/loss: no finite differences -- the book's loss (log(y + 1e-7)) is not the one
        # its backward differentiates (BOOK_CE_GAP), and the gap vanishes for the biases
        # before a BatchNorm (gradient 0): the logits sample carries that oracle
        return [
            dataclasses.replace(loss, smooth=False, fd_gap=""), logits, calls,
            # forward only; float64: from the start state the book divides by sqrt(1e-6)
            Sample("defaults: train, then loss(x, t)",
                   (Call((x0, t0), True), Call((x1, t1), backward=False)), dtypes=("float64",)),
            Sample("defaults: train, then predict(x)",
                   (Call((x0, t0), True), Call((x1,), backward=False)), dtypes=("float64",)),
        ]
    return samples


class EvalByDefault(nn.Module):
    """A twin whose calls without a mode (the book's defaults) run in evaluation mode: the
    engine sets .train(flag) only for calls that give one; each call here resets it."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def train(self, mode=True):
        self.net.train(mode)
        self.explicit = True
        return self

    def forward(self, *args):
        if not getattr(self, "explicit", False):
            self.net.eval()
        self.explicit = False
        return self.net(*args)


def extend_pair():
    def init(rng):
        params = PM.mlp_params((PM.N_IN, *PM.HIDDEN, PM.N_OUT))(rng)
        for i, n in enumerate(PM.HIDDEN, start=1):
            params[f"gamma{i}"] = 1 + 0.1 * rng.standard_normal(n)
            params[f"beta{i}"] = 0.1 * rng.standard_normal(n)
        return params

    def twin():
        masks = numpy_masks(PM.DROPOUT_P)
        net = TM.with_book_loss(TM.MultiLayerNet(
            PM.N_IN, PM.HIDDEN, PM.N_OUT,
            batchnorm=lambda n: TL.BatchNormalization(n, eps=1e-6, convention="book"),
            dropout=lambda: TL.Dropout(PM.DROPOUT_P, "book", mask_source=masks)), "book")
        return EvalByDefault(net)

    pair = PM.model_pair("MultiLayerNetExtend",
                         f"BatchNorm + dropout {PM.DROPOUT_P}, book conventions", None, twin,
                         init, no_eval_backward(extend_samples((PM.N_IN,), PM.N_OUT)))
    return dataclasses.replace(pair, grad_inputs=())


DEEP_INPUT = (1, 28, 28)  # the book's DeepConvNet sizes its first affine for 28x28 (64*4*4)


def deep_samples(rng):
    x, t = rng.standard_normal((2, *DEEP_INPUT)), labels(rng, 2, 10)
    # no finite differences here (smooth=False): 1.4e5 weights behind ReLU/max-pool kinks;
    # every layer it is built from is checked against them on its own
    return [
        Sample.of("train/loss", x, t, train=True, smooth=False),
        Sample.of("eval/logits", rng.standard_normal((2, *DEEP_INPUT)), train=False,
                  smooth=False),
    ]


def deep_pair():
    shapes = [(16, 1, 3, 3), (16, 16, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3),
              (64, 64, 3, 3), (64 * 4 * 4, 50), (50, 10)]

    def twin():
        masks = numpy_masks(0.5)
        return TM.with_book_loss(TM.DeepConvNet(
            DEEP_INPUT, 50, 10, dropout=lambda: TL.Dropout(0.5, "book", mask_source=masks)),
            "book")

    pair = PM.model_pair("DeepConvNet", "28x28 input, book dropout 0.5", None, twin,
                         PM.conv_params(shapes), no_eval_backward(deep_samples))
    return dataclasses.replace(pair, grad_inputs=())


def simple_conv_pair():
    pair = PM.model_pair(
        "SimpleConvNet", "8x8 input, 3 filters 3x3, book loss", None,
        lambda: TM.with_book_loss(TM.SimpleConvNet(**PM.SMALL_CONV), "book"),
        PM.conv_params([(3, 1, 3, 3), (27, 5), (5, PM.N_OUT)]),
        PM.classifier_samples(PM.IMAGE, PM.N_OUT, "book"))
    return dataclasses.replace(pair, grad_inputs=())


def two_layer_pair():
    return dataclasses.replace(find("TwoLayerNet", "relu, book loss"), grad_inputs=())


# ---- the table ----

def W_b(p):
    return {"W": p["W"], "b": p["b"]}


def conv_args(stride, pad):
    return lambda p: {"W": p["W"], "b": p["b"], "stride": stride, "pad": pad}


def pool_args(kernel, stride, pad):
    return lambda p: {"pool_h": kernel[0], "pool_w": kernel[1], "stride": stride, "pad": pad}


def bn_args(p):
    return {"gamma": p["gamma"], "beta": p["beta"]}


def opt(component, variant, **args):
    return Entry(without_weight_decay(registry(component, variant)), lambda p, a=args: dict(a))


def opt_convention(component, variant, label, why, **args):
    return Entry(without_weight_decay(registry(component, variant)), lambda p, a=args: dict(a),
                 label=label, why=why)


class BookNesterov(torch.optim.Optimizer):
    """The book's published Nesterov (common/optimizer.py), as a torch optimizer:
    v = m*v - lr*g, then p += m*m*v - (1+m)*lr*g with the velocity just updated."""

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, m = group["lr"], group["momentum"]
            for p in group["params"]:
                v = self.state[p].setdefault("v", torch.zeros_like(p))
                v.mul_(m).sub_(lr * p.grad)
                p.add_(m * m * v - (1 + m) * lr * p.grad)


IGNORES_DOUT = Defect("SoftmaxWithLoss.backward ignores dout (the book's, p. 155: fine while "
                      "it is the last layer, wrong for any scaled loss)", "ignores dout")
WRITES_DOUT = Defect("Relu.backward writes into dout (the book's dout[self.mask] = 0)",
                     "writes dout")
POOL_SIZING = Defect("Pooling sizes its output without the padding (the book's out_h = "
                     "1 + (H - pool_h) / stride): pad > 0 fails", "pool pad sizing")

NESTEROV = Defect("Nesterov applies momentum^2 to the velocity it has just updated (the book's "
                  "common/optimizer.py): every step is too long, the first by (1+m+m^2)/(1+m)",
                  "book nesterov")

MLP_ARGS = dict(input_size=PM.N_IN, hidden_size_list=list(PM.HIDDEN), output_size=PM.N_OUT)

COMPONENTS = (
    # layers
    Component("Relu", "layer", ("ReLU", "ReluLayer", "RectifiedLinear"),
              (Entry(registry("relu", "default")),), defects=(WRITES_DOUT,)),
    Component("Sigmoid", "layer", ("SigmoidLayer",), (Entry(registry("sigmoid", "default")),)),
    Component("Tanh", "layer", ("TanhLayer",), (Entry(registry("tanh", "default")),)),
    Component("Affine", "layer", ("Dense", "Linear", "FullyConnected", "FC", "AffineLayer"),
              (Entry(registry("Affine", "book-layout (in,out)"), W_b),),
              conventions=(Entry(flat_inputs_only(registry("Affine", "book-layout (in,out)")),
                                 W_b, label="2-D input only",
                                 why="the chapter-5 Affine: (N, C, H, W) input is not "
                                     "flattened, which chapter 7's networks need"),),
              params=("W", "b")),
    Component("SoftmaxWithLoss", "layer",
              ("SoftmaxCrossEntropy", "SoftmaxWithCrossEntropy", "SoftmaxLoss",
               "SoftmaxCrossEntropyLoss", "SoftmaxWithLossLayer"),
              (Entry(registry("SoftmaxWithLoss", "book")),),
              conventions=(Entry(registry("SoftmaxWithLoss", "log_softmax"),
                                 label="exact log-softmax cross-entropy (no 1e-7)",
                                 why="loss computed as -log_softmax, no 1e-7 cap"),),
              defects=(IGNORES_DOUT,), loss=True),
    Component("Dropout", "layer", ("DropoutLayer",),
              (Entry(training_backward_only(lambda: dropout_pair("book")),
                     lambda p: {"dropout_ratio": PM.DROPOUT_P}),),
              conventions=(Entry(training_backward_only(lambda: dropout_pair("inverted")),
                                 lambda p: {"dropout_ratio": PM.DROPOUT_P},
                                 label="inverted dropout",
                                 why="train x*mask/(1-p), test x (nn.Dropout)"),)),
    Component("BatchNormalization", "layer",
              ("BatchNorm", "BatchNormalisation", "BatchNormalizationLayer", "BN"),
              (Entry(training_backward_only(registry("BatchNormalization (N,D)", "book")),
                     bn_args),
               Entry(training_backward_only(registry("BatchNormalization (N,C,H,W)", "book")),
                     bn_args)),
              conventions=(Entry(training_backward_only(registry("BatchNormalization (N,D)",
                                                                  "torch")), bn_args,
                                 label="torch BatchNorm",
                                 why="eps 1e-5, unbiased running var from 1, per channel"),),
              params=("gamma", "beta")),
    Component("Convolution", "layer", ("Conv", "Conv2d", "Convolution2D", "ConvLayer",
                                       "Convolutional"),
              (Entry(registry("Convolution", "5x5, stride 1, pad 0"), conv_args(1, 0)),
               Entry(registry("Convolution", "3x3, stride 1, pad 1"), conv_args(1, 1)),
               Entry(lambda: convolution(3, 3, 2, 3, stride=2, pad=1, image=(6, 7)),
                     conv_args(2, 1))),
              params=("W", "b")),
    Component("Pooling", "layer", ("MaxPooling", "MaxPool", "MaxPool2d", "Pool", "MaxPooling2D"),
              (Entry(registry("Pooling", "2x2, stride 2, pad 0"), pool_args((2, 2), 2, 0)),
               Entry(lambda: max_pooling((2, 3), stride=2, image=(1, 3, 6, 7)),
                     pool_args((2, 3), 2, 0)),
               Entry(registry("Pooling", "3x3, stride 2, pad 1"), pool_args((3, 3), 2, 1))),
              defects=(POOL_SIZING,)),
    # functions
    Component("step_function", "function", ("step", "stepfunction", "step_func"),
              (Entry(registry("step", "default")),)),
    Component("sigmoid", "function", ("sigmoid_function",),
              (Entry(forward_only("sigmoid", "default")),)),
    Component("relu", "function", ("relu_function",), (Entry(forward_only("relu", "default")),)),
    Component("softmax", "function", ("soft_max",), (Entry(forward_only("softmax", "default")),)),
    Component("cross_entropy_error", "function", ("cross_entropy", "crossentropy",
                                                  "cross_entropy_loss"),
              (Entry(cross_entropy_pair),)),
    Component("mean_squared_error", "function", ("mse", "mean_square_error", "squared_error",
                                                 "sum_squared_error"),
              (Entry(forward_only("MeanSquaredError", "book")),),
              conventions=(Entry(forward_only("MeanSquaredError", "mean"),
                                 label="mean-reduced MSE", why="mean((y-t)^2), nn.MSELoss"),)),
    Component("numerical_gradient", "function", ("numerical_grad", "numeric_gradient",
                                                 "numerical_gradient_nd"), ()),
    Component("im2col", "function", ("im_2_col", "image_to_column"),
              tuple(Entry(lambda s=s: im2col_pair(*s), lambda p, s=s: im2col_args(*s))
                    for s in IM2COL_SETTINGS)),
    Component("col2im", "function", ("col_2_im", "column_to_image"),
              tuple(Entry(lambda s=s: col2im_pair(*s), lambda p, s=s: col2im_args(*s))
                    for s in IM2COL_SETTINGS)),
    # optimizers (the book's have no weight decay: trajectories without it)
    Component("SGD", "optimizer", ("StochasticGradientDescent", "GradientDescent"),
              (opt("SGD", "default"),), methods=("update",)),
    Component("Momentum", "optimizer", ("MomentumSGD", "SGDMomentum"),
              (opt("Momentum", "book v=-lr*buf", momentum=0.9),),
              conventions=(opt_convention("Momentum", "torch buffer", "torch momentum buffer",
                                          "buf = m*buf + g; p -= lr*buf", momentum=0.9),),
              methods=("update",)),
    Component("Nesterov", "optimizer", ("NesterovMomentum", "NAG"),
              (opt("Nesterov", "book v=-lr*buf", momentum=0.9),),
              conventions=(opt_convention("Nesterov", "torch buffer", "torch Nesterov",
                                          "torch.optim.SGD(nesterov=True)", momentum=0.9),),
              defects=(NESTEROV,), methods=("update",)),
    Component("AdaGrad", "optimizer", ("Adagrad",), (opt("AdaGrad", "eps 1e-7"),),
              methods=("update",)),
    Component("RMSprop", "optimizer", ("RMSProp", "RMSpropOptimizer"),
              (opt("RMSprop", "alpha=decay_rate, eps 1e-7", decay_rate=0.9),),
              methods=("update",)),
    Component("Adam", "optimizer", ("AdamOptimizer",), (opt("Adam", "book"),),
              conventions=(opt_convention("Adam", "torch", "torch Adam",
                                          "eps 1e-8 on the bias-corrected sqrt(v_hat)"),),
              methods=("update",)),
    # networks
    Component("TwoLayerNet", "network", ("TwoLayerNetwork", "TwoLayerNN", "TwoLayerNeuralNet"),
              (Entry(two_layer_pair, lambda p: {"input_size": PM.N_IN, "hidden_size": PM.HIDDEN[0],
                                                "output_size": PM.N_OUT},
                     reference=lambda p: SM.TwoLayerNet(PM.N_IN, PM.HIDDEN[0], PM.N_OUT,
                                                        params=copied(p))),),
              methods=("predict", "loss", "gradient")),
    Component("MultiLayerNet", "network", ("MultiLayerNetwork", "MultiLayerNN"),
              (Entry(lambda: book_mlp_pair("relu, book loss", "relu", PM.HIDDEN),
                     lambda p: dict(MLP_ARGS, activation="relu"),
                     reference=lambda p: SM.MultiLayerNet(PM.N_IN, PM.HIDDEN, PM.N_OUT, "relu",
                                                          params=copied(p))),
               Entry(lambda: book_mlp_pair("sigmoid, book loss", "sigmoid", PM.HIDDEN),
                     lambda p: dict(MLP_ARGS, activation="sigmoid",
                                    weight_init_std="sigmoid"),
                     reference=lambda p: SM.MultiLayerNet(PM.N_IN, PM.HIDDEN, PM.N_OUT, "sigmoid",
                                                          params=copied(p))),
               Entry(lambda: book_mlp_pair(f"relu, weight decay {WEIGHT_DECAY}", "relu",
                                           PM.HIDDEN, WEIGHT_DECAY),
                     lambda p: dict(MLP_ARGS, activation="relu",
                                    weight_decay_lambda=WEIGHT_DECAY),
                     reference=lambda p: DecayedMultiLayerNet(
                         PM.N_IN, PM.HIDDEN, PM.N_OUT, "relu", params=copied(p),
                         weight_decay_lambda=WEIGHT_DECAY))),
              methods=("predict", "loss", "gradient")),
    Component("MultiLayerNetExtend", "network", ("MultiLayerNetExtended",),
              (Entry(extend_pair, lambda p: dict(MLP_ARGS, activation="relu", use_dropout=True,
                                                  dropout_ration=PM.DROPOUT_P,
                                                  use_batchnorm=True),
                     reference=lambda p: SM.MultiLayerNet(
                         PM.N_IN, PM.HIDDEN, PM.N_OUT, params=copied(p), use_batchnorm=True,
                         use_dropout=True, dropout_ratio=PM.DROPOUT_P,
                         dropout_masks=global_masks(PM.DROPOUT_P))),),
              methods=("predict", "loss", "gradient")),
    Component("SimpleConvNet", "network", ("SimpleConvNetwork", "SimpleCNN", "ConvNet"),
              (Entry(simple_conv_pair, lambda p: {
                  "input_dim": PM.IMAGE,
                  "conv_param": {"filter_num": 3, "filter_size": 3, "pad": 0, "stride": 1},
                  "hidden_size": 5, "output_size": PM.N_OUT},
                  reference=lambda p: SM.SimpleConvNet(**PM.SMALL_CONV, params=copied(p))),),
              methods=("predict", "loss", "gradient")),
    Component("DeepConvNet", "network", ("DeepConvNetwork", "DeepCNN"),
              (Entry(deep_pair, lambda p: {"input_dim": DEEP_INPUT, "hidden_size": 50,
                                           "output_size": 10},
                     reference=lambda p: BookDeepConvNet(
                         DEEP_INPUT, 50, 10, params=copied(p),
                         dropout_masks=global_masks(0.5))),),
              methods=("predict", "loss", "gradient")),
)

BY_NAME = {c.name: c for c in COMPONENTS}
KINDS = ("layer", "function", "optimizer", "network")


def sample_inputs_hint(component):
    """One line for 'not found' rows: what was looked for."""
    c = BY_NAME[component]
    what = "class" if c.kind in ("layer", "optimizer", "network") else "function"
    names = ", ".join((c.name, *c.spellings))
    return f"a {what} named {names} (case and underscores ignored) with " + ", ".join(
        f"{m}()" for m in c.methods) if what == "class" else f"a {what} named {names}"

