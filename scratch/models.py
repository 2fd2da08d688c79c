"""The book's networks, built from ``scratch.layers`` on ``scratch.network.Network``.

Each takes either sizes (and initialises like the book) or a ready ``params``
dict under the book's names -- that is how published or transferred weights
come in.  Parameter names follow the book: W1, b1, ... numbered across layers.
"""

import numpy as np

import scratch.layers as L
from scratch.network import Network

ACTIVATIONS = {"relu": L.Relu, "sigmoid": L.Sigmoid, "tanh": L.Tanh}


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


class MultiLayerNet(Network):
    """Fully connected net (the book's ``MultiLayerNetExtend``).

    Hidden layer i: Affine -> [BatchNorm] -> activation -> [Dropout]; then a last
    Affine and ``SoftmaxWithLoss``.  Sizes come from ``params`` when it is given.
    """

    def __init__(self, input_size=784, hidden_size_list=(100,), output_size=10,
                 activation="relu", weight_init_std="relu", use_batchnorm=False,
                 use_dropout=False, dropout_ratio=0.5, batchnorm_convention="book",
                 dropout_convention="book", loss_convention="book", params=None, rng=None):
        sizes = [input_size, *hidden_size_list, output_size]
        if params is None:
            params = affine_params(sizes, weight_init_std, rng)
            if use_batchnorm:
                for i, n in enumerate(hidden_size_list, start=1):
                    params[f"gamma{i}"], params[f"beta{i}"] = np.ones(n), np.zeros(n)
        super().__init__(params, L.SoftmaxWithLoss(loss_convention))
        n_hidden = sum(1 for k in params if k.startswith("W")) - 1
        for i in range(1, n_hidden + 1):
            self.add(f"Affine{i}", L.Affine(params[f"W{i}"], params[f"b{i}"]), str(i))
            if use_batchnorm:
                self.add(f"BatchNorm{i}", L.BatchNormalization(
                    params[f"gamma{i}"], params[f"beta{i}"], convention=batchnorm_convention),
                    str(i))
            self.add(f"Activation{i}", ACTIVATIONS[activation]())
            if use_dropout:
                self.add(f"Dropout{i}", L.Dropout(dropout_ratio, convention=dropout_convention))
        last = n_hidden + 1
        self.add(f"Affine{last}", L.Affine(params[f"W{last}"], params[f"b{last}"]), str(last))


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
