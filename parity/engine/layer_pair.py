"""``LayerPair``: a scratch layer and its torch twin, run on the same inputs.

Each side runs a sample on its own and reports named quantities in the book's
layout; the engine then compares them name by name.  Per call of a sample:

  out             forward output
  dx, dW, ...     backward with one random upstream gradient (never ones/sum())
                  -> input gradient and every parameter gradient
  running_mean..  state after the call
  inputN after    the inputs after the call (a layer must not write into them)

Both sides draw the upstream gradient from identically seeded generators, so
they see the same numbers.  In float64 the scratch backward is checked once
more against central finite differences.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from parity.engine.compare import compare
from parity.engine.gradcheck import central_difference, spot_indices
from parity.engine.inputs import DTYPES, TORCH_DTYPE, cast, source
from parity.engine.tolerances import FD_NOISE, FD_STEP, tolerance_for
from parity.engine.transfer import load_into_torch, read_from_torch, scratch_attr, to_numpy


@dataclass(frozen=True)
class Call:
    """One forward (+ backward) call: its inputs and, for layers with modes, train/eval."""

    inputs: tuple
    train: bool | None = None
    # False: forward only (the book's Dropout/BatchNormalization define no backward after
    # an evaluation forward; `make check` skips it for learners' layers)
    backward: bool = True


@dataclass(frozen=True)
class Sample:
    name: str
    calls: tuple
    smooth: bool = True  # False: inputs sit on a kink, where finite differences don't apply
    fd_gap: str = ""  # why this sample's backward is *not* the derivative of its forward
    # Typical size of the inputs' variation: finite differences step FD_STEP * input_scale
    # on the inputs, so the step stays small (truncation) but not tiny (rounding) for them.
    input_scale: float = 1.0
    # The dtypes this sample is compared in.  Leave one out only with a measured reason
    # (e.g. float32 rounding of a 1e3-sized gradient exceeds assert_close's atol 1e-5).
    dtypes: tuple = DTYPES

    @classmethod
    def of(cls, name, *inputs, train=None, smooth=True, fd_gap="", input_scale=1.0,
           dtypes=DTYPES):
        return cls(name, (Call(tuple(inputs), train),), smooth, fd_gap, input_scale, dtypes)


BENCH_BATCH = 100  # the speed report's batch


@dataclass(frozen=True)
class BenchSize:
    """The speed report's job for an entry whose own samples are too small to time:
    input shapes (normal draws) and ``(name, shape)`` of each parameter (normal * 0.1,
    book layout).  The twin must take its sizes from the parameters it is given."""

    inputs: tuple
    params: tuple = ()


def _no_params(rng):
    return {}


@dataclass(frozen=True)
class LayerPair:
    component: str
    variant: str
    scratch: Callable  # params (book layout) -> scratch layer
    torch: Callable  # params (book layout) -> twin nn.Module; weights copied via `params`
    samples: Callable  # rng -> list[Sample]
    init_params: Callable = _no_params  # rng -> {name: float64 array}, book layout
    params: tuple = ()  # Links for trainable arrays
    state: tuple = ()  # Links: scratch attribute <-> torch buffer (running stats, ...)
    # inputs that get a gradient (book layers return one dx); () for a layer that skips
    # it (e.g. FastConvolution with input_grad = False): then neither side reports dx
    grad_inputs: tuple = (0,)
    backward: bool = True
    dtypes: tuple = DTYPES
    fd_step: float = FD_STEP  # smaller for deep ReLU/max-pool stacks, where 1e-5 crosses kinks
    # False: no finite differences, for a variant that a SameResults probe holds to a
    # reference entry whose own finite differences check the same formulas
    finite_differences: bool = True
    # the speed report's job (parity.experiments.bench); None: the first sample's first
    # call, its batch scaled up by drawing rows, with this entry's init_params
    bench: BenchSize | None = None
    doc: str = ""

    def sample_list(self):
        return self.samples(source(self.component, self.variant, "samples"))

    def _params(self, rng, dtype):
        return {k: cast(v, dtype) for k, v in self.init_params(rng).items()}

    # ---- each side on its own ----
    def scratch_results(self, sample, dtype, layer=None):
        rng = source(self.component, self.variant, sample.name)
        params = self._params(rng, dtype)
        layer = layer or self.scratch(params)
        res = {}
        for k, call in enumerate(sample.calls):
            at = f"step{k + 1}/" if len(sample.calls) > 1 else ""
            inputs = [cast(x, dtype) for x in call.inputs]
            mode = {} if call.train is None else {"train_flg": call.train}
            res[at + "out"] = out = np.array(layer.forward(*inputs, **mode))  # copies:
            if self.backward and call.backward:
                dout = cast(rng.standard_normal(out.shape), dtype)
                dx = layer.backward(dout)
                if self.grad_inputs:  # () : the layer computes no input gradient (None)
                    res[at + "dx"] = np.array(dx)  # layers may reuse buffers
                res[at + "dout after"] = dout
                res |= {at + f"d{l.scratch}": np.array(layer.grads[l.scratch])
                        for l in self.params}
            res |= {at + l.scratch: np.array(scratch_attr(layer, l.scratch))
                    for l in self.state}
            res |= {at + f"input{i} after": x.copy() for i, x in enumerate(inputs)}
        return res

    def torch_results(self, sample, dtype):
        rng = source(self.component, self.variant, sample.name)
        params = self._params(rng, dtype)
        module = self.torch(params).to(TORCH_DTYPE[dtype])
        load_into_torch(module, params, self.params)
        res = {}
        for k, call in enumerate(sample.calls):
            at = f"step{k + 1}/" if len(sample.calls) > 1 else ""
            inputs = [cast(x, dtype) for x in call.inputs]
            if call.train is not None:
                module.train(call.train)
            tensors = [torch.from_numpy(x.copy()) for x in inputs]
            for i in self.grad_inputs:
                tensors[i].requires_grad_(True)
            out = module(*tensors)
            res[at + "out"] = to_numpy(out)
            if self.backward and call.backward:
                dout = cast(rng.standard_normal(tuple(out.shape)), dtype)
                module.zero_grad(set_to_none=True)
                out.backward(torch.from_numpy(dout.copy()))
                if self.grad_inputs:
                    res[at + "dx"] = to_numpy(tensors[self.grad_inputs[0]].grad)
                res[at + "dout after"] = dout
                grads = read_from_torch(module, self.params, grad=True)
                res |= {at + f"d{k_}": v for k_, v in grads.items()}
            res |= {at + k_: v for k_, v in read_from_torch(module, self.state).items()}
            res |= {at + f"input{i} after": x for i, x in enumerate(inputs)}
        return res

    # ---- the checks ----
    def run(self, dtype):
        checks = []
        for sample in self.sample_list():
            if dtype not in sample.dtypes:
                continue
            checks += self.compare_sides(sample, dtype)
            if (dtype == "float64" and self.backward and self.finite_differences
                    and sample.smooth and len(sample.calls) == 1 and sample.calls[0].backward):
                checks += self.finite_difference_checks(sample)
        return checks

    def _label(self, dtype, sample, oracle):
        return dict(component=self.component, variant=self.variant, dtype=dtype,
                    sample=sample.name, oracle=oracle)

    def compare_sides(self, sample, dtype):
        tol = tolerance_for(dtype)
        label = self._label(dtype, sample, "torch")
        # A side that raises stops the entry: the runner turns that into a CRASHED row.
        ours, theirs = self.scratch_results(sample, dtype), self.torch_results(sample, dtype)
        return [compare(ours.get(q, np.array(np.nan)), expected, tol, quantity=q, **label)
                for q, expected in theirs.items()]

    def finite_difference_checks(self, sample):
        """Scratch backward vs central differences of sum(forward(...) * dout), float64."""
        rng = source(self.component, self.variant, sample.name)
        params = self._params(rng, "float64")
        layer = self.scratch(params)
        for l in self.params:
            if not np.shares_memory(layer.params[l.scratch], params[l.scratch]):
                raise ValueError(f"{self.component}: the scratch builder must hand params "
                                 f"[{l.scratch!r}] to the layer uncopied (finite differences "
                                 "perturb it in place)")
        analytic = self.scratch_results(sample, "float64", layer=layer)
        call = sample.calls[0]
        inputs = [cast(x, "float64") for x in call.inputs]
        mode = {} if call.train is None else {"train_flg": call.train}
        dout = analytic["dout after"]

        def objective():
            # A fresh layer per evaluation: every forward starts from the state the
            # analytic one did (running statistics, the first injected dropout mask).
            # It holds the same ``params`` arrays, which are perturbed in place.
            layer = self.scratch(params)
            return float(np.sum(np.asarray(layer.forward(*inputs, **mode)) * dout))

        x_step = self.fd_step * sample.input_scale
        targets = {"dx": (inputs[self.grad_inputs[0]], x_step)} if self.grad_inputs else {}
        targets |= {f"d{l.scratch}": (params[l.scratch], self.fd_step) for l in self.params}
        f0 = abs(objective())
        label = self._label("float64", sample, "finite-diff")
        checks = []
        for q, (array, step) in targets.items():
            # Central differences carry rounding noise ~eps*|f|/h whatever the gradient's
            # size; below that floor (vanishing gradients) they cannot tell anything apart.
            noise = FD_NOISE * np.finfo(np.float64).eps * max(f0, 1.0) / step
            tol = dataclasses.replace(tolerance_for("finite-diff"), atol=noise)
            where = spot_indices(array.size, source(self.component, sample.name, "fd", q))
            numeric = central_difference(objective, array, step, indices=where).reshape(-1)
            got = analytic[q]  # of the wrong shape (e.g. a missing dx): compare reports it
            got = got.reshape(-1)[where] if got.shape == array.shape else got
            checks.append(compare(got, numeric, tol, quantity=q, expected_gap=sample.fd_gap,
                                  **label))
        return checks

