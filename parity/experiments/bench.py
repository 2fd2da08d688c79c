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
``model_bench("MLP", {"scratch": {"train step": f, "inference 500": g},
"torch": {...}})``, which takes the scratch/torch target from ``TARGETS``.
``training_bench`` builds one from a ``parity.experiments.training.MODELS`` network: a
training step (forward, backward, SGD update) on one batch of 100, and
inference (test mode, no gradients) over ``INFERENCE_IMAGES`` images in
batches of 100.  The 10,000-image test set costs 10,000 / INFERENCE_IMAGES
times that (every batch is the same work; the phase name says the factor):
the speed section times each job >= 30 times, and 10k images per call would
take DeepConvNet's scratch side alone minutes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

import parity.pairs.conv as conv_pairs
import parity.pairs.normalization as norm_pairs
from parity.engine.compare import compare
from parity.engine.inputs import TORCH_DTYPE, cast, labels, one_hot, source
from parity.engine.registry import find
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import load_into_torch
from parity.experiments.training import MODELS, prepare

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
    variant: str
    inputs: Callable  # rng -> tuple of float64 arrays (integer labels stay integer)
    params: Callable | None = None  # rng -> book-layout params; None: the pair's init_params
    flops: Callable | None = None  # (params, forward output) -> forward FLOPs
    train: bool | None = None  # train_flg / .train() for layers with modes
    # () -> the LayerPair at benchmark size, from the factory that registers it, for pairs
    # whose twin has fixed sizes (e.g. a Convolution's filter count); None: the registered one
    pair: Callable | None = None

    @property
    def name(self):
        return f"{self.component} [{self.variant}]"


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
    # SimpleConvNet's convolution and pooling; LeNet-5's C1 output for the average pool
    Workload("Convolution", "5x5, stride 1, pad 0", randn((BATCH, 1, 28, 28)),
             params=normal(W=(30, 1, 5, 5), b=(30,)), flops=weight_flops,
             pair=lambda: conv_pairs.convolution(30, 1, 5, 5)),
    Workload("Pooling", "2x2, stride 2, pad 0", randn(ACTIVATION_SHAPE)),
    Workload("AvgPooling", "2x2, stride 2, pad 0", randn((BATCH, 6, 28, 28))),
    # the BatchNorm MLP's hidden layer, training mode (batch statistics)
    Workload("BatchNormalization (N,D)", "book", randn((BATCH, 100)), train=True,
             pair=lambda: norm_pairs.batch_norm(norm_pairs.BN2, "book", (BATCH, 100))),
    Workload("Dropout", "book", randn(ACTIVATION_SHAPE), train=True),
    Workload("Flatten", "default", randn((BATCH, 30, 12, 12))),  # SimpleConvNet's pool output
]
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


INFERENCE_IMAGES = 500


def inference_phase():
    return f"inference {INFERENCE_IMAGES} (x{10_000 // INFERENCE_IMAGES} = 10k)"


def _sync(device):
    return torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)


def training_bench(name, model):
    """A model Bench from ``parity.experiments.training.MODELS[model]``: both sides hold the same
    float32 weights (book initialisation) and train with SGD on the same batch."""
    def make(devices):
        setup, scratch_opt, _ = prepare(model, "SGD", DTYPE)
        net, flat = setup.net, MODELS[model][2]
        rng = source("bench", name)
        shape = (784,) if flat else (1, 28, 28)
        x = cast(rng.random((INFERENCE_IMAGES, *shape)), DTYPE)  # pixel-like, in [0, 1)
        t = labels(rng, INFERENCE_IMAGES, 10)
        xb, tb = x[:BATCH], t[:BATCH]

        def scratch_step():
            net.loss(xb, tb, train_flg=True)
            net.backward()
            scratch_opt.update(net.params, net.grads)

        def scratch_inference():
            return [net.predict(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]

        sides = {"scratch": {"train step": scratch_step, inference_phase(): scratch_inference}}
        for device in devices:
            sides[side_name(device)] = _torch_model_side(model, device, x, t)
        bench = model_bench(name, sides)
        bench.shape = f"train {BATCH}x{'x'.join(map(str, shape))}, infer {INFERENCE_IMAGES}"
        # training mode (batch statistics; first replayed dropout mask on both sides): in
        # test mode from its start state the book's BatchNorm divides by sqrt(eps), which
        # magnifies float32 rounding 1000x (parity.pairs.normalization's documented gap)
        with torch.no_grad():
            theirs = prepare(model, "SGD", DTYPE)[0].twin(torch.from_numpy(xb)).numpy()
        bench.agreement = compare(net.predict(xb, train_flg=True), theirs, tolerance_for(DTYPE),
                                  component=name, variant="model", dtype=DTYPE,
                                  quantity="logits", sample="bench", oracle="torch")
        return bench
    return make


def _eval_twin(model, device):
    """A fresh twin with the same initial weights, in test mode."""
    return prepare(model, "SGD", DTYPE)[0].twin.to(device).eval()


def _torch_model_side(model, device, x, t):
    setup, _, torch_opt = prepare(model, "SGD", DTYPE)
    twin = setup.twin.to(device)
    x, t = torch.from_numpy(x).to(device), torch.from_numpy(t).to(device)
    xb, tb = x[:BATCH], t[:BATCH]
    infer, sync = _eval_twin(model, device), _sync(device)

    def step():
        torch_opt.zero_grad(set_to_none=True)
        twin(xb, tb).backward()  # the loss is a scalar: its own backward, as net.backward()
        torch_opt.step()
        sync()

    def inference():
        with torch.no_grad():
            out = [infer(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]
        sync()
        return out

    return {"train step": step, inference_phase(): inference}


# Models: functions devices -> Bench (targets from TARGETS by name).
MODEL_BENCHES = [
    training_bench("MLP", "MLP 784-100-100-10"),
    training_bench("MLP + BatchNorm", "MLP 784-100-100-10 + BatchNorm"),
    training_bench("SimpleConvNet", "SimpleConvNet"),
    training_bench("LeNet-5", "LeNet-5 (tanh)"),
    training_bench("DeepConvNet", "DeepConvNet"),
]


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
    sync = _sync(device)

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
    pair = workload.pair() if workload.pair else find(workload.component, workload.variant)
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
                        variant=workload.variant, dtype=DTYPE, quantity="out",
                        sample="bench", oracle="torch")
    flops = {}
    if workload.flops:
        flops["forward"] = workload.flops(params, ours)
        flops["backward"] = 2 * flops["forward"]
    return Bench(workload.name, "component", sides, flops, agreement=agreement,
                 shape=" ".join("x".join(map(str, x.shape)) for x in inputs))
