"""The book's network API where parity cannot look: defaults, layer names, gradient()'s
training mode, batched accuracy.  (Both sides are built from the same explicit settings in
the registry, so a changed default or a wrong mode inside gradient() passes every pair.)"""

import copy

import numpy as np
import pytest

import scratch.models as SM
import scratch.resnet as SR
from scratch import parallel
from scratch.checks import InputError
from scratch.layers import Affine, SoftmaxWithLoss
from scratch.network import Network


def test_two_layer_net_defaults_are_the_books_and_its_rng_draws_the_weights():
    net = SM.TwoLayerNet(rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    again = SM.TwoLayerNet(rng=np.random.default_rng(0))
    np.testing.assert_array_equal(net.params["W1"], again.params["W1"])


def test_simple_cnn_names_its_layers_as_the_book_does():
    rng = np.random.default_rng(1)
    params = {"W1": rng.standard_normal((32, 1, 3, 3)), "b1": np.zeros(32),
              "W2": rng.standard_normal((32 * 4 * 4, 10)), "b2": np.zeros(10)}
    net = SM.SimpleCNN(params)
    assert list(net.layers) == ["Conv1", "Relu1", "Affine1"]
    assert net.last_layer.convention == "book"


def test_gradient_runs_the_forward_in_training_mode_with_upstream_gradient_1():
    """Batch normalization tells the modes apart: batch statistics when training, the
    running ones (zero mean, unit variance at the start) otherwise."""
    rng = np.random.default_rng(2)
    net = SM.MultiLayerNet(6, (5,), 3, use_batchnorm=True, rng=rng)
    twin = copy.deepcopy(net)
    x, t = 3 + 2 * rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    grads = net.gradient(x, t)
    twin.loss(x, t, train_flg=True)
    twin.backward(2.0)  # linear in the upstream gradient, and doubling is exact: grads * 2
    for key, grad in twin.grads.items():
        np.testing.assert_array_equal(grads[key], grad / 2)


def resnet():
    return SR.ResNet(SR.resnet_params((2, 3, 4), rng=np.random.default_rng(3)), 3)


def test_resnet_accuracy_counts_hits_over_every_batch():
    rng = np.random.default_rng(4)
    net, x = resnet(), rng.standard_normal((7, 1, 8, 8))
    predicted = net.predict(x).argmax(axis=1)
    t = np.where(np.arange(7) < 4, predicted, (predicted + 1) % 10)  # 4 hits of 7
    assert net.accuracy(x, t, batch_size=3) == 4 / 7
    assert net.accuracy(x, t) == 4 / 7


def test_resnet_loss_is_in_eval_mode_unless_told():
    rng = np.random.default_rng(5)
    net, x, t = resnet(), 3 + rng.standard_normal((4, 1, 8, 8)), rng.integers(0, 10, 4)
    assert net.loss(x, t) == net.loss(x, t, train_flg=False) != net.loss(x, t, train_flg=True)


def test_resnet_predicts_in_eval_mode_unless_told_and_its_head_is_lecun_scaled():
    rng = np.random.default_rng(6)
    net, x = resnet(), 3 + rng.standard_normal((4, 1, 8, 8))
    np.testing.assert_array_equal(net.predict(x), net.predict(x, False))
    np.testing.assert_array_equal(net.forward(x), net.forward(x, None, False))
    # the linear head: N(0, 1 / fan_in) (640 draws: the sample std is within 6 %)
    W = SR.resnet_params((4, 8, 64), rng=np.random.default_rng(7))["fc.W"]
    assert abs(W.std() / np.sqrt(1 / 64) - 1) < 0.06


def test_deep_convnet_sizes_its_first_affine_layer_for_any_input():
    """Without params it draws its own: W7's rows follow the input through the six convs
    (pads 1, 1, 1, 2, 1, 1) and the pools after convs 2, 4, 6 -- 8x8 ends at 1x1."""
    net = SM.DeepConvNet((1, 8, 8), rng=np.random.default_rng(8))
    assert net.params["W7"].shape == (64 * 1 * 1, 50)
    assert net.predict(np.random.default_rng(9).standard_normal((2, 1, 8, 8))).shape == (2, 10)


def test_conv_nets_name_their_layers_in_order():
    """The names error messages and make check's bisection report a layer by (e.g.
    "SimpleConvNet layer 'Conv1'"): the book's style, LeCun's for LeNet-5."""
    deep = SM.DeepConvNet((1, 8, 8), rng=np.random.default_rng(10))
    assert list(deep.layers) == [
        "Conv1", "Relu1", "Conv2", "Relu2", "Pool1", "Conv3", "Relu3", "Conv4", "Relu4",
        "Pool2", "Conv5", "Relu5", "Conv6", "Relu6", "Pool3", "Affine1", "Relu7", "Dropout1",
        "Affine2", "Dropout2"]
    simple = SM.SimpleConvNet(rng=np.random.default_rng(10))
    assert list(simple.layers) == ["Conv1", "Relu1", "Pool1", "Affine1", "Relu2", "Affine2"]
    lenet = SM.LeNet5(rng=np.random.default_rng(11))
    assert list(lenet.layers) == ["C1", "Act1", "S2", "C3", "Act2", "S4", "F5", "Act3", "F6",
                                  "Act4", "Output"]


def test_lenet5_sizes_its_first_affine_layer_for_any_input():
    """C1 pads by 2, S2 and S4 pool 2x2 without padding: 30x30 ends at 5x5 (28x28 too)."""
    net = SM.LeNet5(rng=np.random.default_rng(12), input_dim=(1, 30, 30))
    assert net.params["W3"].shape == (16 * 5 * 5, 120)
    assert net.predict(np.random.default_rng(13).standard_normal((2, 1, 30, 30))).shape == (2, 10)


def test_avg_pooling_counts_the_padding_by_default():
    """count_include_pad=True, as nn.AvgPool2d: with pad 1 a corner window averages over
    its 4 cells, 3 of them padding."""
    from scratch.conv import AvgPooling

    x = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(AvgPooling(2, 2, pad=1).forward(x)[0, 0], [[0.25, 0.25],
                                                                           [0.25, 0.25]])


def test_random_labels_cover_every_class():
    """parity.engine.inputs.labels draws class indices in [0, num_classes): class 0 too."""
    from parity.engine.inputs import labels

    assert set(labels(np.random.default_rng(14), 200, 3)) == {0, 1, 2}


def test_mlps_skip_only_the_first_input_gradient_and_keep_every_parameter_gradient():
    """The first Affine's input is the data: the nets skip its dx (input_grad = False), which
    changes no parameter gradient; ``with_input_grad`` brings dx back (as x's gradient)."""
    rng = np.random.default_rng(3)
    for net in (SM.TwoLayerNet(6, 5, 3, rng=rng), SM.MultiLayerNet(6, (5, 4), 3, rng=rng)):
        affines = [layer for layer in net.layers.values() if isinstance(layer, SM.L.Affine)]
        assert [a.input_grad for a in affines] == [False] + [True] * (len(affines) - 1)
        full = SM.with_input_grad(copy.deepcopy(net))
        assert all(a.input_grad for a in full.layers.values() if isinstance(a, SM.L.Affine))
        x, t = rng.standard_normal((4, 6)), rng.integers(0, 3, 4)
        net.loss(x, t)
        full.loss(x, t)
        assert net.backward() is None
        dx = full.backward()
        for key, grad in net.grads.items():
            np.testing.assert_array_equal(grad, full.grads[key])
        assert dx.shape == x.shape  # and it is x's gradient (central differences):
        eps, step = 1e-6, np.zeros_like(x)
        step[1, 2] = eps
        numeric = (full.loss(x + step, t) - full.loss(x - step, t)) / (2 * eps)
        np.testing.assert_allclose(dx[1, 2], numeric, rtol=1e-4, atol=1e-9)


def test_multilayer_net_defaults_are_mnists_sizes_and_half_dropout():
    net = SM.MultiLayerNet(hidden_size_list=(1,), rng=np.random.default_rng(15))
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (784, 1), "b1": (1,), "W2": (1, 10), "b2": (10,)}
    dropping = SM.MultiLayerNet(4, (3,), 2, use_dropout=True, rng=np.random.default_rng(15))
    assert dropping.layers["Dropout1"].dropout_ratio == 0.5


