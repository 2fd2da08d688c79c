"""Benchmark workloads: what the speed report times, derived from the registry.

Every registered ``LayerPair`` is a workload (``workloads``): ``build`` times it at
batch 100 in float32 -- by default the entry's first sample (its first call), scaled
up to ``BATCH`` rows by drawing rows of that sample, with the entry's own
``init_params``; an entry whose samples are too small to say anything about speed
names its benchmark size itself (``LayerPair.bench``, a ``BenchSize``: e.g. the MLP's
784 -> 100 Affine, SimpleConvNet's convolution).  ``build`` makes a ``Bench``: for each
side ("scratch", "torch", "torch cuda" when asked) a zero-argument function per phase
("forward", "backward"), made with the pair's own factories and weight transfer -- so
the report times exactly the code the parity suite checks.  Other registry kinds
(optimizer trajectories, probes, training runs, initializers, augmentation, data
loaders) are not timed: they are checked, not hot paths.

Models come from the one model table (``parity.experiments.tables.MODELS``):
``MODEL_BENCHES`` holds one function ``devices -> Bench`` per model, made by
``training_bench``: a training step (forward, backward, SGD update) on one batch of
100 -- the same step the training runs take, twin with the book's loss -- and inference
(test mode, no gradients) over the 10,000 MNIST test images in batches of 100
(``test_images``: the real ones when the project's loader finds them, else synthetic
pixels), with the entry's scratch/torch target for the training step.  A pass over
10k images is a whole job by itself: ``Bench.once`` names it, the speed section
calls it once per round.

Book-shaped references: the registry's ``SameResults`` probes say which scratch
implementation must give the results of which (the fast ``FastConvolution`` entries
those of the book-shaped ``Convolution``): ``references`` maps bench names, so a
component's row can say how much faster it is than its reference, and any new fast
variant registered that way gets the comparison too.  For a model, ``book_shaped``
swaps each layer whose class has such a reference for the reference class holding the
same parameters: ``Bench.companions`` carries that network's training step
("<model> [book-shaped]"), timed in the same rounds.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

import scratch.mnist
from parity.engine.compare import compare
from parity.engine.inputs import TORCH_DTYPE, cast, labels, source
from parity.engine.layer_pair import BENCH_BATCH, LayerPair
from parity.engine.probes import SameResults
from parity.engine.registry import load_all
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import load_into_torch
from parity.experiments.tables import MODELS, SGD
from parity.experiments.training import prepare

BATCH = BENCH_BATCH
DTYPE = "float32"


def weight_flops(params, out):
    """Multiply-adds of Affine/Convolution forward: 2 * outputs * fan-in of one output.
    Backward (dx and dW) is two such products: 2x the forward."""
    W = params["W"]  # Affine (in, out); Convolution (FN, C, FH, FW)
    fan_in = W.shape[0] if W.ndim == 2 else W[0].size
    return 2.0 * out.size * fan_in


def name_of(pair):
    return f"{pair.component} [{pair.variant}]"


def workloads():
    """Every registered LayerPair: each is timed."""
    return [e for e in load_all() if isinstance(e, LayerPair)]


def scaled_to_batch(inputs, rng):
    """The inputs with ``BATCH`` rows drawn from the first input's rows; inputs with the
    same number of rows (labels) take the same rows; the rest (a scalar) stay."""
    first = np.asarray(inputs[0])
    if first.ndim == 0:
        return list(inputs)
    rows = rng.integers(0, len(first), BATCH)
    return [x[rows] if np.ndim(x) and len(x) == len(first) else x for x in inputs]


def job(pair, rng):
    """(params, inputs, train) of ``pair``'s benchmark, float64 (labels stay integer)."""
    call = pair.sample_list()[0].calls[0]
    if pair.bench is None:
        return pair.init_params(rng), scaled_to_batch(call.inputs, rng), call.train
    params = {k: 0.1 * rng.standard_normal(shape) for k, shape in pair.bench.params}
    return (params or pair.init_params(rng),
            [rng.standard_normal(shape) for shape in pair.bench.inputs], call.train)


def references():
    """{bench name: bench name of its reference}: the registry's ``SameResults`` probes
    (an implementation -> the one whose results it must give, e.g. the fast convolution
    -> the book-shaped one)."""
    return {name_of(p.pair): name_of(p.reference) for p in load_all()
            if isinstance(p, SameResults)}


def reference_classes():
    """{scratch layer class: its reference's class}, from the same ``SameResults`` probes
    (each side built once from the entry's own small parameters)."""
    found = {}
    for probe in (e for e in load_all() if isinstance(e, SameResults)):
        params = probe.pair.init_params(source("bench", "reference classes"))
        found[type(probe.pair.scratch(params))] = type(probe.reference.scratch(params))
    return found


