"""Backprop layers (the book's ``common/layers.py``), one class per layer.

Protocol, as in the book: ``forward`` caches what ``backward`` needs; trainable
arrays live in ``params`` and their gradients in ``grads`` under the same keys.

Two deliberate departures from the book, both found by the parity suite:
- no ``backward`` writes into the array it was given (the book's ``Relu.backward``
  zeroes the caller's ``dout`` in place, which corrupts any other branch using it);
- loss layers honour their upstream gradient ``dout`` (the book ignores it).
"""

import numpy as np

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
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dout):
        # Gradient 0 at x == 0, as torch.relu.  A new array: dout stays untouched.
        return dout * self.mask


class Sigmoid(Layer):
    def forward(self, x):
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out) * self.out


class Tanh(Layer):
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out**2)


class Softmax(Layer):
    """Softmax over the last axis as a layer of its own (no loss attached)."""

    def forward(self, x):
        self.out = softmax(x)
        return self.out

    def backward(self, dout):
        # Jacobian-vector product: y * (dout - <dout, y>) per row.
        y = self.out
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


class Affine(Layer):
    """out = x @ W + b with W of shape (in, out), the book's layout.

    Input of any rank is flattened to (N, -1) first, as the book does silently
    before its first fully connected layer; dx comes back in the input's shape.
    """

    def __init__(self, W, b):
        super().__init__()
        self.params = {"W": W, "b": b}

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
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

    def forward(self, x, t):
        num_classes = x.shape[-1]
        self.t = as_target_distribution(t, num_classes, x.dtype)
        self.y = softmax(x)
        if self.convention == "book":
            log_y = np.log(self.y + x.dtype.type(self.eps))
        else:
            log_y = log_softmax(x)
        return -np.sum(self.t * log_y) / x.dtype.type(x.shape[0])

    def backward(self, dout=1):
        return (self.y - self.t) * (dout / self.y.dtype.type(self.y.shape[0]))


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

    def forward(self, y, t):
        self.diff = y - t
        if self.convention == "book":
            return 0.5 * np.sum(self.diff**2)
        return np.sum(self.diff**2) / y.dtype.type(y.size)

    def backward(self, dout=1):
        if self.convention == "book":
            return self.diff * dout
        return self.diff * (2 * dout / self.diff.dtype.type(self.diff.size))