def test_multilayer_net_names_a_missing_param():
    def refused(params, **kw):
        with pytest.raises(InputError) as error:
            SM.MultiLayerNet(params=params, **kw)
        return str(error.value)

    params = SM.affine_params([4, 3, 2], rng=np.random.default_rng(16))
    assert refused({k: v for k, v in params.items() if k != "b1"}) == (
        "MultiLayerNet: params has no 'b1' (needs W1, b1, W2, b2; has W1, W2, b2)")
    assert refused(params | {"beta1": np.zeros(3)}, use_batchnorm=True) == (
        "MultiLayerNet: params has no 'gamma1' (needs W1, b1, W2, b2, gamma1, beta1; "
        "has W1, b1, W2, b2, beta1)")


def test_multilayer_net_batch_norm_takes_the_convention_and_numbers_its_grads():
    rng = np.random.default_rng(17)
    net = SM.MultiLayerNet(4, (3,), 2, use_batchnorm=True, batchnorm_convention="torch",
                           rng=rng)
    bn = net.layers["BatchNorm1"]
    assert (bn.convention, bn.eps) == ("torch", SM.BATCHNORM_EPS["torch"])
    grads = net.gradient(rng.standard_normal((5, 4)), rng.integers(0, 2, 5))
    assert sorted(grads) == sorted(net.params) == ["W1", "W2", "b1", "b2", "beta1", "gamma1"]


