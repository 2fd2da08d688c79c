"""The study notes' NumPy snippets, kept as written, with the corrected versions.

The notes give a single sigmoid layer y = sigmoid(X W + b) and a backward
``backward(dL_dy, W, X) -> (dL_dW, dL_dX)``.  Read literally, that backward is
the gradient of the *linear* part z = X W: it takes no y, so it cannot apply the
sigmoid's derivative y (1 - y).  And for a single sample (X 1-D), ``X.T`` is X
itself, so ``np.dot(X.T, dL_dy)`` is an inner product (a scalar, or a shape
error) instead of the outer product dW needs.
"""

import numpy as np

from scratch.functions import sigmoid


def notes_forward(X, W, b):
    return sigmoid(np.dot(X, W) + b)


def notes_backward(dL_dy, W, X):
    dL_dW = np.dot(X.T, dL_dy)
    dL_dX = np.dot(dL_dy, W.T)
    return dL_dW, dL_dX


def sigmoid_layer_backward(dL_dy, W, X, y):
    """What the layer needs: through the sigmoid first, and a batch view of X."""
    X2, dz = np.atleast_2d(X), np.atleast_2d(dL_dy * y * (1 - y))
    dL_dW = X2.T @ dz
    dL_dX = (dz @ W.T).reshape(np.shape(X))
    return dL_dW, dL_dX, dz.sum(axis=0)
