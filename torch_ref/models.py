"""PyTorch twins of ``scratch.models``, written the way a PyTorch user would.

Each network is a plain ``nn.Module``; ``WithLoss`` attaches a loss so a twin can
answer both ``net(x)`` (logits) and ``net(x, t)`` (the loss), as the scratch
``Network`` does.
"""

from torch import nn

import torch_ref.layers as L

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class WithLoss(nn.Module):
    """``net`` plus a loss module: forward(x) -> logits, forward(x, t) -> loss."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, x, t=None):
        y = self.net(x)
        return y if t is None else self.loss(y, t)


class MultiLayerNet(nn.Sequential):
    """Flatten, then per hidden layer Linear -> [BatchNorm1d] -> activation -> [Dropout]; Linear.

    ``batchnorm`` and ``dropout`` are factories (``n -> module``, ``() -> module``)
    so either convention's twin can be plugged in.
    """

    def __init__(self, input_size=784, hidden_size_list=(100,), output_size=10,
                 activation="relu", batchnorm=None, dropout=None):
        sizes = [input_size, *hidden_size_list]
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(n_in, n_out))
            if batchnorm:
                layers.append(batchnorm(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(dropout())
        layers.append(nn.Linear(sizes[-1], output_size))
        super().__init__(*layers)


def TwoLayerNet(input_size=784, hidden_size=50, output_size=10):
    return MultiLayerNet(input_size, (hidden_size,), output_size, "relu")


def with_book_loss(net, convention="book"):
    return WithLoss(net, L.SoftmaxWithLoss(convention))
