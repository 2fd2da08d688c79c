"""The book's network API where parity cannot look: defaults, layer names, gradient()'s
training mode, batched accuracy.  (Both sides are built from the same explicit settings in
the registry, so a changed default or a wrong mode inside gradient() passes every pair.)"""

import copy

import numpy as np

import scratch.models as SM
import scratch.resnet as SR


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
    twin.backward(1)
    for key, grad in twin.grads.items():
        np.testing.assert_array_equal(grads[key], grad)


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