def book_shaped(net):
    """Swap, in the scratch network ``net``, every layer whose class has a reference
    (``reference_classes``) for an instance of the reference holding the very same
    parameter arrays and settings; returns the swapped layers' names.

    A reference is built from the layer's state, not its constructor's arguments: that
    is only right when both classes share the constructor (the fast class inherits it,
    so it holds what the reference's constructor sets) -- checked."""
    classes, swapped = reference_classes(), []
    for name, layer in net.layers.items():
        reference = classes.get(type(layer))
        if reference is None:
            continue
        if type(layer).__init__ is not reference.__init__:
            raise TypeError(f"{type(layer).__name__} does not share {reference.__name__}'s "
                            f"constructor: book_shaped cannot rebuild {name!r} from its state")
        book = object.__new__(reference)
        book.__dict__.update(vars(layer))  # params, grads, stride, pad: the same objects
        net.layers[name] = book
        swapped.append(name)
    return swapped


@dataclass
class Bench:
    name: str
    kind: str  # "component" or "model"
    sides: dict  # side -> phase -> zero-argument function
    flops: dict = field(default_factory=dict)  # phase -> FLOPs of one call
    targets: dict = field(default_factory=dict)  # phase -> largest acceptable scratch/torch
    agreement: object = None  # Check: forward outputs of the two sides at this size
    shape: str = ""
    once: tuple = ()  # phases that are a whole pass each (10k images): one call per round
    reference: str | None = None  # the bench this one's scratch side is compared with
    companions: list = field(default_factory=list)  # benches timed with it (book-shaped)
    # models: side -> {"train step": fn, "inference batch": fn} for peak memory, and
    # side -> (network, its training batch) for the per-layer profile
    memory: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)  # phase -> images per call (images/s)


def side_name(device):
    """"torch" on the CPU, "torch cuda" (or "torch <device>") elsewhere."""
    return "torch" if device == "cpu" else f"torch {device}"


TRAIN_STEP = "train step"
INFERENCE_BATCH = "inference batch"  # memory only: one batch of 100 in test mode
INFERENCE_IMAGES = 10_000  # the MNIST test set


def inference_phase():
    return f"inference {INFERENCE_IMAGES // 1000}k" if INFERENCE_IMAGES % 1000 == 0 else (
        f"inference {INFERENCE_IMAGES}")


def model_bench(name, sides, target=None):
    """A model's Bench: ``sides`` maps side -> {TRAIN_STEP: fn, inference_phase(): fn};
    ``target``: the largest acceptable scratch/torch train-step time."""
    targets = {TRAIN_STEP: target} if target is not None else {}
    return Bench(name, "model", sides, targets=targets, once=(inference_phase(),),
                 images={inference_phase(): INFERENCE_IMAGES})


@functools.cache
def test_images(n):
    """(the first ``n`` MNIST test images (n, 1, 28, 28) float32, where they came from):
    the project's loader ($MNIST_ROOT, else ./data), else the same number of synthetic
    pixels in [0, 1) (every batch is the same work for a network)."""
    try:
        x, _ = scratch.mnist.load_split(train=False, flatten=False, dtype=np.dtype(DTYPE))
        return x[:n], f"the MNIST test set ({min(n, len(x))} images)"
    except scratch.mnist.MnistNotFoundError:
        x = cast(source("bench", "test images").random((n, 1, 28, 28)), DTYPE)
        return x, f"{n} synthetic images (uniform pixels; no MNIST files: set MNIST_ROOT)"


def _sync(device):
    return torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)


