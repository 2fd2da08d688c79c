"""``Network``: layers in order plus a loss layer, the way the book's nets are built.

Parameters live in one dict under the book's names (W1, b1, gamma1, ...); each
layer holds the very same arrays, so an optimizer that updates ``params`` in
place updates the layers too (book ch05-ch08).

A network that sets ``split_batches`` runs on every core the way torch does: each
run of consecutive per-sample layers (``PER_SAMPLE``: a sample's output depends on
that sample alone, a parameter's gradient is a sum over samples) takes the batch in
parts, one part per thread, each thread on its own copies of the layers (sharing
their parameters); backward adds the copies' gradients in part order.  BatchNorm
(batch statistics), Dropout (one mask draw for the batch) and the loss see the
whole batch.  The convolutional nets of ``scratch.models`` set it; the MLP does not (its
layers are too small: split, its step took 2x as long).  Measured at 2 threads, batch 100,
float32, same process, machine otherwise idle (issue #14): SimpleConvNet's step
15.0 -> 11.7 ms, LeNet-5's 15 -> 11.5 ms, DeepConvNet's 84-90 -> 72-77 ms (against its
convolutions alone splitting their blocks over the threads, as they did before).
"""

import copy
import inspect
from contextlib import nullcontext

import numpy as np

from scratch.checks import InputError, check_keys
from scratch.conv import AvgPooling, Convolution, Pooling
from scratch.layers import Affine, Flatten, Relu, Sigmoid, Softmax, Step, Tanh
from scratch.parallel import batch_threads, map_parts, parts, workers

PER_SAMPLE = (Affine, AvgPooling, Convolution, Flatten, Pooling, Relu, Sigmoid, Softmax, Step, Tanh)


def stages(layers):
    """(names, per-sample) in forward order: each run of consecutive ``PER_SAMPLE``
    layers, and every other layer on its own."""
    found = []
    for name, layer in layers.items():
        alone = not isinstance(layer, PER_SAMPLE)
        if alone or not found or not found[-1][1]:
            found.append(([], not alone))
        found[-1][0].append(name)
    return found


def replica(layer):
    """A copy of ``layer`` for one part of a batch: the same parameter arrays, its own
    cache (whatever forward sets) and its own gradients."""
    twin = copy.copy(layer)
    twin.grads = {}
    return twin


class Network:
    # True: forward and backward run inside ``scratch.parallel.batch_threads``, the runs of
    # per-sample layers on parts of the batch, one per thread, BLAS on one thread each
    # (module docstring); a network class sets it where that measured faster
    split_batches = False
    split_threads = None  # threads to split over; None: as many as NumPy's BLAS may use

    def __init__(self, params, last_layer):
        self.params = params
        self.layers = {}
        self.last_layer = last_layer
        self.grads = {}
        self._param_keys = {}  # book name -> (layer name, layer's own key)
        self._takes_mode = {}  # layer name -> forward accepts train_flg
        self._with_loss = False
        self._ran = None  # per stage of the last forward: (names, its parts or None: unsplit)

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
        return batch_threads(self.split_threads) if self.split_batches else nullcontext()

    def forward_layer(self, name, layer, x, train_flg):
        try:
            return layer.forward(x, train_flg) if self._takes_mode[name] else layer.forward(x)
        except InputError as err:  # say which of the network's layers refused
            raise InputError(f"{type(self).__name__} layer {name!r}: {err}") from None

    def predict(self, x, train_flg=False):
        with self.cores():
            self._ran = []
            for names, per_sample in stages(self.layers):
                if per_sample and workers() > 1:
                    x, split = self.split_forward(names, x, train_flg)
                else:
                    for name in names:
                        x = self.forward_layer(name, self.layers[name], x, train_flg)
                    split = None
                self._ran.append((names, split))
        return x

    def split_forward(self, names, x, train_flg):
        """The layers ``names`` on ``x`` in parts, one per thread: (the output, the parts
        as (first, end, their replicas of the layers))."""
        split = [(first, end, {name: replica(self.layers[name]) for name in names})
                 for first, end in parts(len(x), workers())]

        def run(part):
            first, end, layers = part
            h = x[first:end]
            for name in names:
                h = self.forward_layer(name, layers[name], h, train_flg)
            return h

        return np.concatenate(map_parts(run, split)), split

    def split_backward(self, names, split, dout):
        """Backward through ``split_forward``'s parts, each on its rows of ``dout``; the
        layers' gradients are the replicas' added in part order."""

        def run(part):
            first, end, layers = part
            d = dout[first:end]
            for name in reversed(names):
                d = layers[name].backward(d)
            return d

        dx = map_parts(run, split)
        for name in names:
            replicas = [layers[name] for _, _, layers in split]
            self.layers[name].grads.update(
                {key: sum(r.grads[key] for r in replicas) for key in replicas[0].grads})
        return None if dx[0] is None else np.concatenate(dx)

    def forward(self, x, t=None, train_flg=False):
        """Logits when ``t`` is None, else the loss; ``backward`` follows whichever ran."""
        self._with_loss = t is not None
        y = self.predict(x, train_flg)
        return y if t is None else self.last_layer.forward(y, t)

    def backward(self, dout=1):
        if self._with_loss:
            dout = self.last_layer.backward(dout)
        with self.cores():
            for names, split in reversed(self._ran or [(list(self.layers), None)]):
                if split is None:
                    for name in reversed(names):
                        dout = self.layers[name].backward(dout)
                else:
                    dout = self.split_backward(names, split, dout)
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
