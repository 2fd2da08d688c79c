"""Bad input, fed to both sides: both refuse -- scratch with a message naming the component
and the expected form -- or both accept with the same result.  Nothing silently wrong.

Each case is (scratch call, torch twin call or None, fragments the scratch message must
hold).  ``None`` for the twin: no twin exists (data files, weights, CLI), or torch
accepts the input with another meaning (said in the case's comment).  A case whose
fragments are ``SAME`` must be accepted by both sides with the same result.
"""

import gzip
import pickle
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scratch.functions as SF
import scratch.initializers as SI
import scratch.layers as S
import scratch.mnist as SM
import scratch.models as SN
import scratch.optimizers as SO
import scratch.transformer as ST
import torch_ref.layers as T
import torch_ref.mnist as TM
import torch_ref.models as TN
import torch_ref.optimizers as TO
from parity import cli
from parity.engine.registry import Skipped
from parity.experiments.book_weights import PUBLISHED, find_weights
from reports import cli as report_cli
from scratch.checks import CallOrderError, InputError
from scratch.conv import AvgPooling, Convolution, Pooling
from scratch.conv_fast import FastConvolution, FastPooling
from scratch.weights import WeightsError, load_pickle

SAME = ()
rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def tensor(a, grad=False):
    return torch.tensor(a, requires_grad=grad)


@dataclass
class Case:
    scratch: object
    torch: object = None
    expect: tuple = SAME


def after_forward(layer, *inputs, **mode):
    layer.forward(*inputs, **mode)
    return layer


def torch_backward(module, x, dout):
    out = module(tensor(x, grad=True))
    out.backward(tensor(dout))


# ---- layers ----
def affine(W_shape=(8, 3)):
    return S.Affine(randn(*W_shape), np.zeros(W_shape[1]))


def twin_affine():
    return T.Affine(8, 3).double()


CASES = {
    "Affine: 7 features for W (8, 3)": Case(
        lambda: affine().forward(randn(4, 7)), lambda: twin_affine()(tensor(randn(4, 7))),
        ("Affine.forward: x has 7 features per sample, W expects 8 (W is (8, 3))",)),
    "Affine: unbatched 1-D x": Case(
        lambda: affine().forward(randn(8)), lambda: twin_affine()(tensor(randn(8))),
        ("Affine.forward", "x must be a batch (N, features...)")),
    "Affine: dout (1, 3) that broadcasts": Case(
        lambda: after_forward(affine(), randn(4, 8)).backward(randn(1, 3)),
        lambda: torch_backward(twin_affine(), randn(4, 8), randn(1, 3)),
        ("Affine.backward: dout has 1 sample, the forward had 4",)),
    "Affine: dout of 2 samples for a forward of 4": Case(
        lambda: after_forward(affine(), randn(4, 8)).backward(randn(2, 3)),
        lambda: torch_backward(twin_affine(), randn(4, 8), randn(2, 3)),
        ("Affine.backward: dout has 2 samples, the forward had 4",)),
    "Affine: backward before forward": Case(
        lambda: affine().backward(randn(4, 3)), None,
        ("Affine.backward: called before forward (backward needs what the forward keeps)",)),
    "Affine: b of the wrong size": Case(
        lambda: S.Affine(randn(8, 3), np.zeros(4)), None, ("Affine", "b has shape (4,)", "(3,)")),
    "Relu: dout (1,) that broadcasts": Case(
        lambda: after_forward(S.Relu(), randn(3, 4)).backward(randn(1)),
        lambda: torch_backward(T.Relu(), randn(3, 4), randn(1)),
        ("Relu.backward", "dout has shape (1,), expected (3, 4)",)),
    "Relu: dout (1, 4) that broadcasts": Case(
        lambda: after_forward(S.Relu(), randn(3, 4)).backward(randn(1, 4)),
        lambda: torch_backward(T.Relu(), randn(3, 4), randn(1, 4)),
        ("Relu.backward: dout has 1 sample, the forward had 3",)),
    "Relu: backward before forward": Case(
        lambda: S.Relu().backward(randn(3)), None, ("Relu.backward: called before forward",)),
    "Relu: -inf gives 0, not NaN": Case(
        lambda: S.Relu().forward(np.array([-np.inf, -1.0, 0.0, 2.0, np.inf])),
        lambda: T.Relu()(tensor([-np.inf, -1.0, 0.0, 2.0, np.inf])).numpy()),
    "Sigmoid: dout (1, 4) that broadcasts": Case(
        lambda: after_forward(S.Sigmoid(), randn(3, 4)).backward(randn(1, 4)),
        lambda: torch_backward(T.Sigmoid(), randn(3, 4), randn(1, 4)),
        ("Sigmoid.backward: dout has 1 sample, the forward had 3",)),
    "Sigmoid: backward before forward": Case(
        lambda: S.Sigmoid().backward(randn(3)), None,
        ("Sigmoid.backward: called before forward",)),
    "Tanh: dout of another shape": Case(
        lambda: after_forward(S.Tanh(), randn(3, 4)).backward(randn(4, 3)),
        lambda: torch_backward(T.Tanh(), randn(3, 4), randn(4, 3)),
        ("Tanh.backward", "dout has shape (4, 3), expected (3, 4)")),
    "Softmax: dout (1,) that broadcasts": Case(
        lambda: after_forward(S.Softmax(), randn(3, 4)).backward(randn(1)),
        lambda: torch_backward(T.Softmax(), randn(3, 4), randn(1)),
        ("Softmax.backward", "expected (3, 4)")),
    "Flatten: dout of another size": Case(
        lambda: after_forward(S.Flatten(), randn(2, 3, 4)).backward(randn(2, 6)),
        lambda: torch_backward(T.Flatten(), randn(2, 3, 4), randn(2, 6)),
        ("Flatten.backward", "expected (2, 12)")),
}


