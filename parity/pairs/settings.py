"""Non-default settings: every setting of a scratch class checked away from its default.

The other modules check each component as the book configures it; a setting left at
its default everywhere is compared with torch only there (a cosine schedule that
ignored ``eta_min`` passed every check while every entry used 0).  Each entry here
sets one or more settings to another value, with the torch twin configured to match;
``parity_tests/test_settings_exercised.py`` fails when a setting is left out.  Small
samples and short trajectory sets: these entries add little time to ``make parity``.
"""

import dataclasses

import torch

import scratch.layers as SL
import scratch.models as SM
import scratch.optimizers as SO
import scratch.regularization as SR
import scratch.schedules as SS
import torch_ref.layers as TL
import torch_ref.models as TM
import torch_ref.optimizers as TO
import torch_ref.regularization as TR
import torch_ref.schedules as TS
from parity.engine.inputs import source
from parity.engine.layer_pair import Call, LayerPair, Sample
from parity.engine.optim_pair import OptimizerPair, Schedule, StateLink, Trajectory
from parity.engine.registry import register
from parity.engine.transfer import Link
from parity.experiments.training import mask_factory, masks_as_layers
from parity.pairs import conv, losses, normalization, regularization
from parity.pairs.models import (
    DEEP_IMAGE,
    DROPOUT_P,
    IMAGE,
    N_IN,
    N_OUT,
    SMALL_CONV,
    classifier_samples,
    conv_params,
    mlp_params,
    model_pair,
    train_eval_samples,
)
from parity.pairs.optimizers import LAM, STEP
from scratch.conv_fast import FastConvolution


def without_input_grad(layer):
    """The conv nets' first layer: a FastConvolution that skips dx (an attribute the model
    sets after construction, not a constructor argument of the book's API)."""
    layer.input_grad = False
    return layer


# ---- layers ----

register(
    # input_grad=False: the conv nets' first layer.  Neither side reports dx (grad_inputs
    # empty); the scratch backward must still give every parameter gradient.
    dataclasses.replace(
        conv.convolution(4, 3, 3, 3, pad=1, image=(5, 5)),
        variant="3x3, stride 1, pad 1, input_grad=False", grad_inputs=(),
        scratch=lambda p: without_input_grad(FastConvolution(p["W"], p["b"], 1, 1))),
    LayerPair("SoftmaxWithLoss", "book, eps 1e-3",
              scratch=lambda p: SL.SoftmaxWithLoss("book", eps=1e-3),
              torch=lambda p: TL.SoftmaxWithLoss("book", eps=1e-3),
              samples=losses.cross_entropy_samples("book")),
    LayerPair("L2 weight decay", "decay_keys W2, b1",
              scratch=lambda p: SR.L2WeightDecay(p, regularization.LAM, decay_keys=("W2", "b1")),
              torch=lambda p: TR.L2WeightDecay({k: v.shape for k, v in p.items()},
                                               regularization.LAM, decay_keys=("W2", "b1")),
              samples=regularization.data_loss, init_params=regularization.net_params,
              params=tuple(Link(k, f"params.{k}") for k in regularization.SHAPES)),
)

# BatchNorm: momentum 0.7 (torch's momentum is 1 - 0.7 = 0.3; 0.5 would hide a swap), and
# running statistics handed in (evaluation before any training step uses them).
BN_SHAPE = (normalization.N, normalization.D)
RUNNING = {k: f(source("BatchNormalization", "given running statistics").standard_normal(
    BN_SHAPE[1])) for k, f in (("running_mean", lambda r: r), ("running_var", lambda r: 1 + r**2))}


def eval_train_eval(rng):
    x = [normalization.activations(rng, BN_SHAPE, 1.0) for _ in range(4)]
    return [Sample.of("eval (given statistics)", x[3], train=False),  # + finite differences
            Sample("eval, train, eval", (Call((x[0],), False), Call((x[1],), True),
                                         Call((x[2],), False)))]


