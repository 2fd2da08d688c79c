"""The book's networks, built from ``scratch.layers`` on ``scratch.network.Network``.

Each takes either sizes (and initialises like the book) or a ready ``params``
dict under the book's names -- that is how published or transferred weights
come in.  Parameter names follow the book: W1, b1, ... numbered across layers.

The convolutional nets run ``scratch.conv_fast.FastConvolution`` and ``FastPooling`` (the
book-shaped ``scratch.conv.Convolution``'s and ``Pooling``'s constructors and results,
faster).  Every net of this module sets ``input_grad = False`` on its first layer (a
convolution or an Affine) after building it: its input is the data, whose gradient
training never needs (the book's ``gradient`` returns parameter gradients only), so the
net's ``backward`` returns None.  ``with_input_grad(net)`` sets it back, for the input gradient.
"""

import numpy as np

import scratch.layers as L
from scratch.checks import fail
from scratch.conv import AvgPooling
from scratch.conv import output_size as conv_output  # (output_size is an argument below)
from scratch.conv_fast import FastConvolution, FastPooling
from scratch.network import Network

ACTIVATIONS = {"relu": L.Relu, "sigmoid": L.Sigmoid, "tanh": L.Tanh}
BATCHNORM_EPS = {"book": 1e-6, "torch": 1e-5}  # the book writes 10e-7


