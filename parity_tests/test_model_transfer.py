"""Weights travel both ways between a scratch network and its twin -- BatchNorm running
statistics included -- and survive a save/load round trip on each side."""

import io

import numpy as np
import pytest
import torch

import scratch.models as SM
from parity.engine.inputs import source
from parity.engine.layer_pair import LayerPair
from parity.engine.registry import load_all
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import load_into_scratch, load_into_torch, read_from_torch, scratch_attr
from scratch.weights import load_npz, save_npz

CLASSES = {cls.__name__ for cls in (SM.TwoLayerNet, SM.MultiLayerNet, SM.SimpleConvNet,
                                     SM.LeNet5, SM.DeepConvNet)}
NETWORKS = [e for e in load_all() if isinstance(e, LayerPair) and e.component in CLASSES]
IDS = [f"{e.component}-{e.variant}" for e in NETWORKS]


def build(pair):
    """Both sides from the pair's seeded parameters, plus an input batch."""
    rng = source(pair.component, pair.variant, "transfer")
    params = pair.init_params(rng)
    net, twin = pair.scratch({k: v.copy() for k, v in params.items()}), pair.torch(params)
    twin = twin.double()
    load_into_torch(twin, params, pair.params)
    sample = pair.sample_list()[0].calls[0].inputs[0]
    return net, twin, np.asarray(sample, dtype=np.float64)


def assert_same_eval_output(net, twin, x):
    twin.eval()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    tol = tolerance_for("float64")
    np.testing.assert_allclose(net.predict(x, train_flg=False), theirs, rtol=tol.rtol,
                               atol=tol.atol)


@pytest.mark.parametrize("pair", NETWORKS, ids=IDS)
def test_torch_to_scratch_after_training_steps(pair):
    """Train the twin a little (running statistics move), copy everything back into a
    fresh scratch network: identical evaluation outputs."""
    net, twin, x = build(pair)
    twin.train()
    with torch.no_grad():
        for _ in range(3):
            twin(torch.from_numpy(x * 1.5 + 0.3))
            for p in twin.parameters():
                p.mul_(0.97)
    arrays = read_from_torch(twin, pair.params) | read_from_torch(twin, pair.state)
    load_into_scratch(net, arrays, pair.params, pair.state)
    assert_same_eval_output(net, twin, x)


@pytest.mark.parametrize("pair", NETWORKS, ids=IDS)
def test_scratch_to_torch_after_training_steps(pair):
    net, twin, x = build(pair)
    for _ in range(3):
        net.predict(x * 1.5 + 0.3, train_flg=True)  # running statistics move
    state = {l.scratch: scratch_attr(net, l.scratch) for l in pair.state}
    load_into_torch(twin, net.params | state, pair.params + pair.state)
    assert_same_eval_output(net, twin, x)


@pytest.mark.parametrize("pair", NETWORKS, ids=IDS)
def test_save_and_load_round_trip_on_both_sides(pair, tmp_path):
    net, twin, x = build(pair)
    net.predict(x, train_flg=True)
    state = {l.scratch: np.array(scratch_attr(net, l.scratch)) for l in pair.state}
    save_npz(net.params | state, tmp_path / "net.npz")
    restored, _, _ = build(pair)
    arrays = load_npz(tmp_path / "net.npz")
    load_into_scratch(restored, arrays, pair.params, pair.state)
    np.testing.assert_array_equal(restored.predict(x), net.predict(x))

    buffer = io.BytesIO()
    torch.save(twin.state_dict(), buffer)
    buffer.seek(0)
    _, twin2, _ = build(pair)
    twin2.load_state_dict(torch.load(buffer, weights_only=True))
    twin.eval(), twin2.eval()
    with torch.no_grad():
        assert torch.equal(twin(torch.from_numpy(x)), twin2(torch.from_numpy(x)))


def test_every_network_is_covered():
    assert {e.component for e in NETWORKS} == CLASSES
    assert any(e.state for e in NETWORKS)  # BatchNorm running statistics are in the round trip
