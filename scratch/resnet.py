"""A residual network from the book's layers (the study notes' "applications" chapter).

``ResidualBlock`` is He et al.'s basic block, out = relu(main(x) + shortcut(x)) with
main = conv3x3 -> BN -> ReLU -> conv3x3 -> BN and shortcut the identity, or a 1x1
convolution + BN ("projection") when the block changes the width or strides.  The
skip path is why backward ADDS two gradients: x feeds both paths.
Convolutions before a BatchNorm have no bias (the normalisation removes any shift);
BatchNorm is per channel, torch's convention (``nn.BatchNorm2d``), eps 1e-5.
"""

import numpy as np

from scratch.composite import Composite, sub_params
from scratch.conv import Convolution
from scratch.layers import BatchNormalization, Layer, Relu, SoftmaxWithLoss
from scratch.transformer import Linear

BN_EPS = 1e-5  # nn.BatchNorm2d's default


class GlobalAvgPooling(Layer):
    """(N, C, H, W) -> (N, C): the mean of each channel's map.  Backward spreads each
    channel's gradient evenly over its H*W positions."""

    def forward(self, x):
        self.input_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        N, C, H, W = self.input_shape
        return np.broadcast_to((dout / dout.dtype.type(H * W))[:, :, None, None],
                               self.input_shape).copy()


def batch_norm(params, name):
    return BatchNormalization(params[f"{name}.gamma"], params[f"{name}.beta"],
                              eps=BN_EPS, convention="torch")


class ResidualBlock(Composite):
    """params: conv1.W (C_out, C_in, 3, 3), bn1.gamma/beta, conv2.W, bn2.gamma/beta and,
    for a projection shortcut, proj.W (C_out, C_in, 1, 1) and proj_bn.gamma/beta."""

    def __init__(self, params, stride=1):
        layers = dict(conv1=Convolution(params["conv1.W"], None, stride, 1),
                      bn1=batch_norm(params, "bn1"), relu1=Relu(),
                      conv2=Convolution(params["conv2.W"], None, 1, 1),
                      bn2=batch_norm(params, "bn2"))
        if "proj.W" in params:
            layers |= dict(proj=Convolution(params["proj.W"], None, stride, 0),
                           proj_bn=batch_norm(params, "proj_bn"))
        super().__init__(**layers, relu_out=Relu())
        self.projection = "proj.W" in params

    MAIN = ("conv1", "bn1", "relu1", "conv2", "bn2")
    SHORTCUT = ("proj", "proj_bn")

    def run(self, names, x, train_flg):
        for name in names:
            layer = self.layers[name]
            x = (layer.forward(x, train_flg) if isinstance(layer, BatchNormalization)
                 else layer.forward(x))
        return x

    def forward(self, x, train_flg=True):
        skip = self.run(self.SHORTCUT, x, train_flg) if self.projection else x
        return self.layers["relu_out"].forward(self.run(self.MAIN, x, train_flg) + skip)

    def backward(self, dout):
        d = self.layers["relu_out"].backward(dout)  # the sum's gradient goes to both terms
        dx = d
        for name in reversed(self.MAIN):
            dx = self.layers[name].backward(dx)
        dskip = d
        if self.projection:
            for name in reversed(self.SHORTCUT):
                dskip = self.layers[name].backward(dskip)
        self.collect_grads()
        return dx + dskip


class ResNet(Composite):
    """stem (conv3x3 -> BN -> ReLU), one ResidualBlock per stage (the first stride 1,
    later ones stride 2, with a projection where the width changes), global average
    pooling, a linear classifier, softmax cross-entropy (log-softmax form).  The widths
    come from ``params`` (``resnet_params``); any image size works (the pooling is global).
    ``forward(x)`` gives logits, ``forward(x, t)`` the loss, as ``scratch.network.Network``."""

    def __init__(self, params, num_stages):
        layers = dict(stem=Convolution(params["stem.W"], None, 1, 1),
                      stem_bn=batch_norm(params, "stem_bn"), stem_relu=Relu())
        for s in range(1, num_stages + 1):
            layers[f"stage{s}"] = ResidualBlock(sub_params(params, f"stage{s}"),
                                                stride=1 if s == 1 else 2)
        super().__init__(**layers, pool=GlobalAvgPooling(),
                         fc=Linear(params["fc.W"], params["fc.b"]))
        self.loss_layer = SoftmaxWithLoss("log_softmax")

    def predict(self, x, train_flg=False):
        for layer in self.layers.values():
            takes_mode = isinstance(layer, BatchNormalization | ResidualBlock)
            x = layer.forward(x, train_flg) if takes_mode else layer.forward(x)
        return x

    def forward(self, x, t=None, train_flg=False):
        """Logits when ``t`` is None, else the loss; ``backward`` follows whichever ran."""
        self.with_loss = t is not None
        y = self.predict(x, train_flg)
        return y if t is None else self.loss_layer.forward(y, t)

    def loss(self, x, t, train_flg=False):
        return self.forward(x, t, train_flg)

    def backward(self, dout=1):
        d = self.loss_layer.backward(dout) if self.with_loss else dout
        for layer in reversed(self.layers.values()):
            d = layer.backward(d)
        self.collect_grads()
        return d

    def accuracy(self, x, t, batch_size=100):
        correct = sum(int(np.sum(self.predict(x[i:i + batch_size]).argmax(axis=1)
                                 == t[i:i + batch_size])) for i in range(0, len(x), batch_size))
        return correct / len(x)


def he_conv(rng, c_out, c_in, k):
    return rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k))


def resnet_params(widths=(4, 8, 16), in_channels=1, num_classes=10, rng=None):
    """He-initialised convolutions, BatchNorm gamma 1 / beta 0, a small linear head."""
    rng = rng or np.random.default_rng()
    p = {"stem.W": he_conv(rng, widths[0], in_channels, 3)}
    p |= {"stem_bn.gamma": np.ones(widths[0]), "stem_bn.beta": np.zeros(widths[0])}
    c_in = widths[0]
    for s, c in enumerate(widths, start=1):
        p |= block_params(rng, c_in, c, f"stage{s}.")
        c_in = c
    p["fc.W"] = rng.standard_normal((c_in, num_classes)) * np.sqrt(1.0 / c_in)
    p["fc.b"] = np.zeros(num_classes)
    return p


def block_params(rng, c_in, c_out, prefix="", projection=None):
    """One ResidualBlock's params; a projection whenever the width changes (or asked)."""
    p = {"conv1.W": he_conv(rng, c_out, c_in, 3), "conv2.W": he_conv(rng, c_out, c_out, 3)}
    bns = ["bn1", "bn2"]
    if projection or (projection is None and c_in != c_out):
        p["proj.W"] = he_conv(rng, c_out, c_in, 1)
        bns.append("proj_bn")
    for bn in bns:
        p |= {f"{bn}.gamma": np.ones(c_out), f"{bn}.beta": np.zeros(c_out)}
    return {prefix + k: v for k, v in p.items()}