def test_network_runs_in_eval_mode_unless_told():
    """predict, forward and loss leave batch norm's running statistics alone (they start
    at 0 in the book's convention); train_flg=True reaches the layers and updates them."""
    rng = np.random.default_rng(18)
    net = SM.MultiLayerNet(4, (3,), 2, use_batchnorm=True, rng=rng)
    x, t = 3 + rng.standard_normal((5, 4)), rng.integers(0, 2, 5)
    net.predict(x)
    net.forward(x)
    net.forward(x, t)
    net.loss(x, t)
    bn = net.layers["BatchNorm1"]
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))
    net.loss(x, t, train_flg=True)
    assert np.all(bn.running_mean != 0)


def test_accuracy_counts_every_sample_against_index_or_one_hot_labels():
    rng = np.random.default_rng(19)
    net, x = SM.MultiLayerNet(4, (3,), 3, rng=rng), rng.standard_normal((5, 4))
    predicted = net.predict(x).argmax(axis=1)
    t = np.where(np.arange(5) < 1, predicted, (predicted + 1) % 3)  # only the first hits
    assert net.accuracy(x, t) == 1 / 5
    assert net.accuracy(x, np.eye(3, dtype=np.int64)[t]) == 1 / 5


def test_a_layer_added_without_suffix_keeps_its_own_param_names():
    rng = np.random.default_rng(20)
    W, b = rng.standard_normal((3, 2)), np.zeros(2)
    net = Network({"W": W, "b": b}, SoftmaxWithLoss()).add("Affine", Affine(W, b))
    assert sorted(net.gradient(rng.standard_normal((4, 3)), np.array([0, 1, 1, 0]))) == [
        "W", "b"]


def test_only_a_network_that_splits_its_batches_splits_them(monkeypatch):
    monkeypatch.setattr(parallel, "blas_threads", lambda: 2)  # as on a 2-core machine
    net = SM.MultiLayerNet(4, (3,), 2, rng=np.random.default_rng(21))
    with net.cores():
        assert parallel.workers() == 1
    net.split_batches = True
    with net.cores():
        assert parallel.workers() == 2


def test_affine_params_default_to_the_books_001_and_take_a_dtype():
    params = SM.affine_params([3, 2], rng=np.random.default_rng(22))
    np.testing.assert_array_equal(
        params["W1"], 0.01 * np.random.default_rng(22).standard_normal((3, 2)))
    single = SM.affine_params([3, 2], 0.01, np.random.default_rng(22), np.float32)
    assert (single["W1"].dtype, single["b1"].dtype) == (np.float32, np.float32)


def test_resnet_convolutions_are_he_scaled():
    np.testing.assert_array_equal(
        SR.he_conv(np.random.default_rng(23), 2, 3, 3),
        np.random.default_rng(23).standard_normal((2, 3, 3, 3)) * np.sqrt(2 / 27))


def test_a_residual_block_trains_unless_told():
    """Like every layer with a mode, a block's forward defaults to training: its batch
    norms move their running means (torch's convention: they start at 0)."""
    rng = np.random.default_rng(24)
    block = SR.ResidualBlock(SR.block_params(rng, 2, 2))
    block.forward(3 + rng.standard_normal((2, 2, 4, 4)))
    assert np.all(block.layers["bn1"].running_mean != 0)


def test_multilayer_net_names_its_layers_and_takes_the_dropout_masks():
    """Each Dropout layer gets its own mask source from the factory, in order."""
    sources = iter([lambda shape: np.ones(shape, bool), lambda shape: np.zeros(shape, bool)])
    net = SM.MultiLayerNet(4, (3, 3), 2, use_dropout=True, rng=np.random.default_rng(25),
                           dropout_masks=lambda: next(sources))
    assert list(net.layers) == ["Affine1", "Activation1", "Dropout1", "Affine2", "Activation2",
                                "Dropout2", "Affine3"]
    x = np.ones((2, 3))
    np.testing.assert_array_equal(net.layers["Dropout1"].forward(x, train_flg=True), x)
    np.testing.assert_array_equal(net.layers["Dropout2"].forward(x, train_flg=True), 0 * x)