# ---- losses ----
def loss(x, t, convention="book"):
    return S.SoftmaxWithLoss(convention).forward(x, t)


def twin_loss(x, t, convention="book"):
    return T.SoftmaxWithLoss(convention)(tensor(x), torch.as_tensor(t)).item()


X5 = randn(4, 5)
CASES |= {
    "SoftmaxWithLoss: labels (N, 1)": Case(
        lambda: loss(X5, np.array([[1], [2], [3], [4]])),
        lambda: twin_loss(X5, np.array([[1], [2], [3], [4]])),
        ("SoftmaxWithLoss.forward", "t has shape (4, 1)", "class indices (4,) or one-hot rows "
         "(4, 5)")),
    "SoftmaxWithLoss: label -1": Case(
        lambda: loss(X5, np.array([0, -1, 2, 3])), lambda: twin_loss(X5, np.array([0, -1, 2, 3])),
        ("SoftmaxWithLoss.forward: label -1 out of range [0, 5)",)),
    "SoftmaxWithLoss: label 5 of 5 classes": Case(
        lambda: loss(X5, np.array([0, 5, 2, 3])), lambda: twin_loss(X5, np.array([0, 5, 2, 3])),
        ("SoftmaxWithLoss.forward: label 5 out of range [0, 5)",)),
    "SoftmaxWithLoss: integer one-hot of the wrong width": Case(
        lambda: loss(X5, np.eye(3, dtype=np.int64)[[0, 1, 2, 0]]),
        lambda: twin_loss(X5, np.eye(3, dtype=np.int64)[[0, 1, 2, 0]]),
        ("SoftmaxWithLoss.forward", "t has shape (4, 3)", "one-hot rows (4, 5)")),
    "SoftmaxWithLoss: 3 labels for 4 samples": Case(
        lambda: loss(X5, np.array([0, 1, 2])), lambda: twin_loss(X5, np.array([0, 1, 2])),
        ("SoftmaxWithLoss.forward", "t has shape (3,)", "class indices (4,)")),
    "SoftmaxWithLoss: unbatched 1-D row, book": Case(
        lambda: loss(X5[0], np.array(2)), lambda: twin_loss(X5[0], np.array(2))),
    "SoftmaxWithLoss: unbatched 1-D row, log_softmax": Case(
        lambda: loss(X5[0], np.array(2), "log_softmax"),
        lambda: twin_loss(X5[0], np.array(2), "log_softmax")),
    # the twin casts index labels with .long(), so 1.0 reads as class 1 there
    "SoftmaxWithLoss: float index labels": Case(
        lambda: loss(X5, np.array([0.0, 1.0, 2.0, 3.0])), None,
        ("SoftmaxWithLoss.forward", "labels t must be integers, got dtype float64")),
    "SoftmaxWithLoss: backward before forward": Case(
        lambda: S.SoftmaxWithLoss().backward(), None,
        ("SoftmaxWithLoss.backward: called before forward",)),
    "SoftmaxWithLoss: dout that is not one number": Case(
        lambda: after_forward(S.SoftmaxWithLoss(), X5, np.arange(4)).backward(randn(4)),
        lambda: T.SoftmaxWithLoss()(tensor(X5, grad=True), torch.arange(4)).backward(
            tensor(randn(4))),
        ("SoftmaxWithLoss.backward", "one number, got shape (4,)")),
    # F.cross_entropy reads (N, C, d) as classes on axis 1, the book's layers on the last
    "SoftmaxWithLoss: 3-D scores": Case(
        lambda: loss(randn(2, 3, 5), np.zeros((2, 3), np.int64)), None,
        ("SoftmaxWithLoss.forward", "x must be 2-D scores (N, C) or one row (C,)")),
    "SoftmaxWithLoss: integer scores": Case(
        lambda: loss(np.arange(20).reshape(4, 5), np.arange(4)), None,
        ("SoftmaxWithLoss.forward: x must be a floating-point array, got dtype int64",)),
    "cross_entropy_error: label out of range": Case(
        lambda: SF.cross_entropy_error(SF.softmax(X5), np.array([0, 1, 7, 3])), None,
        ("cross_entropy_error: label 7 out of range [0, 5)",)),
    "cross_entropy_error: 3-D y": Case(
        lambda: SF.cross_entropy_error(randn(2, 3, 5), np.zeros((2, 3), np.int64)), None,
        ("cross_entropy_error: y must be probabilities (N, C) or one row (C,), "
         "got shape (2, 3, 5)",)),
    "MeanSquaredError: backward before forward": Case(
        lambda: S.MeanSquaredError().backward(), None,
        ("MeanSquaredError.backward: called before forward",)),
    "MeanSquaredError: dout that is not one number": Case(
        lambda: after_forward(S.MeanSquaredError(), randn(4, 3), randn(4, 3)).backward(
            randn(4, 3)), None,
        ("MeanSquaredError.backward: dout is the gradient of a scalar loss: one number, "
         "got shape (4, 3)",)),
    # torch's mse_loss broadcasts with a warning: the scratch layer refuses
    "MeanSquaredError: t (1, 3) for y (4, 3)": Case(
        lambda: S.MeanSquaredError().forward(randn(4, 3), randn(1, 3)), None,
        ("MeanSquaredError.forward", "y has shape (4, 3), t has (1, 3)", "the same shape")),
}


