"""The book's loss *functions* (ch04) agree with the loss layers and with torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import scratch.functions as SF
import scratch.gan as SG
import scratch.layers as SL
import scratch.policy as SP
from parity.engine.inputs import source
from parity.engine.tolerances import tolerance_for

TOL = tolerance_for("float64")


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=TOL.rtol, atol=TOL.atol)


@pytest.mark.parametrize("one_hot", [False, True])
def test_cross_entropy_error_on_probabilities(one_hot):
    rng = source("functions", "cross_entropy_error")
    x, t = rng.standard_normal((7, 10)) * 3, rng.integers(0, 10, 7)
    labels = np.eye(10)[t] if one_hot else t
    y = SF.softmax(x)
    loss = SF.cross_entropy_error(y, labels)
    close(loss, SL.SoftmaxWithLoss("book").forward(x, labels))
    close(loss, F.nll_loss(torch.log(torch.from_numpy(y) + 1e-7), torch.from_numpy(t)).item())


def test_cross_entropy_error_single_sample_and_its_cap():
    y = np.array([0.1, 0.7, 0.2])
    close(SF.cross_entropy_error(y, 1), -np.log(0.7 + 1e-7))
    close(SF.cross_entropy_error(y, np.array([0, 1, 0])), -np.log(0.7 + 1e-7))
    # a probability of 0 costs -log(1e-7) = 16.12, not infinity: the book's cap
    close(SF.cross_entropy_error(np.array([1.0, 0.0]), 1), -np.log(1e-7))


def test_mean_squared_error_is_the_books_half_sum():
    rng = source("functions", "mse")
    y, t = rng.random((4, 10)), np.eye(10)[rng.integers(0, 10, 4)]
    close(SF.mean_squared_error(y, t), SL.MeanSquaredError("book").forward(y, t))
    close(SF.mean_squared_error(y, t), 0.5 * F.mse_loss(torch.from_numpy(y), torch.from_numpy(t),
                                                       reduction="sum").item())


def test_sigmoid_extremes_without_warnings():
    x = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    close(SF.sigmoid(x), torch.sigmoid(torch.from_numpy(x)).numpy())
    assert SF.sigmoid(x.astype(np.float32)).dtype == np.float32


def test_relu_is_torchs_and_keeps_the_dtype():
    """The book's ch03 relu (make check's reference for a learner's relu): 0 at and below 0,
    x above -- values in (0, 1) too, where max(x, 1) or a shifted kink would differ."""
    x = np.array([-2.0, -0.5, 0.0, 0.25, 0.75, 3.0])
    close(SF.relu(x), torch.relu(torch.from_numpy(x)).numpy())
    assert SF.relu(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("one_hot", [False, True])
def test_cross_entropy_error_keeps_float32(one_hot):
    """Every function keeps its input's dtype: float64 labels or an np.eye of float64 must
    not turn a float32 loss into float64."""
    y = SF.softmax(source("functions", "ce_float32").standard_normal((4, 5))).astype(np.float32)
    t = np.array([0, 3, 1, 4])
    loss = SF.cross_entropy_error(y, np.eye(5)[t] if one_hot else t)
    assert loss.dtype == np.float32


def test_log_softmax_is_over_the_last_axis_of_any_batch_shape():
    """Like softmax: the last axis, also for (B, T, V) scores, not axis 1."""
    x = source("functions", "log_softmax").standard_normal((2, 3, 4)) * 3
    close(SF.log_softmax(x), torch.log_softmax(torch.from_numpy(x), dim=-1).numpy())


def loss_after_forward(name):
    """A loss layer (or WeightDecay) that has run its forward on random numbers."""
    rng = source("functions", "backward default", name)
    x, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    layers = {
        "MeanSquaredError book": lambda: SL.MeanSquaredError("book"),
        "MeanSquaredError mean": lambda: SL.MeanSquaredError("mean"),
        "SoftmaxWithLoss": lambda: SL.SoftmaxWithLoss(),
        "BCEWithLogits": lambda: SG.BCEWithLogits(),
        "ReinforceLoss": lambda: SP.ReinforceLoss(),
    }
    layer = layers[name]()
    if name.startswith("MeanSquaredError"):
        layer.forward(x, rng.standard_normal((4, 3)))
    elif name == "BCEWithLogits":
        layer.forward(x, (rng.random((4, 3)) < 0.5).astype(float))
    elif name == "ReinforceLoss":
        layer.forward(x, labels, rng.standard_normal(4))
    else:
        layer.forward(x, labels)
    return layer


@pytest.mark.parametrize("name", ["MeanSquaredError book", "MeanSquaredError mean",
                                  "SoftmaxWithLoss", "BCEWithLogits", "ReinforceLoss"])
def test_loss_layers_backward_defaults_to_dout_1(name):
    """The book's loss layers: backward() takes d loss / d loss = 1 (what a training loop
    calls).  The gradient is linear in dout and doubling is exact in floating point, so
    backward() must equal half of backward(2.0) to the bit."""
    layer = loss_after_forward(name)
    np.testing.assert_array_equal(layer.backward(), layer.backward(2.0) / 2)


@pytest.mark.parametrize("convention", ["book", "log_softmax"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_with_loss_takes_one_row_as_a_batch_of_one(convention, one_hot):
    """x (C,) with a label (or a one-hot row (C,)): the loss of the batch (1, C), and dx
    comes back as (C,), the shape x had."""
    x = source("functions", "one row").standard_normal(5)
    label = np.eye(5)[3] if one_hot else 3
    row, batch = SL.SoftmaxWithLoss(convention), SL.SoftmaxWithLoss(convention)
    close(row.forward(x, label), batch.forward(x[None], np.array([label])))
    dx = row.backward()
    assert dx.shape == (5,)
    close(dx, batch.backward()[0])
