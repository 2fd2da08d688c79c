"""scratch.models under the book's constructor signatures (no arithmetic here)."""

import numpy as np

import scratch.models as M
from common.layers import book_masks


def masks(ratio):
    return lambda: book_masks(ratio)


class TwoLayerNet(M.TwoLayerNet):
    pass


class MultiLayerNet(M.MultiLayerNet):
    """The book's MultiLayerNet(..., weight_decay_lambda): L2 on the weights only."""

    def __init__(self, input_size, hidden_size_list, output_size, activation="relu",
                 weight_init_std="relu", weight_decay_lambda=0):
        super().__init__(input_size, hidden_size_list, output_size, activation,
                         weight_init_std)
        self.weight_decay_lambda = weight_decay_lambda

    def loss(self, x, t, train_flg=False):
        penalty = sum(np.sum(w ** 2) for k, w in self.params.items() if k.startswith("W"))
        return super().loss(x, t, train_flg) + 0.5 * self.weight_decay_lambda * penalty

    def gradient(self, x, t):
        grads = super().gradient(x, t)
        return {k: g + self.weight_decay_lambda * self.params[k] if k.startswith("W") else g
                for k, g in grads.items()}


class MultiLayerNetExtend(MultiLayerNet):
    def __init__(self, input_size, hidden_size_list, output_size, activation="relu",
                 weight_init_std="relu", weight_decay_lambda=0, use_dropout=False,
                 dropout_ration=0.5, use_batchnorm=False):
        M.MultiLayerNet.__init__(self, input_size, hidden_size_list, output_size, activation,
                                 weight_init_std, use_batchnorm=use_batchnorm,
                                 use_dropout=use_dropout, dropout_ratio=dropout_ration,
                                 dropout_masks=masks(dropout_ration))
        self.weight_decay_lambda = weight_decay_lambda


class SimpleConvNet(M.SimpleConvNet):
    def __init__(self, input_dim=(1, 28, 28), conv_param=None, hidden_size=100,
                 output_size=10, weight_init_std=0.01):
        p = conv_param or {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        super().__init__(input_dim, p["filter_num"], p["filter_size"], p["pad"], p["stride"],
                         hidden_size, output_size, weight_init_std)


class DeepConvNet(M.DeepConvNet):
    def __init__(self, input_dim=(1, 28, 28), hidden_size=50, output_size=10):
        super().__init__(input_dim, hidden_size, output_size, dropout_masks=masks(0.5))