def activation_class(where, activation):
    if activation not in ACTIVATIONS:
        fail(where, f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return ACTIVATIONS[activation]


def book_init_std(weight_init_std, fan_in):
    """The book's ``weight_init_std``: a number, or 'relu'/'he' (sqrt(2/n)), 'sigmoid'/'xavier'
    (sqrt(1/n): the book's "Xavier", which is LeCun's formula)."""
    if isinstance(weight_init_std, str):
        key = weight_init_std.lower()
        if key in ("relu", "he"):
            return np.sqrt(2.0 / fan_in)
        if key in ("sigmoid", "xavier"):
            return np.sqrt(1.0 / fan_in)
        raise ValueError(f"unknown weight_init_std {weight_init_std!r}")
    return weight_init_std


def affine_params(sizes, weight_init_std=0.01, rng=None, dtype=np.float64):
    """W1, b1, ... for consecutive Affine layers of ``sizes``; zero biases as in the book."""
    rng = rng or np.random.default_rng()
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        std = book_init_std(weight_init_std, n_in)
        params[f"W{i}"] = (std * rng.standard_normal((n_in, n_out))).astype(dtype)
        params[f"b{i}"] = np.zeros(n_out, dtype=dtype)
    return params


def needs_no_input_grad(layer):
    """``layer`` with ``input_grad = False``: a network's first layer, fed the data (its
    backward then skips dx, one of its two matrix products)."""
    layer.input_grad = False
    return layer


def with_input_grad(net):
    """``net`` with every layer computing its input gradient again (the parity pairs and
    the learner's-code bisection compare the network's dx and every layer's)."""
    for layer in net.layers.values():
        if hasattr(layer, "input_grad"):
            layer.input_grad = True
    return net


def dropout_layer(ratio, convention, masks=None):
    """``masks``: None (the book's random masks) or a factory giving each Dropout
    layer, in order, its own ``mask_source`` -- how tests replay masks elsewhere."""
    return L.Dropout(ratio, convention=convention, mask_source=masks() if masks else None)


class MultiLayerNet(Network):
    """Fully connected net (the book's ``MultiLayerNetExtend``).

    Hidden layer i: Affine -> [BatchNorm] -> activation -> [Dropout]; then a last
    Affine and ``SoftmaxWithLoss``.  Sizes come from ``params`` when it is given.
    """

    def __init__(self, input_size=784, hidden_size_list=(100,), output_size=10,
                 activation="relu", weight_init_std="relu", use_batchnorm=False,
                 use_dropout=False, dropout_ratio=0.5, batchnorm_convention="book",
                 dropout_convention="book", loss_convention="book", params=None, rng=None,
                 dropout_masks=None):
        sizes = [input_size, *hidden_size_list, output_size]
        if params is None:
            params = affine_params(sizes, weight_init_std, rng)
            if use_batchnorm:
                for i, n in enumerate(hidden_size_list, start=1):
                    params[f"gamma{i}"], params[f"beta{i}"] = np.ones(n), np.zeros(n)
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        n_hidden = sum(1 for k in params if k.startswith("W")) - 1
        self.need(params, [f"{p}{i}" for i in range(1, n_hidden + 2) for p in "Wb"]
                  + [f"{p}{i}" for i in range(1, n_hidden + 1) for p in ("gamma", "beta")
                     if use_batchnorm])
        for i in range(1, n_hidden + 1):
            self.add(f"Affine{i}", L.Affine(params[f"W{i}"], params[f"b{i}"]), str(i))
            if use_batchnorm:
                self.add(f"BatchNorm{i}", L.BatchNormalization(
                    params[f"gamma{i}"], params[f"beta{i}"], convention=batchnorm_convention,
                    eps=BATCHNORM_EPS[batchnorm_convention]), str(i))
            self.add(f"Activation{i}", activation_class(type(self).__name__, activation)())
            if use_dropout:
                self.add(f"Dropout{i}", dropout_layer(dropout_ratio, dropout_convention,
                                                      dropout_masks))
        last = n_hidden + 1
        self.add(f"Affine{last}", L.Affine(params[f"W{last}"], params[f"b{last}"]), str(last))
        needs_no_input_grad(self.layers["Affine1"])


class TwoLayerNet(MultiLayerNet):
    """ch05: Affine -> ReLU -> Affine -> SoftmaxWithLoss, weights ~ 0.01 * randn."""

    def __init__(self, input_size=784, hidden_size=50, output_size=10, weight_init_std=0.01,
                 params=None, rng=None, loss_convention="book"):
        super().__init__(input_size, (hidden_size,), output_size, "relu", weight_init_std,
                         loss_convention=loss_convention, params=params, rng=rng)


class SampleNet(MultiLayerNet):
    """ch03's inference net for ``sample_weight.pkl``: 784-50-100-10, sigmoid hidden layers."""

    def __init__(self, params):
        super().__init__(activation="sigmoid", params=params)


# ---- convolutional networks (book ch07, ch08) and LeNet-5 ----

def dense_params(sizes, weight_init_std, rng, first):
    """``affine_params`` numbered from ``first`` (after the conv layers' W1, W2, ...)."""
    dense = affine_params(sizes, weight_init_std, rng)
    return {f"{k[0]}{int(k[1:]) + first - 1}": v for k, v in dense.items()}


class SimpleConvNet(Network):
    """ch07: conv - ReLU - max-pool 2x2 - affine - ReLU - affine - softmax.

    The book sizes the first affine as ``filter_num * (conv_out / 2)**2``, which is
    wrong when the conv output is odd; here the pooled size is computed exactly.
    """

    split_batches = True  # measured faster at 2 threads (scratch.network)

    def __init__(self, input_dim=(1, 28, 28), filter_num=30, filter_size=5, pad=0, stride=1,
                 hidden_size=100, output_size=10, weight_init_std=0.01, params=None, rng=None,
                 loss_convention="book"):
        C, H, W = input_dim
        conv_h = conv_output(H, filter_size, stride, pad)
        conv_w = conv_output(W, filter_size, stride, pad)
        pooled = filter_num * conv_output(conv_h, 2, 2, 0) * conv_output(conv_w, 2, 2, 0)
        if params is None:
            rng = rng or np.random.default_rng()
            shape = (filter_num, C, filter_size, filter_size)
            params = {"W1": weight_init_std * rng.standard_normal(shape),
                      "b1": np.zeros(filter_num),
                      **dense_params([pooled, hidden_size, output_size], weight_init_std, rng, 2)}
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        self.need(params, ["W1", "b1", "W2", "b2", "W3", "b3"])
        self.add("Conv1", needs_no_input_grad(
            FastConvolution(params["W1"], params["b1"], stride, pad)), "1")
        self.add("Relu1", L.Relu())
        self.add("Pool1", FastPooling(2, 2, stride=2))
        self.add("Affine1", L.Affine(params["W2"], params["b2"]), "2")
        self.add("Relu2", L.Relu())
        self.add("Affine2", L.Affine(params["W3"], params["b3"]), "3")


class LeNet5(Network):
    """LeNet-5 (LeCun et al. 1998) on 28x28 MNIST: the first conv pads by 2 (as if 32x32).

    C1 conv 6@5x5 - act - S2 avg-pool 2x2 - C3 conv 16@5x5 - act - S4 avg-pool 2x2 -
    F5 affine 400->120 - act - F6 affine 120->84 - act - output affine 84->10.
    (C5's 5x5 convolution over a 5x5 map is exactly an affine layer.)
    """

    split_batches = True  # measured faster at 2 threads (scratch.network)

    def __init__(self, activation="tanh", params=None, rng=None, loss_convention="book",
                 input_dim=(1, 28, 28)):
        C, H, _ = input_dim
        s4 = H
        for kernel, stride, pad in ((5, 1, 2), (2, 2, 0), (5, 1, 0), (2, 2, 0)):  # C1 S2 C3 S4
            s4 = conv_output(s4, kernel, stride, pad)
        if params is None:
            rng = rng or np.random.default_rng()
            params = {}
            for i, shape in enumerate([(6, C, 5, 5), (16, 6, 5, 5)], start=1):
                fan_in = int(np.prod(shape[1:]))
                params[f"W{i}"] = rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
                params[f"b{i}"] = np.zeros(shape[0])
            params |= dense_params([16 * s4 * s4, 120, 84, 10], "xavier", rng, 3)
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        self.need(params, [f"{p}{i}" for i in range(1, 6) for p in "Wb"])
        act = activation_class("LeNet5", activation)
        self.add("C1", needs_no_input_grad(FastConvolution(params["W1"], params["b1"], pad=2)),
                 "1")
        self.add("Act1", act())
        self.add("S2", AvgPooling(2, 2, stride=2))
        self.add("C3", FastConvolution(params["W2"], params["b2"]), "2")
        self.add("Act2", act())
        self.add("S4", AvgPooling(2, 2, stride=2))
        for i, name in ((3, "F5"), (4, "F6")):
            self.add(name, L.Affine(params[f"W{i}"], params[f"b{i}"]), str(i))
            self.add(f"Act{i}", act())
        self.add("Output", L.Affine(params["W5"], params["b5"]), "5")


DEEP_CONVS = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]  # (filters, pad), 3x3


