"""Backprop layers (the book's ``common/layers.py``), one class per layer.

Protocol, as in the book: ``forward`` caches what ``backward`` needs; trainable
arrays live in ``params`` and their gradients in ``grads`` under the same keys.

Two deliberate departures from the book, both found by the parity suite:
- no ``backward`` writes into the array it was given (the book's ``Relu.backward``
  zeroes the caller's ``dout`` in place, which corrupts any other branch using it);
- loss layers honour their upstream gradient ``dout`` (the book ignores it).
"""

import math

import numpy as np

from scratch.checks import (
    CallOrderError,
    check_dout,
    check_features,
    check_floating,
    check_ndim,
    check_range,
    fail,
)
from scratch.functions import (
    as_target_distribution,
    log_softmax,
    sigmoid,
    softmax,
    step_function,
)


class Layer:
    """Base class: a layer without parameters."""

    def __init__(self):
        self.params = {}
        self.grads = {}


class Step(Layer):
    """The perceptron's activation, forward only: no useful gradient exists."""

    def forward(self, x):
        return step_function(x)


class Relu(Layer):
    mask = None  # set by forward

    def forward(self, x):
        self.mask = x > 0
        return np.maximum(x, 0)  # not x * mask: -inf * 0 is NaN, relu(-inf) is 0

    def backward(self, dout):
        check_dout("Relu.backward", dout, self.mask)
        # Gradient 0 at x == 0, as torch.relu.  A new array: dout stays untouched.
        return dout * self.mask


class Sigmoid(Layer):
    out = None  # set by forward

    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        check_dout("Sigmoid.backward", dout, self.out)
        return dout * (1 - self.out) * self.out


class Tanh(Layer):
    out = None  # set by forward

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        check_dout("Tanh.backward", dout, self.out)
        return dout * (1 - self.out**2)


class Softmax(Layer):
    """Softmax over the last axis as a layer of its own (no loss attached)."""

    out = None  # set by forward

    def forward(self, x):
        self.out = softmax(x)
        return self.out

    def backward(self, dout):
        check_dout("Softmax.backward", dout, self.out)
        # Jacobian-vector product: y * (dout - <dout, y>) per row.
        y = self.out
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


class Affine(Layer):
    """out = x @ W + b with W of shape (in, out), the book's layout.

    Input of any rank is flattened to (N, -1) first, as the book does silently
    before its first fully connected layer; dx comes back in the input's shape.
    """

    x = None  # set by forward
    # False: backward skips dx and returns None.  A network sets it on its first layer
    # when that is an Affine (scratch.models.needs_no_input_grad): its input is the data,
    # and the book's gradient() returns parameter gradients only.
    input_grad = True

    def __init__(self, W, b):
        super().__init__()
        check_ndim("Affine", "W", W, 2, "(in, out)")
        if np.shape(b) != W.shape[1:]:
            fail("Affine", f"b has shape {np.shape(b)}, W {W.shape} needs ({W.shape[1]},)")
        self.params = {"W": W, "b": b}

    def forward(self, x):
        check_features("Affine.forward", x, self.params["W"])
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        check_dout("Affine.backward", dout, None if self.x is None else
                   (self.x.shape[0], self.params["W"].shape[1]))
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        if not self.input_grad:
            return None
        return (dout @ self.params["W"].T).reshape(self.x_shape)


# --- losses: forward(x, t) returns a scalar, backward(dout) takes its gradient ---

CROSS_ENTROPY_CONVENTIONS = ("book", "log_softmax")


class SoftmaxWithLoss(Layer):
    """Softmax followed by mean cross-entropy over the batch.

    ``t`` may be class indices (N,) or one-hot rows (N, C).  Two conventions:

    - ``"book"``: loss = -sum(t * log(softmax(x) + 1e-7)) / N, as the book writes it.
      Its backward is (softmax(x) - t) / N, which is the exact gradient of the
      log-softmax loss, *not* of this loss: the 1e-7 makes the two disagree by
      about 1e-7 / y_target (relative).  The parity suite reports that gap.
    - ``"log_softmax"``: loss = -sum(t * log_softmax(x)) / N, the form of
      ``F.cross_entropy``; exact for any logits, and its backward is its gradient.
    """

    def __init__(self, convention="book", eps=1e-7):
        super().__init__()
        if convention not in CROSS_ENTROPY_CONVENTIONS:
            raise ValueError(f"convention must be one of {CROSS_ENTROPY_CONVENTIONS}")
        self.convention = convention
        self.eps = eps

    y = None  # set by forward

    def forward(self, x, t):
        self.x_shape = None if np.ndim(x) != 1 else x.shape  # backward gives dx this shape
        if np.ndim(x) == 1:  # one unbatched row (C,), as F.cross_entropy: a batch of one
            x, t = x.reshape(1, -1), np.reshape(t, (1, -1) if np.ndim(t) == 1 else (1,))
        check_ndim("SoftmaxWithLoss.forward", "x", x, 2, "scores (N, C) or one row (C,)")
        check_floating("SoftmaxWithLoss.forward", "x", x)
        self.t = as_target_distribution(t, x.shape[1], x.dtype, "SoftmaxWithLoss.forward",
                                        len(x))
        self.y = softmax(x)
        if self.convention == "book":
            log_y = np.log(self.y + x.dtype.type(self.eps))
        else:
            log_y = log_softmax(x)
        return -np.sum(self.t * log_y) / x.dtype.type(x.shape[0])

    def backward(self, dout=1):
        if self.y is None:
            raise CallOrderError("SoftmaxWithLoss.backward: called before forward")
        if getattr(dout, "ndim", 0) != 0:
            fail("SoftmaxWithLoss.backward", f"dout is the gradient of a scalar loss: one "
                 f"number, got shape {np.shape(dout)}")
        dx = (self.y - self.t) * (dout / self.y.dtype.type(self.y.shape[0]))
        return dx if self.x_shape is None else dx.reshape(self.x_shape)