# ---- convolution and pooling (the book-shaped reference and the fast one alike) ----
def conv(cls=Convolution, W_shape=(2, 3, 3, 3), **kw):
    return cls(randn(*W_shape), np.zeros(W_shape[0]), **kw)


def twin_conv(stride=1, pad=0, k=3, c=3):
    return nn.Conv2d(c, 2, k, stride=stride, padding=pad).double()


CASES |= {
    "Convolution: 1 channel for filters of 3": Case(
        lambda: conv().forward(randn(4, 1, 5, 5)), lambda: twin_conv()(tensor(randn(4, 1, 5, 5))),
        ("Convolution.forward: x has 1 channels, W expects 3 (W is (2, 3, 3, 3))",)),
    "Convolution: kernel larger than the image": Case(
        lambda: conv(W_shape=(2, 3, 5, 5)).forward(randn(1, 3, 4, 4)),
        lambda: twin_conv(k=5)(tensor(randn(1, 3, 4, 4))),
        ("Convolution.forward: kernel (5, 5) is larger than the padded image (4, 4)",)),
    "Convolution: stride 0": Case(
        lambda: conv(stride=0), lambda: twin_conv(stride=0)(tensor(randn(1, 3, 5, 5))),
        ("Convolution: stride must be an integer >= 1", "got 0")),
    "Convolution: pad -1": Case(
        lambda: conv(pad=-1), lambda: twin_conv(pad=-1)(tensor(randn(1, 3, 5, 5))),
        ("Convolution: pad must be an integer >= 0",)),
    "Convolution: dout of 1 image after a forward of 4": Case(
        lambda: after_forward(conv(), randn(4, 3, 5, 5)).backward(randn(1, 2, 3, 3)),
        lambda: torch_backward(twin_conv(), randn(4, 3, 5, 5), randn(1, 2, 3, 3)),
        ("Convolution.backward: dout has 1 image, the forward had 4",)),
    "FastConvolution: dout of 1 image after a forward of 4": Case(
        lambda: after_forward(conv(FastConvolution), randn(4, 3, 5, 5)).backward(
            randn(1, 2, 3, 3)),
        lambda: torch_backward(twin_conv(), randn(4, 3, 5, 5), randn(1, 2, 3, 3)),
        ("FastConvolution.backward: dout has 1 image, the forward had 4",)),
    "FastConvolution: kernel larger than the image": Case(
        lambda: conv(FastConvolution, W_shape=(2, 3, 5, 5)).forward(randn(1, 3, 4, 4)),
        lambda: twin_conv(k=5)(tensor(randn(1, 3, 4, 4))),
        ("FastConvolution.forward: kernel (5, 5) is larger than the padded image (4, 4)",)),
    "Convolution: backward before forward": Case(
        lambda: conv().backward(randn(1, 2, 3, 3)), None,
        ("Convolution.backward: called before forward",)),
    # nn.Conv2d takes (C, H, W) as one unbatched image; the book's layers want (N, C, H, W)
    "Convolution: unbatched (C, H, W) image": Case(
        lambda: conv().forward(randn(3, 5, 5)), None,
        ("Convolution.forward: x must be 4-D images (N, C, H, W), got shape (3, 5, 5)",)),
    "Pooling: window larger than the padded image": Case(
        lambda: Pooling(4, 4).forward(randn(1, 1, 3, 3)),
        lambda: nn.MaxPool2d(4)(tensor(randn(1, 1, 3, 3))),
        ("Pooling.forward: window (4, 4) is larger than the padded image (3, 3)",)),
    "AvgPooling: window larger than the padded image": Case(
        lambda: AvgPooling(4, 4, pad=0).forward(randn(1, 1, 3, 3)),
        lambda: nn.AvgPool2d(4)(tensor(randn(1, 1, 3, 3))),
        ("AvgPooling.forward: window (4, 4) is larger than the padded image (3, 3)",)),
    "Pooling: 3-D x": Case(
        lambda: Pooling(2, 2).forward(randn(1, 4, 4)), None,
        ("Pooling.forward: x must be 4-D images (N, C, H, W), got shape (1, 4, 4)",)),
    "Pooling: stride 0": Case(
        lambda: Pooling(2, 2, stride=0),
        lambda: nn.MaxPool2d(2, stride=0)(tensor(randn(1, 1, 4, 4))),
        ("Pooling: stride must be an integer >= 1",)),
    "Pooling: dout of 1 image for a forward of 2": Case(
        lambda: after_forward(Pooling(2, 2), randn(2, 1, 4, 4)).backward(randn(1, 1, 2, 2)),
        lambda: torch_backward(nn.MaxPool2d(2), randn(2, 1, 4, 4), randn(1, 1, 2, 2)),
        ("Pooling.backward: dout has 1 image, the forward had 2",)),
    "FastPooling: dout of 1 image for a forward of 2": Case(
        lambda: after_forward(FastPooling(2, 2), randn(2, 1, 4, 4)).backward(
            randn(1, 1, 2, 2)),
        lambda: torch_backward(nn.MaxPool2d(2), randn(2, 1, 4, 4), randn(1, 1, 2, 2)),
        ("FastPooling.backward: dout has 1 image, the forward had 2",)),
    "Pooling: dout (1,) that broadcasts": Case(
        lambda: after_forward(Pooling(2, 2), randn(2, 1, 4, 4)).backward(randn(1)),
        lambda: torch_backward(nn.MaxPool2d(2), randn(2, 1, 4, 4), randn(1)),
        ("Pooling.backward", "dout has shape (1,), expected (2, 1, 2, 2)")),
    "AvgPooling: dout (1, 1, 2, 2) that broadcasts": Case(
        lambda: after_forward(AvgPooling(2, 2), randn(2, 1, 4, 4)).backward(randn(1, 1, 2, 2)),
        lambda: torch_backward(nn.AvgPool2d(2), randn(2, 1, 4, 4), randn(1, 1, 2, 2)),
        ("AvgPooling.backward: dout has 1 image, the forward had 2",)),
}