class DeepConvNet(Network):
    """ch08: six 3x3 convs with ReLU, max-pool after convs 2, 4, 6; affine - ReLU -
    dropout - affine - dropout; He initialisation.  Its dropouts follow
    ``dropout_convention`` ("book": test output multiplied by 1 - ratio)."""

    split_batches = True

    def __init__(self, input_dim=(1, 28, 28), hidden_size=50, output_size=10, params=None,
                 rng=None, dropout_ratio=0.5, dropout_convention="book", loss_convention="book",
                 dropout_masks=None):
        C, H, W = input_dim
        if params is None:
            rng = rng or np.random.default_rng()
            params, c_in, h = {}, C, H
            for i, (filters, pad) in enumerate(DEEP_CONVS, start=1):
                params[f"W{i}"] = np.sqrt(2.0 / (c_in * 9)) * rng.standard_normal(
                    (filters, c_in, 3, 3))
                params[f"b{i}"] = np.zeros(filters)
                h = conv_output(h, 3, 1, pad)
                if i % 2 == 0:
                    h = conv_output(h, 2, 2, 0)
                c_in = filters
            params |= dense_params([c_in * h * h, hidden_size, output_size], "he", rng, 7)
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        self.need(params, [f"{p}{i}" for i in range(1, 9) for p in "Wb"])
        for i, (_, pad) in enumerate(DEEP_CONVS, start=1):
            conv = FastConvolution(params[f"W{i}"], params[f"b{i}"], pad=pad)
            self.add(f"Conv{i}", needs_no_input_grad(conv) if i == 1 else conv, str(i))
            self.add(f"Relu{i}", L.Relu())
            if i % 2 == 0:
                self.add(f"Pool{i // 2}", FastPooling(2, 2, stride=2))
        self.add("Affine1", L.Affine(params["W7"], params["b7"]), "7")
        self.add("Relu7", L.Relu())
        self.add("Dropout1", dropout_layer(dropout_ratio, dropout_convention, dropout_masks))
        self.add("Affine2", L.Affine(params["W8"], params["b8"]), "8")
        self.add("Dropout2", dropout_layer(dropout_ratio, dropout_convention, dropout_masks))


class SimpleCNN(Network):
    """The study notes' model, corrected: conv 32@3x3 pad 1 - ReLU - flatten - affine -> 10."""

    def __init__(self, params, image_size=28, loss_convention="book"):
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        self.need(params, ["W1", "b1", "W2", "b2"])
        self.add("Conv1", needs_no_input_grad(
            FastConvolution(params["W1"], params["b1"], pad=1)), "1")
        self.add("Relu1", L.Relu())
        self.add("Affine1", L.Affine(params["W2"], params["b2"]), "2")