def bn_with_running(convention, momentum):
    """A BatchNormalization pair whose running statistics start at RUNNING."""
    eps = normalization.EPS[convention]

    def twin(p):
        # float64 buffers first: copied into float32 ones, the statistics would be rounded
        # before the engine casts the module to the dtype under test
        module = TL.BatchNormalization(BN_SHAPE[1], momentum=momentum, eps=eps,
                                       convention=convention).double()
        for name, value in RUNNING.items():
            getattr(module, name).copy_(torch.from_numpy(value))
        return module

    return LayerPair(
        normalization.BN2, f"{convention}, momentum {momentum}, running statistics given",
        scratch=lambda p: SL.BatchNormalization(
            p["gamma"], p["beta"], momentum=momentum, eps=eps, convention=convention,
            **{k: v.astype(p["gamma"].dtype) for k, v in RUNNING.items()}),
        torch=twin, samples=eval_train_eval,
        init_params=normalization.gamma_beta(BN_SHAPE[1]), **normalization.LINKS)


register(bn_with_running("book", 0.7), bn_with_running("torch", 0.7))

# ---- networks ----

STRIDED_CONV = SMALL_CONV | dict(stride=2, pad=1)  # 8x8 -> conv 4x4 -> pool 2x2
DEEP_HIDDEN = 16


def deep_convnet_inverted():
    """DeepConvNet with inverted dropout and another hidden size: the training logits
    (with finite differences) and train, train, eval calls."""
    masks = mask_factory(DROPOUT_P, SM.DeepConvNet.__name__, "inverted")
    shapes = [(16, 1, 3, 3), (16, 16, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3),
              (64, 64, 3, 3), (64, DEEP_HIDDEN), (DEEP_HIDDEN, N_OUT)]
    return model_pair(
        SM.DeepConvNet.__name__, f"inverted dropout, hidden {DEEP_HIDDEN}, 8x8 input",
        scratch_net=lambda p: SM.DeepConvNet(
            DEEP_IMAGE, DEEP_HIDDEN, N_OUT, params=p, dropout_ratio=DROPOUT_P,
            dropout_convention="inverted", dropout_masks=masks(),
            loss_convention="log_softmax"),
        torch_net=lambda: TM.with_book_loss(TM.DeepConvNet(
            DEEP_IMAGE, DEEP_HIDDEN, N_OUT, dropout=masks_as_layers(masks(), "inverted",
                                                                    DROPOUT_P)),
            "log_softmax"),
        init=conv_params(shapes),
        samples=lambda rng: train_eval_samples(DEEP_IMAGE, N_OUT, "log_softmax")(rng)[1:])


register(
    # the ch05 class itself (the MultiLayerNet entries build the general one)
    model_pair("TwoLayerNet", "TwoLayerNet class, log_softmax loss",
               scratch_net=lambda p: SM.TwoLayerNet(N_IN, 9, N_OUT, params=p,
                                                    loss_convention="log_softmax"),
               torch_net=lambda: TM.with_book_loss(TM.MultiLayerNet(N_IN, (9,), N_OUT),
                                                   "log_softmax"),
               init=mlp_params((N_IN, 9, N_OUT)),
               samples=classifier_samples((N_IN,), N_OUT, "log_softmax")),
    model_pair(SM.SimpleConvNet.__name__, "small, stride 2, pad 1, log_softmax loss",
               scratch_net=lambda p: SM.SimpleConvNet(
                   **STRIDED_CONV, params=p, loss_convention="log_softmax"),
               torch_net=lambda: TM.with_book_loss(TM.SimpleConvNet(**STRIDED_CONV),
                                                   "log_softmax"),
               init=conv_params([(3, 1, 3, 3), (12, 5), (5, N_OUT)]),
               samples=classifier_samples(IMAGE, N_OUT, "log_softmax")),
    deep_convnet_inverted(),
)

# ---- optimizers and schedules: a few trajectories each ----

FEEDBACK = Trajectory("feedback", feedback=True)
DECAYED = Trajectory("constant lr, wd 0.1", weight_decay=LAM)
TINY = Trajectory("tiny gradients 1e-6", grad_scale=1e-6)  # where eps shows
SHORT = (FEEDBACK, DECAYED, TINY)
ADAM_STATE = (StateLink("m", "exp_avg"), StateLink("v", "exp_avg_sq"), STEP)
BETAS = dict(beta1=0.8, beta2=0.99, eps=1e-6)
DECAY_KEYS = ("W1", "gamma1")  # a weight left out, a BatchNorm scale put in


