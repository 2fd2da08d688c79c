"""Benchmark workloads: what the speed report times, built through the registry.

A ``Workload`` names a registered ``LayerPair`` and gives it a benchmark-sized
job (batch 100, float32).  ``build`` turns it into a ``Bench``: for each side
("scratch", "torch", "torch cuda" when asked) a zero-argument function per
phase ("forward", "backward"), made with the pair's own factories and weight
transfer -- so the report times exactly the code the parity suite checks.

Adding a component is one row in ``WORKLOADS``, e.g. (once the layer exists)::

    Workload("Convolution", "book", inputs=randn((100, 1, 28, 28)),
             params=normal(W=(30, 1, 5, 5), b=(30,)), flops=weight_flops),

``params=None`` uses the pair's own ``init_params``; give shapes when the
parity-sized ones are too small to time.  Models hook in through
``MODEL_BENCHES``: functions ``devices -> Bench``, most simply
``model_bench("MLP", {"scratch": {"train step": f, "inference 10k": g},
"torch": {...}})``, which takes the scratch/torch target from ``TARGETS``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from parity.compare import compare
from parity.inputs import TORCH_DTYPE, cast, labels, one_hot, source
from parity.registry import find
from parity.tolerances import tolerance_for
from parity.transfer import load_into_torch

BATCH = 100
DTYPE = "float32"


# ---- input and parameter makers (rng -> arrays, float64; cast to DTYPE later) ----
def randn(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def with_labels(num_classes, one_hot_labels=False):
    """Logits (BATCH, C) and their labels, as index or one-hot rows."""
    def make(rng):
        t = labels(rng, BATCH, num_classes)
        return rng.standard_normal((BATCH, num_classes)), (
            one_hot(t, num_classes) if one_hot_labels else t)
    return make


def normal(scale=0.1, **shapes):
    return lambda rng: {k: rng.standard_normal(s) * scale for k, s in shapes.items()}


def weight_flops(params, out):
    """Multiply-adds of Affine/Convolution forward: 2 * outputs * fan-in of one output.
    Backward (dx and dW) is two such products: 2x the forward."""
    W = params["W"]  # Affine (in, out); Convolution (FN, C, FH, FW)
    fan_in = W.shape[0] if W.ndim == 2 else W[0].size
    return 2.0 * out.size * fan_in


@dataclass(frozen=True)
class Workload:
    component: str
    convention: str
    inputs: Callable  # rng -> tuple of float64 arrays (integer labels stay integer)
    params: Callable | None = None  # rng -> book-layout params; None: the pair's init_params
    flops: Callable | None = None  # (params, forward output) -> forward FLOPs
    train: bool | None = None  # train_flg / .train() for layers with modes

    @property
    def name(self):
        return f"{self.component} [{self.convention}]"


ACTIVATION_SHAPE = (BATCH, 30, 24, 24)  # SimpleConvNet's conv1 output: where activations cost
WORKLOADS = [
    Workload("step", "default", randn(ACTIVATION_SHAPE)),
    Workload("sigmoid", "default", randn(ACTIVATION_SHAPE)),
    Workload("tanh", "default", randn(ACTIVATION_SHAPE)),
    Workload("relu", "default", randn(ACTIVATION_SHAPE)),
    Workload("softmax", "default", randn((BATCH, 10))),
    # the MLP's first layer, 784 -> 100
    Workload("Affine", "book-layout (in,out)", randn((BATCH, 784)),
             params=normal(W=(784, 100), b=(100,)), flops=weight_flops),
    Workload("SoftmaxWithLoss", "book", with_labels(10)),
    Workload("SoftmaxWithLoss", "log_softmax", with_labels(10)),
    Workload("MeanSquaredError", "book", with_labels(10, one_hot_labels=True)),
    Workload("MeanSquaredError", "mean", with_labels(10, one_hot_labels=True)),
]

# Models: functions devices -> Bench, added when the models exist.
MODEL_BENCHES: list = []
# Targets for the scratch/torch training-step time (float32, batch 100, same threads).
TARGETS = {"MLP": 1.0, "SimpleConvNet": 1.0, "DeepConvNet": 2.0}


@dataclass
class Bench:
    name: str
    kind: str  # "component" or "model"
    sides: dict  # side -> phase -> zero-argument function
    flops: dict = field(default_factory=dict)  # phase -> FLOPs of one call
    targets: dict = field(default_factory=dict)  # phase -> largest acceptable scratch/torch
    agreement: object = None  # Check: forward outputs of the two sides at this size
    shape: str = ""


def side_name(device):
    """"torch" on the CPU, "torch cuda" (or "torch <device>") elsewhere."""
    return "torch" if device == "cpu" else f"torch {device}"


def model_bench(name, sides):
    """A model's Bench: ``sides`` maps side -> {"train step": fn, "inference 10k": fn}."""
    targets = {"train step": TARGETS[name]} if name in TARGETS else {}
    return Bench(name, "model", sides, targets=targets)