MSE_CONVENTIONS = ("book", "mean")


class MeanSquaredError(Layer):
    """Squared error between predictions y and targets t.

    - ``"book"``: 0.5 * sum((y - t)**2), the book's ``mean_squared_error`` (a sum,
      not divided by the batch size), gradient y - t;
    - ``"mean"``: mean((y - t)**2) over all elements, as ``nn.MSELoss()``,
      gradient 2 * (y - t) / y.size.
    """

    def __init__(self, convention="book"):
        super().__init__()
        if convention not in MSE_CONVENTIONS:
            raise ValueError(f"convention must be one of {MSE_CONVENTIONS}")
        self.convention = convention

    diff = None  # set by forward

    def forward(self, y, t):
        if np.shape(y) != np.shape(t):  # broadcasting would silently compare wrong pairs
            fail("MeanSquaredError.forward", f"y has shape {np.shape(y)}, t has "
                 f"{np.shape(t)}: expected the same shape")
        self.diff = y - t
        if self.convention == "book":
            return 0.5 * np.sum(self.diff**2)
        return np.sum(self.diff**2) / y.dtype.type(y.size)

    def backward(self, dout=1):
        if self.diff is None:
            raise CallOrderError("MeanSquaredError.backward: called before forward")
        if np.ndim(dout) != 0:
            fail("MeanSquaredError.backward", f"dout is the gradient of a scalar loss: one "
                 f"number, got shape {np.shape(dout)}")
        if self.convention == "book":
            return self.diff * dout
        return self.diff * (2 * dout / self.diff.dtype.type(self.diff.size))


# --- normalisation, regularisation, reshaping ---

BATCH_NORM_CONVENTIONS = ("book", "torch")


