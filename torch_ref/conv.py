"""PyTorch twins of ``scratch.conv``: stock modules, the book's arguments.

The book's layers and torch's agree here -- cross-correlation with weight
(FN, C, FH, FW), max pooling with -inf padding and first-maximum ties -- so each
twin only translates the constructor's arguments.
"""

from torch import nn


def Convolution(out_channels, in_channels, kernel_h, kernel_w, stride=1, pad=0, bias=True):
    """The book's Convolution(W, b, stride, pad) with W of shape (FN, C, FH, FW)."""
    return nn.Conv2d(in_channels, out_channels, (kernel_h, kernel_w), stride=stride,
                     padding=pad, bias=bias)


def Pooling(pool_h, pool_w, stride=None, pad=0):
    """Max pooling; stride None -> the window size, in both libraries."""
    return nn.MaxPool2d((pool_h, pool_w), stride=stride, padding=pad)


def AvgPooling(pool_h, pool_w, stride=None, pad=0, count_include_pad=True):
    return nn.AvgPool2d((pool_h, pool_w), stride=stride, padding=pad,
                        count_include_pad=count_include_pad)