def training_bench(model):
    """A model Bench from a ``parity.experiments.tables.Model``: both sides hold the same
    float32 weights (book initialisation) and train with SGD on the same batch; its
    companion is the book-shaped network's training step (when it has a layer to swap)."""
    name, shape = model.bench_name, model.input_shape

    def make(devices):
        setup, scratch_opt, _ = prepare(model, SGD, DTYPE)
        net = setup.net
        rng = source("bench", name)
        xb = cast(rng.random((BATCH, *shape)), DTYPE)  # pixel-like, in [0, 1)
        tb = labels(rng, BATCH, 10)
        images = test_images(INFERENCE_IMAGES)[0]
        x = images.reshape(len(images), *shape)
        scratch_step = _scratch_step(net, scratch_opt, xb, tb)

        def scratch_inference():
            return [net.predict(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]

        sides = {"scratch": {TRAIN_STEP: scratch_step, inference_phase(): scratch_inference}}
        bench = model_bench(name, sides, model.target)
        bench.memory["scratch"] = {TRAIN_STEP: scratch_step,
                                   INFERENCE_BATCH: lambda: net.predict(x[:BATCH])}
        bench.layers["scratch"] = (net, xb, tb)
        for device in devices:
            side = side_name(device)
            sides[side], memory, bench.layers[side] = _torch_model_side(model, device, x,
                                                                         xb, tb)
            if device == "cpu":  # torch's CPU allocations only: peak memory is a CPU figure
                bench.memory[side] = memory
        book_setup, book_opt, _ = prepare(model, SGD, DTYPE)
        if book_shaped(book_setup.net):
            bench.reference = f"{name} [book-shaped]"
            bench.companions.append(Bench(bench.reference, "model", {"scratch": {
                TRAIN_STEP: _scratch_step(book_setup.net, book_opt, xb, tb)}}))
        bench.shape = f"train {BATCH}x{'x'.join(map(str, shape))}, infer {len(x)}"
        # training mode (batch statistics; first replayed dropout mask on both sides): in
        # test mode from its start state the book's BatchNorm divides by sqrt(eps), which
        # magnifies float32 rounding 1000x (parity.pairs.normalization's documented gap)
        with torch.no_grad():
            theirs = prepare(model, SGD, DTYPE)[0].twin(torch.from_numpy(xb)).numpy()
        bench.agreement = compare(net.predict(xb, train_flg=True), theirs, tolerance_for(DTYPE),
                                  component=name, variant="model", dtype=DTYPE,
                                  quantity="logits", sample="bench", oracle="torch")
        return bench
    return make


def _scratch_step(net, optimizer, xb, tb):
    def step():
        net.loss(xb, tb, train_flg=True)
        net.backward()
        optimizer.update(net.params, net.grads)
    return step


def _eval_twin(model, device):
    """A fresh twin with the same initial weights, in test mode."""
    return prepare(model, SGD, DTYPE)[0].twin.to(device).eval()


def _torch_model_side(model, device, x, xb, tb):
    """(phase -> fn, memory phase -> fn, (twin, batch, labels)) of one torch device."""
    setup, _, torch_opt = prepare(model, SGD, DTYPE)
    twin = setup.twin.to(device)
    x = torch.from_numpy(x).to(device)
    xb, tb = torch.from_numpy(xb).to(device), torch.from_numpy(tb).to(device)
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

    def inference_batch():
        with torch.no_grad():
            return infer(x[:BATCH])

    return ({TRAIN_STEP: step, inference_phase(): inference},
            {TRAIN_STEP: step, INFERENCE_BATCH: inference_batch}, (twin, xb, tb))


# Models: functions devices -> Bench, one per model of the table.
MODEL_BENCHES = [training_bench(model) for model in MODELS]


def _scratch_side(pair, train, params, inputs):
    layer = pair.scratch(params)
    mode = {} if train is None else {"train_flg": train}
    phases = {"forward": lambda: layer.forward(*inputs, **mode)}
    if pair.backward:
        out = layer.forward(*inputs, **mode)
        dout = cast(source("bench", name_of(pair), "dout").standard_normal(np.shape(out)),
                    DTYPE)
        phases["backward"] = lambda: layer.backward(dout)
    return phases


def _torch_side(pair, train, params, inputs, device):
    module = pair.torch(params).to(TORCH_DTYPE[DTYPE])
    load_into_torch(module, params, pair.params)
    module.to(device)
    if train is not None:
        module.train(train)
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
        dout = cast(source("bench", name_of(pair), "dout").standard_normal(tuple(out.shape)),
                    DTYPE)
        dout = torch.from_numpy(dout).to(device)
        wrt = [tensors[i] for i in pair.grad_inputs] + [
            p for p in module.parameters() if p.requires_grad]

        def backward():  # dx and every parameter gradient, graph kept for the next call
            # allow_unused: a penalty module holds biases it never reads
            grads = torch.autograd.grad(out, wrt, dout, retain_graph=True, allow_unused=True)
            sync()
            return grads

        phases["backward"] = backward
    return phases


def build(pair, devices=("cpu",)):
    """The Bench of a registered LayerPair (``workloads``): scratch plus one torch side per
    device, on the entry's benchmark job (``job``)."""
    name = name_of(pair)
    params, inputs, train = job(pair, source("bench", name))
    params = {k: cast(v, DTYPE) for k, v in params.items()}
    inputs = [cast(x, DTYPE) for x in inputs]
    sides = {"scratch": _scratch_side(pair, train, params, inputs)}
    for device in devices:
        sides[side_name(device)] = _torch_side(pair, train, params, inputs, device)
    ours = np.asarray(sides["scratch"]["forward"]())
    theirs = sides["torch"]["forward"]().detach().cpu().numpy()
    agreement = compare(ours, theirs, tolerance_for(DTYPE), component=pair.component,
                        variant=pair.variant, dtype=DTYPE, quantity="out",
                        sample="bench", oracle="torch")
    flops = {}
    if any(link.scratch == "W" for link in pair.params):  # Affine, Convolution
        flops["forward"] = weight_flops(params, ours)
        flops["backward"] = 2 * flops["forward"]
    return Bench(name, "component", sides, flops, agreement=agreement,
                 shape=" ".join("x".join(map(str, np.shape(x))) for x in inputs),
                 reference=references().get(name))