# ---- BatchNorm and Dropout ----
def batchnorm(D=3, convention="torch"):
    return S.BatchNormalization(np.ones(D), np.zeros(D), convention=convention)


CASES |= {
    "BatchNorm torch: one value per feature (N=1)": Case(
        lambda: batchnorm().forward(randn(1, 3)),
        lambda: T.BatchNormalization(3, convention="torch").double()(tensor(randn(1, 3))),
        ("BatchNormalization.forward", "more than 1 value per feature", "(1, 3)")),
    "BatchNorm torch: one value per channel (1, 3, 1, 1)": Case(
        lambda: batchnorm().forward(randn(1, 3, 1, 1)),
        lambda: T.BatchNormalization(3, convention="torch", input_ndim=4).double()(
            tensor(randn(1, 3, 1, 1))),
        ("BatchNormalization.forward", "more than 1 value per feature", "(1, 3, 1, 1)")),
    "BatchNorm: 5 features for gamma of 3": Case(
        lambda: batchnorm().forward(randn(4, 5)),
        lambda: T.BatchNormalization(3, convention="torch").double()(tensor(randn(4, 5))),
        ("BatchNormalization.forward: x has 5 features", "gamma has 3")),
    "BatchNorm: dout (1, 3) that broadcasts": Case(
        lambda: after_forward(batchnorm(), randn(4, 3)).backward(randn(1, 3)),
        lambda: torch_backward(T.BatchNormalization(3, convention="torch").double(),
                               randn(4, 3), randn(1, 3)),
        ("BatchNormalization.backward: dout has 1 sample, the forward had 4",)),
    "Dropout: ratio 1.5": Case(
        lambda: S.Dropout(1.5), lambda: nn.Dropout(1.5),
        ("Dropout: dropout_ratio must be in [0, 1], got 1.5",)),
    "Dropout: ratio -0.1": Case(
        lambda: S.Dropout(-0.1), lambda: nn.Dropout(-0.1),
        ("Dropout: dropout_ratio must be in [0, 1], got -0.1",)),
    "Dropout inverted: ratio 1 drops everything (zeros, not NaN)": Case(
        lambda: S.Dropout(1.0, "inverted").forward(randn(3, 4), train_flg=True),
        lambda: T.Dropout(1.0, "inverted").train()(tensor(np.ones((3, 4)))).numpy()),
    "Dropout: integer input": Case(
        lambda: S.Dropout(0.5).forward(np.arange(4), train_flg=True),
        lambda: T.Dropout(0.5, "inverted").train()(torch.arange(4)),
        ("Dropout.forward: x must be a floating-point array, got dtype int64",)),
    "Dropout: backward before forward": Case(
        lambda: S.Dropout(0.5).backward(randn(3)), None,
        ("Dropout.backward: called before forward",)),
}