class BatchNormalization(Layer):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over the batch.

    Training normalises with the batch's mean and (biased) variance and updates
    running = momentum * running + (1 - momentum) * batch; evaluation
    (``train_flg=False``) normalises with the running statistics.  Two conventions:

    - ``"book"``: statistics per activation -- 4-D input is flattened to
      (N, C*H*W) -- and the running variance is the *biased* batch variance,
      starting at 0.  The book writes eps as ``10e-7`` (= 1e-6).
    - ``"torch"``: as ``nn.BatchNorm1d/2d``: 4-D input is normalised per channel
      (over N, H, W), the running variance is the *unbiased* batch variance,
      starting at 1.  (Pass eps=1e-5 for torch's default eps.)

    ``momentum`` keeps the book's meaning (weight of the old value); torch's
    ``momentum`` is 1 - this.  One departure from the book: backward after an
    evaluation forward is the gradient of that forward (the book reuses the last
    training batch's statistics).
    """

    def __init__(self, gamma, beta, momentum=0.9, eps=1e-6, convention="book",
                 running_mean=None, running_var=None):
        super().__init__()
        if convention not in BATCH_NORM_CONVENTIONS:
            raise ValueError(f"convention must be one of {BATCH_NORM_CONVENTIONS}")
        self.params = {"gamma": gamma, "beta": beta}
        self.momentum, self.eps, self.convention = momentum, eps, convention
        self.running_mean, self.running_var = running_mean, running_var

    def _as_features(self, x):
        """Book: (N, C*H*W), one feature per activation.  Torch: unchanged, one per channel."""
        return x.reshape(x.shape[0], -1) if self.convention == "book" else x

    xn = None  # set by forward

    def forward(self, x, train_flg=True):
        where = "BatchNormalization.forward"
        if np.ndim(x) not in (2, 4):
            fail(where, f"x must be (N, D) or (N, C, H, W), got shape {np.shape(x)}")
        self.input_shape = x.shape
        x = self._as_features(x)
        self.axes = (0, *range(2, x.ndim))  # batch axis (and spatial axes, per channel)
        self.count = x.size // x.shape[1]  # values behind each statistic
        if x.shape[1] != self.params["gamma"].size:
            fail(where, f"x has {x.shape[1]} features ({self.convention} convention: "
                 f"{'per activation' if self.convention == 'book' else 'per channel'}), "
                 f"gamma has {self.params['gamma'].size}")
        if train_flg and self.convention == "torch" and self.count < 2:
            fail(where, f"training needs more than 1 value per feature for the unbiased "
                 f"variance, got x of shape {self.input_shape}")
        gamma = self._per_feature(self.params["gamma"], x.ndim)
        beta = self._per_feature(self.params["beta"], x.ndim)
        if self.running_mean is None:  # as the book: created on the first call
            start = 0.0 if self.convention == "book" else 1.0
            self.running_mean = np.zeros(x.shape[1], dtype=x.dtype)
            self.running_var = np.full(x.shape[1], start, dtype=x.dtype)
        if train_flg:
            mu = x.mean(axis=self.axes, keepdims=True)
            xc = x - mu
            var = np.mean(xc**2, axis=self.axes, keepdims=True)
            self._update_running(mu.reshape(-1), var.reshape(-1))
        else:
            xc = x - self._per_feature(self.running_mean, x.ndim)
            var = self._per_feature(self.running_var, x.ndim)
        self.train_flg = train_flg
        self.xc = xc
        self.std = np.sqrt(var + x.dtype.type(self.eps))
        self.xn = xc / self.std
        return (gamma * self.xn + beta).reshape(self.input_shape)

    def _update_running(self, mu, var):
        if self.convention == "torch":
            var = var * (self.count / (self.count - 1))  # unbiased, as nn.BatchNorm
        m = self.momentum
        self.running_mean = m * self.running_mean + (1 - m) * mu
        self.running_var = m * self.running_var + (1 - m) * var

    @staticmethod
    def _per_feature(v, ndim):
        """A (features,) vector shaped to broadcast against (N, features, ...)."""
        return v.reshape((1, -1) + (1,) * (ndim - 2))

    def backward(self, dout):
        check_dout("BatchNormalization.backward", dout, None if self.xn is None else
                   self.input_shape)
        dout = self._as_features(dout)
        gamma = self._per_feature(self.params["gamma"], dout.ndim)
        self.grads["beta"] = dout.sum(axis=self.axes)
        self.grads["gamma"] = np.sum(self.xn * dout, axis=self.axes)
        dxn = gamma * dout
        dxc = dxn / self.std
        if self.train_flg:  # mean and std depend on x too (the book's chain, step by step)
            dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=self.axes,
                           keepdims=True)
            dvar = 0.5 * dstd / self.std
            dxc = dxc + (2.0 / self.count) * self.xc * dvar
            dmu = np.sum(dxc, axis=self.axes, keepdims=True)
            dxc = dxc - dmu / self.count
        return dxc.reshape(self.input_shape)


DROPOUT_CONVENTIONS = ("book", "inverted")


class Dropout(Layer):
    """Zeroes each unit with probability ``dropout_ratio`` while training.

    - ``"book"``: train x * mask, test x * (1 - ratio);
    - ``"inverted"`` (``nn.Dropout``): train x * mask / (1 - ratio), test x.
    The book's output is the inverted one times (1 - ratio), in both modes.

    ``mask_source(shape)`` returns the boolean keep-mask for one training call;
    by default it is drawn by the book's rule, ``rand(*shape) > ratio``.
    Inject a seeded source to replay the same masks elsewhere.  Backward reuses
    the last forward's multiplier (the book's backward after a test forward
    would use a stale training mask).
    """

    def __init__(self, dropout_ratio=0.5, convention="book", mask_source=None):
        super().__init__()
        if convention not in DROPOUT_CONVENTIONS:
            raise ValueError(f"convention must be one of {DROPOUT_CONVENTIONS}")
        check_range("Dropout", "dropout_ratio", dropout_ratio, 0, 1, high_open=False)
        self.dropout_ratio, self.convention = dropout_ratio, convention
        if mask_source is None:  # the book's rule, from a Generator (not np.random.rand)
            rng = np.random.default_rng()
            mask_source = lambda shape: rng.random(shape) > dropout_ratio
        self.mask_source = mask_source

    factor = None  # set by forward

    def forward(self, x, train_flg=True):
        check_floating("Dropout.forward", "x", x)  # an integer x * (1 - ratio) would truncate
        keep = 1.0 - self.dropout_ratio
        if train_flg:
            self.mask = np.asarray(self.mask_source(x.shape), dtype=bool)
            if self.mask.shape != x.shape:
                fail("Dropout.forward", f"mask_source gave a mask of shape {self.mask.shape} "
                     f"for x of shape {x.shape}")
            factor = self.mask.astype(x.dtype)
            if self.convention == "inverted" and keep > 0:  # ratio 1 drops all: zeros (torch)
                factor = factor / x.dtype.type(keep)
        else:
            factor = x.dtype.type(keep if self.convention == "book" else 1.0)
        self.factor, self.x_shape = factor, x.shape
        return x * factor

    def backward(self, dout):
        check_dout("Dropout.backward", dout, self.x_shape if self.factor is not None else None)
        return dout * self.factor


class Flatten(Layer):
    """(N, ...) -> (N, -1), as ``nn.Flatten``; dx comes back in the input's shape."""

    input_shape = None  # set by forward

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        check_dout("Flatten.backward", dout, None if self.input_shape is None else
                   (self.input_shape[0], math.prod(self.input_shape[1:])))
        return dout.reshape(self.input_shape)