def momentum_half(component, scratch_cls, twin, convention):
    state = (StateLink("v", "momentum_buffer", to_book=lambda buf, lr: -lr * buf)
             if convention == "book" else StateLink("buf", "momentum_buffer"))
    return OptimizerPair(
        component, f"{convention}, momentum 0.5",
        scratch=lambda lr, wd: scratch_cls(lr, 0.5, convention=convention, weight_decay=wd),
        torch=lambda groups, lr: twin(groups, lr, 0.5), lr=0.05, trajectories=SHORT,
        state=(state,))


register(
    *(momentum_half(c.__name__, c, t, conv_)
      for c, t in ((SO.Momentum, TO.Momentum), (SO.Nesterov, TO.Nesterov))
      for conv_ in ("book", "torch")),
    OptimizerPair(SO.AdaGrad.__name__, "eps 1e-3",
                  scratch=lambda lr, wd: SO.AdaGrad(lr, eps=1e-3, weight_decay=wd),
                  torch=lambda groups, lr: TO.AdaGrad(groups, lr, eps=1e-3), lr=0.1,
                  trajectories=SHORT, state=(StateLink("h", "sum"),)),
    OptimizerPair("RMSprop", "decay 0.9, eps 1e-3",
                  scratch=lambda lr, wd: SO.RMSprop(lr, 0.9, eps=1e-3, weight_decay=wd),
                  torch=lambda groups, lr: TO.RMSprop(groups, lr, 0.9, eps=1e-3), lr=0.01,
                  trajectories=SHORT, state=(StateLink("h", "square_avg"),)),
    *(OptimizerPair(SO.Adam.__name__, f"{c}, beta1 0.8, beta2 0.99, eps 1e-6",
                    scratch=lambda lr, wd, c=c: SO.Adam(lr, convention=c, weight_decay=wd,
                                                        **BETAS),
                    torch=lambda groups, lr, c=c: TO.Adam(groups, lr, convention=c, **BETAS),
                    lr=0.01, trajectories=SHORT, state=ADAM_STATE)
      for c in ("book", "torch")),
    *(OptimizerPair("AdamW", f"{c} eps, beta1 0.8, beta2 0.99, eps 1e-6, decay W1 gamma1",
                    scratch=lambda lr, wd, c=c: SO.AdamW(lr, weight_decay=wd, convention=c,
                                                         decay_keys=DECAY_KEYS, **BETAS),
                    torch=lambda groups, lr, c=c: TO.AdamW(groups, lr, convention=c, **BETAS),
                    lr=0.01, trajectories=SHORT, state=ADAM_STATE, decay_keys=DECAY_KEYS)
      for c in ("book", "torch")),
    OptimizerPair(SO.SGD.__name__, "decay_keys W1, gamma1",
                  scratch=lambda lr, wd: SO.SGD(lr, weight_decay=wd, decay_keys=DECAY_KEYS),
                  torch=lambda groups, lr: TO.SGD(groups, lr), lr=0.1,
                  trajectories=(DECAYED,), decay_keys=DECAY_KEYS),
    OptimizerPair(
        SO.SGD.__name__, "cosine to eta_min 0.02, warmup from 0.5",
        scratch=lambda lr, wd: SO.SGD(lr),
        torch=lambda groups, lr: TO.SGD(groups, lr), lr=0.1, trajectories=(
            Trajectory("cosine over 25 to eta_min 0.02", Schedule(
                "cosine over 25 to 0.02", lambda o: SS.CosineAnnealing(o, 25, eta_min=0.02),
                lambda o: TS.CosineAnnealing(o, 25, eta_min=0.02))),
            Trajectory("warmup from 0.5 over 5", Schedule(
                "warmup from 0.5 over 5", lambda o: SS.LinearWarmup(o, 5, start_factor=0.5),
                lambda o: TS.LinearWarmup(o, 5, start_factor=0.5))))),
    # and the defaults themselves (every other entry passes gamma and start_factor: a changed
    # default survived mutation testing until this entry)
    OptimizerPair(
        SO.SGD.__name__, "schedules at their defaults", scratch=lambda lr, wd: SO.SGD(lr),
        torch=lambda groups, lr: TO.SGD(groups, lr), lr=0.1, trajectories=(
            Trajectory("step decay every 10, default gamma", Schedule(
                "step decay every 10", lambda o: SS.StepDecay(o, 10),
                lambda o: TS.StepDecay(o, 10))),
            Trajectory("warmup over 5, default start factor", Schedule(
                "warmup over 5", lambda o: SS.LinearWarmup(o, 5),
                lambda o: TS.LinearWarmup(o, 5))))),
)