# ---- optimizers ----
def param(*shape):
    return torch.zeros(shape, dtype=torch.float64, requires_grad=True)


CASES |= {
    "SGD: lr -0.1": Case(lambda: SO.SGD(lr=-0.1), lambda: TO.SGD([param(2)], lr=-0.1),
                         ("SGD: lr must be in [0, inf), got -0.1",)),
    "SGD: weight decay -1": Case(
        lambda: SO.SGD(weight_decay=-1.0),
        lambda: torch.optim.SGD([param(2)], lr=0.1, weight_decay=-1.0),
        ("SGD: weight_decay must be in [0, inf), got -1.0",)),
    "Momentum: momentum -0.5": Case(
        lambda: SO.Momentum(momentum=-0.5), lambda: TO.Momentum([param(2)], momentum=-0.5),
        ("Momentum: momentum must be in [0, inf), got -0.5",)),
    # decay_rate 1 is allowed (h never fades), above 1 is not; torch's RMSprop takes alpha 1.5
    "RMSprop: decay_rate 1.5": Case(
        lambda: SO.RMSprop(decay_rate=1.5), None,
        ("RMSprop: decay_rate must be in [0, 1], got 1.5",)),
    "Adam: beta1 1.0": Case(
        lambda: SO.Adam(beta1=1.0, convention="torch"),
        lambda: TO.Adam([param(2)], beta1=1.0, convention="torch"),
        ("Adam: beta1 must be in [0, 1), got 1.0",)),
    "AdaGrad: eps -1": Case(
        lambda: SO.AdaGrad(eps=-1.0), lambda: torch.optim.Adagrad([param(2)], eps=-1.0),
        ("AdaGrad: eps must be in [0, inf), got -1.0",)),
    "SGD.update: grads of another shape": Case(
        lambda: SO.SGD().update({"W1": np.zeros((2, 3))}, {"W1": np.zeros(3)}),
        lambda: setattr(param(2, 3), "grad", torch.zeros(3, dtype=torch.float64)),
        ("SGD.update: grads['W1'] has shape (3,), params['W1'] is (2, 3)",)),
    "Adam.update: grads without b1": Case(
        lambda: SO.Adam().update({"W1": np.zeros(2), "b1": np.zeros(1)}, {"W1": np.zeros(2)}),
        None, ("Adam.update: grads has no 'b1'",)),
}


# ---- models ----
def two_layer():
    return SN.TwoLayerNet(784, 10, 10, rng=np.random.default_rng(0))


def simple_convnet():
    return SN.SimpleConvNet(rng=np.random.default_rng(0))


