"""Perceptron: the gates' truth tables on both sides, XOR's limit for one unit, and
slips in the gates or in the learning rule that the registry entries must catch."""

import numpy as np
import pytest
import torch

import scratch.perceptron as S
import torch_ref.perceptron as T
from parity.engine.registry import find
from parity.engine.transfer import load_into_torch
from parity_tests.test_engine_bites import MESSAGE, failures

GATES = ("AND", "NAND", "OR", "XOR")


def gate_entry(name):
    convention = "AND(NAND, OR), book weights" if name == "XOR" else "book weights"
    return find(f"{name} gate", convention)


@pytest.mark.parametrize("name", GATES)
def test_gates_give_their_truth_tables_on_both_sides(name):
    entry = gate_entry(name)
    params = entry.init_params(None)
    x = S.TRUTH_TABLE_INPUTS
    module = entry.torch(params).double()
    load_into_torch(module, params, entry.params)
    with torch.no_grad():
        theirs = module(torch.from_numpy(x)).numpy()
    ours = entry.scratch(params).forward(x)
    np.testing.assert_array_equal(ours, S.TRUTH_TABLES[name])
    np.testing.assert_array_equal(theirs, S.TRUTH_TABLES[name])


def test_no_single_perceptron_learns_xor():
    """XOR is not linearly separable: the rule keeps making updates forever."""
    x, t = S.TRUTH_TABLE_INPUTS, np.array(S.TRUTH_TABLES["XOR"], dtype=np.float64)
    steps = S.learn(np.zeros(2), np.array(0.0), x, t, lr=0.1, epochs=50)
    last_epoch = np.stack([w for w, _ in steps[-5:]])
    assert np.ptp(last_epoch, axis=0).max() > 0  # still moving after 50 epochs
    w, b = steps[-1]
    assert not np.array_equal(S.Perceptron(w, b).forward(x), t)


def test_wrong_bias_sign_in_a_gate_is_caught():
    bad = failures(gate_entry("NAND"), scratch=lambda p: S.Perceptron(p["w"], -p["b"]))
    assert bad and {c.quantity for c in bad} == {"out"}
    assert MESSAGE.match(bad[0].message()), bad[0].message()


def test_xor_wired_with_and_instead_of_or_is_caught():
    class XorWithAnd(S.XOR):
        def forward(self, x):
            s = np.stack([self.gates["NAND"].forward(x), self.gates["AND"].forward(x)], -1)
            return self.gates["AND"].forward(s)

    bad = failures(gate_entry("XOR"), "float32", scratch=XorWithAnd)
    assert bad and {c.quantity for c in bad} == {"out"}


LEARN = S.learn


def learn_without_bias(w, b, x, t, lr, epochs):
    return [(w_, b.copy()) for w_, _ in LEARN(w, b, x, t, lr, epochs)]  # the slip: b stays


def learn_firing_at_zero(w, b, x, t, lr, epochs):
    trajectory = []
    for _ in range(epochs):
        for xi, ti in zip(x, t, strict=True):
            error = ti - (xi @ w + b >= 0)  # the slip: fires at exactly 0
            w, b = w + lr * error * xi, b + lr * error
            trajectory.append((w.copy(), b.copy()))
    return trajectory


@pytest.mark.parametrize("slip,start,quantity", [
    (learn_without_bias, "random", "trajectory/b"),
    # from random weights no sum is ever exactly 0: only the zeros start can see this slip
    (learn_firing_at_zero, "zeros", "trajectory/w"),
])
def test_learning_rule_slips_are_caught(monkeypatch, slip, start, quantity):
    monkeypatch.setattr(S, "learn", slip)
    entry = find("perceptron learning rule", f"learns AND from {start}, online, lr 0.1")
    bad = [c for c in entry.run("float64") if not c.passed]
    assert quantity in {c.quantity for c in bad}
    assert MESSAGE.match(next(c for c in bad if c.oracle == "torch").message())


def test_torch_perceptron_is_silent_at_exactly_zero():
    module = T.Perceptron().double()
    torch.nn.init.zeros_(module.linear.weight)
    torch.nn.init.zeros_(module.linear.bias)
    assert module(torch.ones(1, 2, dtype=torch.float64)).item() == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_and_xor_params_are_in_the_asked_dtype_and_kept(dtype):
    params = S.xor_params(dtype)
    assert {v.dtype for v in params.values()} == {np.dtype(dtype)}
    assert S.XOR(params).params is params  # the book's networks keep theirs in .params


def test_learning_rule_refuses_inputs_and_labels_of_different_lengths():
    """zip(strict=True): a missing label must not silently drop a training point."""
    p = S.gate_params("AND")
    with pytest.raises(ValueError):
        S.learn(p["w"], p["b"], S.TRUTH_TABLE_INPUTS, np.array([0, 0, 1]), 0.1, 1)
