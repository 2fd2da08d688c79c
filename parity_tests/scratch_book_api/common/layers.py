"""scratch.layers / scratch.conv under the book's names: W, b, dW, db, gamma, dgamma, ..."""

import numpy as np

import scratch.conv as C
import scratch.layers as L

Relu, Sigmoid, Tanh = L.Relu, L.Sigmoid, L.Tanh
SoftmaxWithLoss = L.SoftmaxWithLoss  # book convention by default, honours dout


def book_attributes(*names):
    """Class decorator: params[k] as attribute k, grads[k] as attribute d<k>."""
    def decorate(cls):
        for k in names:
            setattr(cls, k, property(lambda self, k=k: self.params[k],
                                     lambda self, v, k=k: self.params.__setitem__(k, v)))
            setattr(cls, "d" + k, property(lambda self, k=k: self.grads[k]))
        return cls
    return decorate


@book_attributes("W", "b")
class Affine(L.Affine):
    pass


@book_attributes("gamma", "beta")
class BatchNormalization(L.BatchNormalization):
    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        super().__init__(gamma, beta, momentum, running_mean=running_mean,
                         running_var=running_var)


def book_masks(ratio):
    """The book's draw: np.random.rand(*x.shape) > ratio."""
    return lambda shape: np.random.rand(*shape) > ratio  # noqa: NPY002


class Dropout(L.Dropout):
    def __init__(self, dropout_ratio=0.5):
        super().__init__(dropout_ratio, mask_source=book_masks(dropout_ratio))


@book_attributes("W", "b")
class Convolution(C.Convolution):
    pass


class Pooling(C.Pooling):
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        super().__init__(pool_h, pool_w, stride, pad)
