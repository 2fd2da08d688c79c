"""``Network``: layers in order plus a loss layer, the way the book's nets are built.

Parameters live in one dict under the book's names (W1, b1, gamma1, ...); each
layer holds the very same arrays, so an optimizer that updates ``params`` in
place updates the layers too (book ch05-ch08).
"""

import inspect
from contextlib import nullcontext

import numpy as np

from scratch.checks import InputError, check_keys
from scratch.parallel import batch_threads


class Network:
    # True: forward and backward run inside ``scratch.parallel.batch_threads`` (layers
    # split the batch over threads, BLAS on one thread each); a network sets it where
    # that measured faster (DeepConvNet)
    split_batches = False
    def __init__(self, params, last_layer):
        self.params = params
        self.layers = {}
        self.last_layer = last_layer
        self.grads = {}
        self._param_keys = {}  # book name -> (layer name, layer's own key)
        self._takes_mode = {}  # layer name -> forward accepts train_flg
        self._with_loss = False

    def add(self, name, layer, suffix=""):
        """Append ``layer``; its params are known as key+suffix (W + "1" -> "W1")."""
        self.layers[name] = layer
        self._takes_mode[name] = "train_flg" in inspect.signature(layer.forward).parameters
        for key in layer.params:
            self._param_keys[key + suffix] = (name, key)
        return self

    def need(self, params, keys):
        """The constructor's check that ``params`` holds every array the layers take."""
        check_keys(type(self).__name__, "params", params, keys)

    def cores(self):
        """How the layers use the cores: ``batch_threads`` when ``split_batches``."""
        return batch_threads() if self.split_batches else nullcontext()

    def predict(self, x, train_flg=False):
        with self.cores():
            for name, layer in self.layers.items():
                try:
                    x = (layer.forward(x, train_flg) if self._takes_mode[name]
                         else layer.forward(x))
                except InputError as err:  # say which of the network's layers refused
                    raise InputError(f"{type(self).__name__} layer {name!r}: {err}") from None
        return x

    def forward(self, x, t=None, train_flg=False):
        """Logits when ``t`` is None, else the loss; ``backward`` follows whichever ran."""
        self._with_loss = t is not None
        y = self.predict(x, train_flg)
        return y if t is None else self.last_layer.forward(y, t)

    def backward(self, dout=1):
        if self._with_loss:
            dout = self.last_layer.backward(dout)
        with self.cores():
            for layer in reversed(self.layers.values()):
                dout = layer.backward(dout)
        self.grads = {k: self.layers[name].grads[key]
                      for k, (name, key) in self._param_keys.items()}
        return dout

    # ---- the book's interface ----
    def loss(self, x, t, train_flg=False):
        return self.forward(x, t, train_flg)

    def gradient(self, x, t):
        """Backprop gradients of the loss (upstream gradient 1: d loss / d loss)."""
        self.loss(x, t, train_flg=True)
        self.backward(1)
        return self.grads

    def accuracy(self, x, t, batch_size=100):
        t = t.argmax(axis=1) if t.ndim != 1 else t
        correct = 0
        for i in range(0, len(x), batch_size):
            y = self.predict(x[i : i + batch_size], train_flg=False)
            correct += int(np.sum(y.argmax(axis=1) == t[i : i + batch_size]))
        return correct / len(x)