CASES |= {
    "TwoLayerNet: 7 features for 784": Case(
        lambda: two_layer().predict(randn(2, 7)),
        lambda: TN.TwoLayerNet(784, 10, 10)(torch.zeros(2, 7)),
        ("TwoLayerNet layer 'Affine1': Affine.forward: x has 7 features per sample, "
         "W expects 784",)),
    "TwoLayerNet: label 10 of 10 classes": Case(
        lambda: two_layer().loss(randn(2, 784), np.array([3, 10])),
        lambda: F.cross_entropy(TN.TwoLayerNet(784, 10, 10)(torch.zeros(2, 784)),
                                torch.tensor([3, 10])),
        ("SoftmaxWithLoss.forward: label 10 out of range [0, 10)",)),
    "SimpleConvNet: flat (N, 784) images": Case(
        lambda: simple_convnet().predict(randn(2, 784)),
        lambda: TN.SimpleConvNet()(torch.zeros(2, 784)),
        ("SimpleConvNet layer 'Conv1'", "x must be 4-D images (N, C, H, W), got shape (2, 784)")),
    "SimpleConvNet: params without W3": Case(
        lambda: SN.SimpleConvNet(params={k: v for k, v in simple_convnet().params.items()
                                         if k != "W3"}), None,
        ("SimpleConvNet: params has no 'W3'", "needs W1, b1, W2, b2, W3, b3")),
    "LeNet5: unknown activation": Case(
        lambda: SN.LeNet5(activation="gelu"), None,
        ("LeNet5: activation must be one of relu, sigmoid, tanh, got 'gelu'",)),
    "LeNet5: params without W1": Case(
        lambda: SN.LeNet5(params={k: v for k, v in SN.LeNet5().params.items() if k != "W1"}),
        None, ("LeNet5: params has no 'W1'", "needs W1, b1, W2, b2, W3, b3, W4, b4, W5, b5")),
    "DeepConvNet: params without W1": Case(
        lambda: SN.DeepConvNet((1, 8, 8), params={
            k: v for k, v in SN.DeepConvNet((1, 8, 8)).params.items() if k != "W1"}),
        None, ("DeepConvNet: params has no 'W1'", "needs W1, b1, W2, b2, W3, b3, W4, b4, "
               "W5, b5, W6, b6, W7, b7, W8, b8")),
    "MultiLayerNet: unknown activation": Case(
        lambda: SN.MultiLayerNet(activation="relux"), None,
        ("MultiLayerNet: activation must be one of relu, sigmoid, tanh, got 'relux'",)),
    "TwoLayerNet: backward before forward": Case(
        lambda: two_layer().backward(), None, ("Affine.backward: called before forward",)),
}


