"""Each network's own default initialisation, per layer, against the rule it claims.

The model pairs hand both sides the same weights and the training runs copy the scratch
weights into the twin, so a network's inline init rule (DeepConvNet's He, LeNet-5's
LeCun) is compared with itself there: a wrong fan-in passes every parity check.  Here
every weight array of a default-initialised network must have the claimed standard
deviation with the fan-in written out below (not computed by the code under test), and
mean 0, each within CONFIDENCE_Z standard errors (tolerances.statistical); every bias
(and BatchNorm beta) is exactly 0, every BatchNorm gamma exactly 1.
"""

import inspect
import textwrap

import numpy as np
import pytest

import scratch.models as SM
from parity.engine.compare import compare
from parity.engine.tolerances import statistical, tolerance_for


def he(fan_in):
    return np.sqrt(2.0 / fan_in)


def lecun(fan_in):  # the book's "Xavier" (sigmoid): sqrt(1 / fan_in)
    return np.sqrt(1.0 / fan_in)


# network -> (builder taking rng, {weight: claimed std}).  Fan-ins by hand from the book.
CLAIMS = {
    "MultiLayerNet 784-100-100-10 (relu: He)": (
        lambda rng: SM.MultiLayerNet(784, (100, 100), 10, rng=rng),
        {"W1": he(784), "W2": he(100), "W3": he(100)}),
    "MultiLayerNet + BatchNorm": (
        lambda rng: SM.MultiLayerNet(784, (100, 100), 10, use_batchnorm=True, rng=rng),
        {"W1": he(784), "W2": he(100), "W3": he(100)}),
    "MultiLayerNet weight_init_std='sigmoid'": (
        lambda rng: SM.MultiLayerNet(784, (100, 100), 10, "sigmoid", "sigmoid", rng=rng),
        {"W1": lecun(784), "W2": lecun(100), "W3": lecun(100)}),
    "MultiLayerNet weight_init_std=0.05": (
        lambda rng: SM.MultiLayerNet(784, (100,), 10, weight_init_std=0.05, rng=rng),
        {"W1": 0.05, "W2": 0.05}),
    "TwoLayerNet (0.01)": (
        lambda rng: SM.TwoLayerNet(784, 50, 10, rng=rng), {"W1": 0.01, "W2": 0.01}),
    "TwoLayerNet weight_init_std=0.05": (
        lambda rng: SM.TwoLayerNet(784, 50, 10, weight_init_std=0.05, rng=rng),
        {"W1": 0.05, "W2": 0.05}),
    "SimpleConvNet (0.01)": (
        lambda rng: SM.SimpleConvNet(rng=rng), {"W1": 0.01, "W2": 0.01, "W3": 0.01}),
    "SimpleConvNet weight_init_std=0.05, stride 2, pad 1": (
        lambda rng: SM.SimpleConvNet(stride=2, pad=1, weight_init_std=0.05, rng=rng),
        {"W1": 0.05, "W2": 0.05, "W3": 0.05}),
    "LeNet5 (LeCun)": (
        lambda rng: SM.LeNet5(rng=rng),
        {"W1": lecun(1 * 5 * 5), "W2": lecun(6 * 5 * 5), "W3": lecun(16 * 5 * 5),
         "W4": lecun(120), "W5": lecun(84)}),
    # the book's ch08 pre_node_nums: 1*3*3, 16*3*3, 16*3*3, 32*3*3, 32*3*3, 64*3*3, 64*4*4, 50
    "DeepConvNet (He)": (
        lambda rng: SM.DeepConvNet(rng=rng),
        {"W1": he(9), "W2": he(144), "W3": he(144), "W4": he(288), "W5": he(288),
         "W6": he(576), "W7": he(64 * 4 * 4), "W8": he(50)}),
}


def init_checks(params, claimed):
    """Checks of ``params`` (a default-initialised network's) against ``claimed``."""
    assert {k for k in params if k.startswith("W")} == set(claimed), "a weight without a claim"
    checks = []
    for name, w in params.items():
        if name in claimed:
            sigma, n = claimed[name], w.size
            checks += [
                compare(w.std(), sigma, statistical(sigma / np.sqrt(2 * (n - 1))),
                        quantity=f"{name} std", variant=f"n={n}"),
                compare(w.mean(), 0.0, statistical(sigma / np.sqrt(n)), quantity=f"{name} mean"),
            ]
        else:  # biases and BatchNorm beta start at 0, gamma at 1
            start = 1.0 if name.startswith("gamma") else 0.0
            checks.append(compare(w, np.full_like(w, start), tolerance_for("exact"),
                                  quantity=name))
    return checks


@pytest.mark.parametrize("network", sorted(CLAIMS))
def test_default_init_follows_the_claimed_rule_per_layer(network):
    build, claimed = CLAIMS[network]
    checks = init_checks(build(np.random.default_rng(0)).params, claimed)
    bad = [c.message() for c in checks if not c.passed]
    assert not bad, "\n".join(bad)


def planted(cls, old, new):
    """``cls`` recompiled from its source with ``old`` replaced by ``new`` (a planted bug)."""
    source = textwrap.dedent(inspect.getsource(cls))
    assert old in source, f"{old!r} is not in {cls.__name__}'s source any more"
    namespace = dict(vars(SM))
    exec(compile(source.replace(old, new), SM.__file__, "exec"), namespace)
    return namespace[cls.__name__]


@pytest.mark.parametrize("old,new", [
    ("np.sqrt(2.0 / (c_in * 9))", "np.sqrt(2.0 / (filters * 9))"),  # fan-out for fan-in
    ("np.sqrt(2.0 / (c_in * 9))", "np.sqrt(2.0 / (c_in * 3))"),  # one kernel side, not its area
])
def test_a_wrong_fan_in_deep_convnets_inline_he_rule_is_caught(old, new):
    bad_cls = planted(SM.DeepConvNet, old, new)
    checks = init_checks(bad_cls(rng=np.random.default_rng(0)).params,
                         CLAIMS["DeepConvNet (He)"][1])
    assert any(not c.passed for c in checks)


def test_a_wrong_fan_in_lenet5_or_a_nonzero_bias_is_caught():
    lenet = planted(SM.LeNet5, "np.sqrt(1.0 / fan_in)", "np.sqrt(2.0 / fan_in)")
    assert any(not c.passed for c in init_checks(lenet(rng=np.random.default_rng(0)).params,
                                                 CLAIMS["LeNet5 (LeCun)"][1]))
    convnet = planted(SM.SimpleConvNet, '"b1": np.zeros(filter_num)',
                      '"b1": np.full(filter_num, 1e-3)')
    bad = [c.quantity for c in init_checks(convnet(rng=np.random.default_rng(0)).params,
                                           CLAIMS["SimpleConvNet (0.01)"][1]) if not c.passed]
    assert bad == ["b1"]
