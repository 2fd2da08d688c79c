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


def conv_output(size, kernel, stride=1, pad=0):
    return (size + 2 * pad - kernel) // stride + 1


class SimpleConvNet(nn.Sequential):
    """ch07's SimpleConvNet: conv - ReLU - max-pool 2x2 - flatten - linear - ReLU - linear."""

    def __init__(self, input_dim=(1, 28, 28), filter_num=30, filter_size=5, pad=0, stride=1,
                 hidden_size=100, output_size=10):
        C, H, W = input_dim
        oh = conv_output(conv_output(H, filter_size, stride, pad), 2, 2)
        ow = conv_output(conv_output(W, filter_size, stride, pad), 2, 2)
        super().__init__(
            nn.Conv2d(C, filter_num, filter_size, stride, pad), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(filter_num * oh * ow, hidden_size), nn.ReLU(),
            nn.Linear(hidden_size, output_size))


class LeNet5(nn.Sequential):
    """LeNet-5 on 28x28 input (first conv pads by 2), average-pool subsampling."""

    def __init__(self, activation="tanh", input_dim=(1, 28, 28)):
        C, H, _ = input_dim
        s4 = conv_output(conv_output(conv_output(conv_output(H, 5, pad=2), 2, 2), 5), 2, 2)
        act = ACTIVATIONS[activation]
        super().__init__(
            nn.Conv2d(C, 6, 5, padding=2), act(), nn.AvgPool2d(2, 2),
            nn.Conv2d(6, 16, 5), act(), nn.AvgPool2d(2, 2), nn.Flatten(),
            nn.Linear(16 * s4 * s4, 120), act(), nn.Linear(120, 84), act(), nn.Linear(84, 10))


class DeepConvNet(nn.Sequential):
    """ch08's DeepConvNet.  ``dropout``: a factory for its two dropout layers -- the book's
    convention (test output x (1 - p)) needs a custom module, ``nn.Dropout`` is inverted."""

    CONVS = [(16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)]  # (filters, pad), 3x3

    def __init__(self, input_dim=(1, 28, 28), hidden_size=50, output_size=10,
                 dropout=lambda: nn.Dropout(0.5)):
        C, H, _ = input_dim
        layers, c_in, h = [], C, H
        for i, (filters, pad) in enumerate(self.CONVS, start=1):
            layers += [nn.Conv2d(c_in, filters, 3, padding=pad), nn.ReLU()]
            h = conv_output(h, 3, 1, pad)
            if i % 2 == 0:
                layers.append(nn.MaxPool2d(2, 2))
                h = conv_output(h, 2, 2)
            c_in = filters
        layers += [nn.Flatten(), nn.Linear(c_in * h * h, hidden_size), nn.ReLU(), dropout(),
                   nn.Linear(hidden_size, output_size), dropout()]
        super().__init__(*layers)