# ---- data files (the torch side where it reads the same file) and weights ----
def tiny_root(tmp_path, change=None):
    from parity_tests.test_mnist import damage, write_idx

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", 4), ("t10k", 3)):
        write_idx(raw / f"{split}-images-idx3-ubyte", np.zeros((n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n))
    if change:
        damage(raw, change)
    return tmp_path


def data_case(how, fragments, twin=True):
    def scratch(tmp_path):
        return SM.load_raw(tiny_root(tmp_path, how), train=False)

    def torch_side(tmp_path):
        return TM.load_mnist(tmp_path, train=False)  # after scratch built the root
    return Case(scratch, torch_side if twin else None, ("MNIST file", "MNIST_ROOT", *fragments))


def pickle_case(content, fragments, sha=None):
    def scratch(tmp_path):
        (tmp_path / "w.pkl").write_bytes(content)
        return load_pickle(tmp_path / "w.pkl", expected_sha256=sha)
    return Case(scratch, None, ("w.pkl", *fragments))


class RunsCode:
    def __reduce__(self):
        return (print, ("pwned",))


def missing_weights(tmp_path):
    return find_weights(PUBLISHED[1], tmp_path)


def cli_case(main, args, fragments):
    def run(tmp_path):
        (tmp_path / "file").write_text("")
        status = main([a.replace("FILE", str(tmp_path / "file")).replace("DIR", str(tmp_path))
                       for a in args])
        raise SystemExit(status)  # argparse exits itself; a main that returns 2 exits here
    return Case(run, None, fragments)


FILE_CASES = {
    "MNIST: truncated images file": data_case(
        "truncated", ("t10k-images-idx3-ubyte", "the header says (3, 28, 28)")),
    "MNIST: images and labels swapped": data_case(
        "swapped", ("1 dimensions, expected 3", "swapped")),
    "MNIST: 3 images, 2 labels": data_case(
        "count mismatch", ("3 images, but t10k-labels-idx1-ubyte holds 2",), twin=False),
    "MNIST: label 10": data_case("label out of range", ("label 10 out of range [0, 10)",),
                                 twin=False),
    "MNIST: wrong magic number": data_case("wrong magic", ("magic number 00000d01",)),
    "MNIST: zero-length .gz": data_case("zero-length .gz", ("t10k-labels-idx1-ubyte.gz",
                                                            "shorter than an IDX header")),
    "MNIST: truncated .gz": data_case("truncated .gz", ("not a complete gzip file",)),
    "weights: digest mismatch": pickle_case(pickle.dumps({"W1": np.zeros(2)}),
                                            ("does not match the published digest",), "0" * 64),
    "weights: truncated pickle": pickle_case(pickle.dumps({"W1": np.zeros(2)})[:-5],
                                             ("not a readable pickle",)),
    "weights: a pickle that runs code": pickle_case(pickle.dumps({"W1": RunsCode()}),
                                                    ("refusing to load builtins.print",)),
    "weights: not a dict of arrays": pickle_case(pickle.dumps([np.zeros(2)]),
                                                 ("expected a dict of arrays, got list",)),
    "weights: neither name in DLFS_WEIGHTS": Case(
        missing_weights, None,
        ("simple_convnet_params.pkl or params.pkl not found", "set DLFS_WEIGHTS")),
    "CLI parity: --out is a file": cli_case(cli.main, ["--out", "FILE", "-k", "tanh"],
                                            ("--out", "is a file, not a folder")),
    "CLI reports: --threads 0": cli_case(report_cli.main, ["--out", "DIR", "--threads", "0"],
                                         ("--threads", "must be at least 1, got 0")),
    "CLI reports: --sections ''": cli_case(report_cli.main, ["--out", "DIR", "--sections", ""],
                                           ("--sections ''", "names no section", "parity")),
    "CLI reports: --sections nope": cli_case(
        report_cli.main, ["--out", "DIR", "--sections", "parity,nope"],
        ("--sections 'parity,nope'", "unknown ['nope']")),
}

REFUSALS = (InputError, CallOrderError, SM.MnistFormatError, WeightsError,
            pickle.UnpicklingError, Skipped, SystemExit)


def test_the_table_is_broad():
    assert len(CASES) + len(FILE_CASES) >= 40
    kinds = {name.split(":")[0].split(" ")[0].split(".")[0] for name in {**CASES, **FILE_CASES}}
    assert {"Affine", "SoftmaxWithLoss", "Convolution", "Pooling", "BatchNorm", "Dropout",
            SO.SGD.__name__, SO.Adam.__name__, "TwoLayerNet", SN.SimpleConvNet.__name__,
            "MNIST", "weights", "CLI"} <= kinds


def outcome(call, *args):
    """("refused", message) or ("accepted", result)."""
    try:
        result = call(*args)
    except REFUSALS + (Exception,) as err:
        return "refused", err
    return "accepted", result


def check_case(case, args, capsys):
    kind, scratch = outcome(case.scratch, *args)
    twin = outcome(case.torch, *args) if case.torch else None
    if case.expect is SAME:
        assert kind == "accepted", f"scratch refused: {scratch!r}"
        assert twin and twin[0] == "accepted", f"torch refused: {twin}"
        np.testing.assert_allclose(np.asarray(scratch), np.asarray(twin[1]), rtol=1e-12)
        assert not np.isnan(np.asarray(scratch, dtype=float)).any()
        return
    assert kind == "refused", f"scratch accepted, returned {scratch!r}"
    assert isinstance(scratch, REFUSALS), f"a bare {type(scratch).__name__}: {scratch}"
    text = str(scratch)
    if isinstance(scratch, SystemExit):  # argparse and the CLIs print, then exit 2
        captured = capsys.readouterr()
        text = captured.err + captured.out
        assert scratch.code == 2
    for fragment in case.expect:
        assert fragment in text, f"{fragment!r} not in the message:\n{text}"
    if isinstance(scratch, (InputError, CallOrderError)):  # "where: what", where first
        assert text.startswith(case.expect[0]), f"{case.expect[0]!r} does not start:\n{text}"
    if twin:
        assert twin[0] == "refused", f"torch accepted, returned {twin[1]!r}"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_to_a_component(name, capsys):
    check_case(CASES[name], (), capsys)


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_bad_file_or_argument(name, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DLFS_CACHE", str(tmp_path / "cache"))
    check_case(FILE_CASES[name], (tmp_path / "root",) if name.startswith("MNIST") else
               (tmp_path,), capsys)


def test_gzip_helper_used_by_the_data_cases_writes_real_gzip(tmp_path):
    """(The .gz cases damage a real gzip stream, not random bytes.)"""
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"abc"))
    assert gzip.decompress(path.read_bytes()) == b"abc"