def _scratch_side(pair, workload, params, inputs):
    layer = pair.scratch(params)
    mode = {} if workload.train is None else {"train_flg": workload.train}
    phases = {"forward": lambda: layer.forward(*inputs, **mode)}
    if pair.backward:
        out = layer.forward(*inputs, **mode)
        dout = cast(source("bench", workload.name, "dout").standard_normal(np.shape(out)),
                    DTYPE)
        phases["backward"] = lambda: layer.backward(dout)
    return phases


def _torch_side(pair, workload, params, inputs, device):
    module = pair.torch(params).to(TORCH_DTYPE[DTYPE])
    load_into_torch(module, params, pair.params)
    module.to(device)
    if workload.train is not None:
        module.train(workload.train)
    tensors = [torch.from_numpy(x.copy()).to(device) for x in inputs]
    for i in pair.grad_inputs:
        tensors[i].requires_grad_(True)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)

    def forward():
        out = module(*tensors)
        sync()
        return out

    phases = {"forward": forward}
    if pair.backward:
        out = module(*tensors)
        dout = cast(source("bench", workload.name, "dout").standard_normal(tuple(out.shape)),
                    DTYPE)
        dout = torch.from_numpy(dout).to(device)
        wrt = [tensors[i] for i in pair.grad_inputs] + [
            p for p in module.parameters() if p.requires_grad]

        def backward():  # dx and every parameter gradient, graph kept for the next call
            grads = torch.autograd.grad(out, wrt, dout, retain_graph=True)
            sync()
            return grads

        phases["backward"] = backward
    return phases


def build(workload, devices=("cpu",)):
    """The workload's Bench: scratch plus one torch side per device."""
    pair = find(workload.component, workload.convention)
    rng = source("bench", workload.name)
    make_params = workload.params or pair.init_params
    params = {k: cast(v, DTYPE) for k, v in make_params(rng).items()}
    inputs = [cast(x, DTYPE) for x in workload.inputs(rng)]
    sides = {"scratch": _scratch_side(pair, workload, params, inputs)}
    for device in devices:
        sides[side_name(device)] = _torch_side(pair, workload, params, inputs, device)
    ours = np.asarray(sides["scratch"]["forward"]())
    theirs = sides["torch"]["forward"]().detach().cpu().numpy()
    agreement = compare(ours, theirs, tolerance_for(DTYPE), component=workload.component,
                        convention=workload.convention, dtype=DTYPE, quantity="out",
                        sample="bench", oracle="torch")
    flops = {}
    if workload.flops:
        flops["forward"] = workload.flops(params, ours)
        flops["backward"] = 2 * flops["forward"]
    return Bench(workload.name, "component", sides, flops, agreement=agreement,
                 shape=" ".join("x".join(map(str, x.shape)) for x in inputs))