@pytest.mark.parametrize("make,message", [
    (lambda: S.MeanSquaredError("sum"), "convention must be one of ('book', 'mean')"),
    (lambda: S.SoftmaxWithLoss("torch"), "convention must be one of ('book', 'log_softmax')"),
    (lambda: ST.GELU("erf"), "approximate must be one of ('none', 'tanh')"),
    (lambda: SI.fans((3,)), "no fan rule for a weight of shape (3,)"),
    (lambda: S.Dropout(0.5, "torch"), "convention must be one of ('book', 'inverted')"),
    (lambda: SN.book_init_std("glorot", 3), "unknown weight_init_std 'glorot'"),
], ids=["MeanSquaredError", "SoftmaxWithLoss", "GELU", "fans", "Dropout", "book_init_std"])
def test_an_unknown_option_is_a_value_error_naming_the_choices(make, message):
    with pytest.raises(ValueError) as refused:
        make()
    assert str(refused.value) == message


# ---- scratch.checks' messages, word for word where a learner reads them ----
def test_check_messages_name_what_is_wrong():
    from scratch import checks as C

    with pytest.raises(InputError, match=r"^L\.backward: dout has 3 samples, the forward had 5$"):
        C.check_dout("L.backward", np.zeros(3), (5,))  # 1-D output: a batch of numbers
    with pytest.raises(InputError, match=r"^Affine\.forward: x must be a batch "
                                         r"\(N, features\.\.\.\), got shape \(8,\) "
                                         r"\(one sample: x\.reshape\(1, -1\)\)$"):
        C.check_features("Affine.forward", np.zeros(8), np.zeros((8, 3)))
    with pytest.raises(InputError, match=r"^Net: params has no 'W2', 'b2' \(needs W1, b1, W2, b2; "
                                         r"has W1, b1\)$"):
        C.check_keys("Net", "params", {"W1": 0, "b1": 0}, ["W1", "b1", "W2", "b2"])
    with pytest.raises(InputError, match=r"^Net: params has no 'W1' \(needs W1; has nothing\)$"):
        C.check_keys("Net", "params", {}, ["W1"])


def test_a_window_fits_the_image_padded_on_both_sides():
    from scratch import checks as C

    C.check_window_fits("Convolution.forward", (5, 5), (7, 7), (1, 1))  # fits exactly: 1x1 out
    with pytest.raises(InputError, match=r"^Convolution\.forward: kernel \(8, 7\) is larger "
                                         r"than the padded image \(7, 7\) "
                                         r"\(image \(5, 5\), pad \(1, 1\)\)$"):
        C.check_window_fits("Convolution.forward", (5, 5), (8, 7), (1, 1))


def test_integer_scores_given_as_a_list_are_refused_naming_the_dtype():
    with pytest.raises(InputError, match=r"x must be a floating-point array, got dtype int64"):
        S.SoftmaxWithLoss().forward([[1, 2]], np.array([0]))


def refused_with(make, error=InputError):
    with pytest.raises(error) as refused:
        make()
    return str(refused.value)


def test_affine_names_the_weight_layout_it_wants():
    assert refused_with(lambda: S.Affine(np.zeros(8), np.zeros(3))) == (
        "Affine: W must be 2-D (in, out), got shape (8,)")


def test_batch_norm_names_the_input_forms_and_what_its_features_are():
    def bn(n, convention="book"):
        return S.BatchNormalization(np.ones(n), np.zeros(n), convention=convention)

    assert refused_with(lambda: bn(3).forward(np.zeros(3))) == (
        "BatchNormalization.forward: x must be (N, D) or (N, C, H, W), got shape (3,)")
    assert refused_with(lambda: bn(3).forward(np.zeros((2, 3, 2, 2)))) == (
        "BatchNormalization.forward: x has 12 features (book convention: per activation), "
        "gamma has 3")
    assert refused_with(lambda: bn(3, "torch").forward(np.zeros((2, 4, 2, 2)))) == (
        "BatchNormalization.forward: x has 4 features (torch convention: per channel), "
        "gamma has 3")
    assert refused_with(lambda: bn(3, "keras"), ValueError) == (
        "convention must be one of ('book', 'torch')")


def test_dropout_names_a_mask_of_the_wrong_shape():
    dropout = S.Dropout(0.5, mask_source=lambda shape: np.ones((2, 2), bool))
    assert refused_with(lambda: dropout.forward(np.zeros((2, 3)))) == (
        "Dropout.forward: mask_source gave a mask of shape (2, 2) for x of shape (2, 3)")


def test_adam_refuses_beta2_of_1_by_name():
    assert refused_with(lambda: SO.Adam(beta2=1.0)) == "Adam: beta2 must be in [0, 1), got 1.0"
