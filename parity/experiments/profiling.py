"""Where a training step spends its time and memory, on both sides (the speed report).

Peak memory (``peak_bytes``): what one call allocates on top of what was held when it
started (parameters and the batch are held before), at its highest point.

- NumPy: ``tracemalloc``.  NumPy reports its array buffers to it (and Python reports
  its objects), so the traced peak is the arrays' peak.
- torch (CPU): torch's allocator does not report to tracemalloc (a 40 MB tensor shows
  as 80 bytes there -- measured, torch 2.14).  ``torch.profiler`` with
  ``profile_memory=True`` records every allocation and free of the CPU allocator with
  its size; the peak of their running sum over the call is the same quantity.  The
  events are read from the profiler's event tree (``torch._C._profiler``, not a public
  API: a test checks it still sees a tensor's bytes).

Per-layer times (``scratch_layer_times``, ``torch_layer_times``): one forward and
backward of the loss (no optimizer update), each layer timed in place.

- scratch: each layer's ``forward``/``backward`` wrapped by a timer on that network
  (``Network`` calls them one after another), the loss layer included.
- torch: module hooks on the twin's leaf modules: forward from a forward pre-hook to
  its forward hook; backward from a module's full-backward pre-hook (its output
  gradient is ready: its backward starts) to the next module's (or to the end of
  ``backward()`` for the last).  Hooks add a little autograd bookkeeping of their own.

GEMM vs the rest on the scratch side (``traced_seconds``): a line timer
(``sys.settrace`` on the files of the ``scratch`` package) charges each line its own
time, calls into NumPy included, and leaves its own time out; lines holding a matrix
product (``@``, ``matmul``, ``dot``, ``einsum``, ``tensordot``) are GEMM.  Such a line
may also do a small add or reshape.  GEMM ms comes from those traced steps (a GEMM line
is one trace event, which its time hardly feels), "other" is the untraced forward +
backward minus it: tracing slows the many small lines of a layer's loops (measured
1.3-2x on the convolutions, on a loaded machine), so the traced steps' own non-GEMM
time would overstate it.
"""

import contextlib
import itertools
import linecache
import os
import re
import sys
import time
import tracemalloc
from collections import defaultdict

import numpy as np
import threadpoolctl
import torch
import torch._C._profiler as _profiler
from torch.profiler import ProfilerActivity, profile

import scratch
from scratch.parallel import buffer_bytes

MB = 2 ** 20
NUMPY_MEMORY = "tracemalloc (NumPy reports its array buffers to it)"
TORCH_MEMORY = ("torch.profiler(profile_memory=True): running sum of the CPU allocator's "
                "allocation events (torch does not report to tracemalloc)")


def scratch_buffer_bytes():
    """What the scratch side keeps between calls outside any peak: ``scratch.parallel``'s
    per-thread buffers (made on a first call, held afterwards), all threads."""
    return buffer_bytes()


def numpy_peak_bytes(fn):
    """Peak bytes that ``fn()`` allocates above what was held when it started
    (tracemalloc; started and stopped here unless it was already tracing)."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return max(0, tracemalloc.get_traced_memory()[1] - before)
    finally:
        if not tracing:
            tracemalloc.stop()


@contextlib.contextmanager
def quiet_stderr():
    """The profiler's C++ side prints start/stop notes and a failed GPU probe to the
    process's stderr (file descriptor 2): they say nothing here."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def allocation_events(prof):
    """(time ns, bytes: + allocated, - freed) of every allocator event ``prof`` recorded."""
    found, todo = [], list(prof.profiler.kineto_results.experimental_event_tree())
    while todo:
        node = todo.pop()
        if node.tag == _profiler._EventType.Allocation:
            found.append((node.start_time_ns, node.extra_fields.alloc_size))
        todo += node.children
    return sorted(found)


def torch_peak_bytes(fn):
    """Peak bytes that ``fn()`` allocates through torch's CPU allocator above what was
    held when it started: the running sum of the profiler's allocation events."""
    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        fn()
    running = itertools.accumulate(size for _, size in allocation_events(p))
    return max(0, max(running, default=0))


PEAK_BYTES = {"scratch": (numpy_peak_bytes, NUMPY_MEMORY), "torch": (torch_peak_bytes,
                                                                     TORCH_MEMORY)}


@contextlib.contextmanager
def threads(n):
    """NumPy's BLAS and torch on ``n`` threads, as the speed report times them."""
    before = torch.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=n):
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


# ---- per-layer times ----
@contextlib.contextmanager
def wrapped_layers(net, wrap):
    """Each layer's (and the loss layer's, as "loss") forward and backward replaced on
    the instance by ``wrap((name, phase), method)``; the class's methods again after.
    Yields the layers by name, in forward order."""
    layers = dict(net.layers) | {"loss": net.last_layer}
    for name, layer in layers.items():
        for phase in ("forward", "backward"):
            setattr(layer, phase, wrap((name, phase), getattr(layer, phase)))
    try:
        yield layers
    finally:
        for layer in layers.values():
            del layer.forward, layer.backward


@contextlib.contextmanager
def unsplit(net):
    """``net`` with its batch not split over threads (``split_batches`` off), as it was
    after.  Per-layer clocks and the line tracer wrap the network's own layers and follow
    one thread; a split step runs replicas of the layers on the pool's threads."""
    split, net.split_batches = net.split_batches, False
    try:
        yield net
    finally:
        net.split_batches = split


def scratch_layer_times(net, x, t, steps):
    """{(layer, phase): [seconds per step]} of ``steps`` loss forward + backward passes of
    the scratch ``net`` on (x, t), the loss layer as "loss"; also returns the layer
    names in forward order with their class names.  The batch is not split
    (``unsplit``): the layers' times add up to a step on one thread's layers."""
    times = defaultdict(list)
    step = {}

    def timed(key, method):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                step[key] = step.get(key, 0.0) + time.perf_counter() - start
        return run

    with unsplit(net), wrapped_layers(net, timed) as layers:
        for _ in range(steps):
            step.clear()
            net.loss(x, t, train_flg=True)
            net.backward()
            for key, seconds in step.items():
                times[key].append(seconds)
    return times, [(name, type(layer).__name__) for name, layer in layers.items()]


def leaf_modules(twin):
    return [(name, m) for name, m in twin.named_modules() if not any(m.children())]


def torch_layer_times(twin, x, t, steps):
    """As ``scratch_layer_times`` for a torch twin: {(module, phase): [seconds per step]}
    and the leaf modules' names and class names in forward order."""
    times = defaultdict(list)
    started, forward, backward = {}, {}, []
    handles = []

    def forward_pre(name):
        def hook(module, args):
            started[name] = time.perf_counter()
        return hook

    def forward_post(name):
        def hook(module, args, out):
            forward[name] = forward.get(name, 0.0) + time.perf_counter() - started[name]
        return hook

    def backward_pre(name):
        def hook(module, grad_output):
            backward.append((time.perf_counter(), name))
        return hook

    leaves = leaf_modules(twin)
    for name, m in leaves:
        handles += [m.register_forward_pre_hook(forward_pre(name)),
                    m.register_forward_hook(forward_post(name)),
                    m.register_full_backward_pre_hook(backward_pre(name))]
    try:
        for _ in range(steps):
            forward.clear()
            backward.clear()
            twin.zero_grad(set_to_none=True)
            loss = twin(x, t)
            loss.backward()
            end = time.perf_counter()
            for name, seconds in forward.items():
                times[name, "forward"].append(seconds)
            marks = sorted(backward) + [(end, None)]
            per_module = defaultdict(float)
            for (start, name), (stop, _) in itertools.pairwise(marks):
                per_module[name] += stop - start
            for name, seconds in per_module.items():
                times[name, "backward"].append(seconds)
    finally:
        for h in handles:
            h.remove()
        twin.zero_grad(set_to_none=True)
    return times, [(name, type(m).__name__) for name, m in leaves]


# ---- GEMM lines ----
GEMM = re.compile(r"@|\b(?:matmul|dot|einsum|tensordot)\(")
SCRATCH_DIR = os.path.dirname(os.path.abspath(scratch.__file__)) + os.sep


def is_gemm_line(filename, lineno):
    code = linecache.getline(filename, lineno).split("#", 1)[0].strip()
    return bool(code) and not code.startswith("@") and bool(GEMM.search(code))


class LineClock:
    """``sys.settrace`` over the scratch package's files: every line's own time (until the
    next traced line or return; untraced calls inside it count for it) goes to
    ``seconds[(label, is a GEMM line)]``, ``label`` being what the caller set.  The
    tracer's own time is left out: each interval starts when the tracer hands back."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.label = None
        self.line = None  # (filename, lineno) running now
        self.since = 0.0
        self.gemm = {}

    def charge(self):
        """Charge the time since the last event to the line that ran (its label's
        non-GEMM time when no traced line was running: call overhead)."""
        now = time.perf_counter()
        if self.label is not None:
            if self.line is not None and self.line not in self.gemm:
                self.gemm[self.line] = is_gemm_line(*self.line)
            gemm = self.line is not None and self.gemm[self.line]
            self.seconds[self.label, gemm] += now - self.since

    def restart(self):
        self.since = time.perf_counter()

    def trace(self, frame, event, arg):  # sys.settrace's global function: new frames
        if not frame.f_code.co_filename.startswith(SCRATCH_DIR):
            return None
        self.charge()
        self.line = None
        self.restart()
        return self.local

    def local(self, frame, event, arg):
        self.charge()
        if event == "line":
            self.line = (frame.f_code.co_filename, frame.f_lineno)
        elif event == "return":
            caller = frame.f_back
            self.line = ((caller.f_code.co_filename, caller.f_lineno) if caller is not None
                         and caller.f_code.co_filename.startswith(SCRATCH_DIR) else None)
        self.restart()
        return self.local


def traced_seconds(net, x, t, steps):
    """{(layer, phase): (GEMM seconds, other seconds)} of the scratch ``net``: medians
    over ``steps`` line-traced loss forward + backward passes.  The tracer follows the
    calling thread only, so these steps run with the batch not split over threads
    (``unsplit``; the BLAS keeps its threads): a split network's GEMM time is that of
    its unsplit step."""
    clock = LineClock()

    def labelled(key, method):
        def run(*args, **kwargs):
            outer = clock.label
            clock.charge()  # what ran before goes to the outer label
            clock.label = key
            clock.restart()
            try:
                return method(*args, **kwargs)
            finally:
                clock.charge()
                clock.label = outer
                clock.restart()
        return run

    per_step = defaultdict(list)
    with unsplit(net), wrapped_layers(net, labelled) as layers:
        for _ in range(steps):
            clock.seconds.clear()
            sys.settrace(clock.trace)
            try:
                net.loss(x, t, train_flg=True)
                net.backward()
            finally:
                sys.settrace(None)
            for key in itertools.product(layers, ("forward", "backward")):
                per_step[key].append((clock.seconds.get((key, True), 0.0),
                                      clock.seconds.get((key, False), 0.0)))
    return {key: tuple(np.median(s, axis=0)) for key, s in per_step.items()}


TRACED_STEPS = 3  # line-traced steps per model (GEMM vs other)


def layer_profile(model_name, sides, steps, traced_steps=TRACED_STEPS):
    """Rows (dicts) of the per-layer table for one model: per side and layer, median ms
    of forward and backward; on the scratch side also each layer's GEMM ms, from
    ``traced_steps`` line-traced steps (``traced_seconds``), and the rest.
    ``sides``: side -> (network or twin, batch, labels), as ``Bench.layers``."""
    rows = []
    for side, (net, x, t) in sides.items():
        if side == "scratch":
            net.loss(x, t, train_flg=True)  # warm-up
            net.backward()
            times, layers = scratch_layer_times(net, x, t, steps)
            traced = traced_seconds(net, x, t, traced_steps)
        else:
            torch_layer_times(net, x, t, 1)  # warm-up
            times, layers = torch_layer_times(net, x, t, steps)
            traced = None
        for name, kind in layers:
            row = {"model": model_name, "side": side, "layer": f"{name} ({kind})"}
            for phase in ("forward", "backward"):
                s = times.get((name, phase))
                row[f"{phase} ms"] = float(np.median(s)) * 1e3 if s else np.nan
            if traced is not None:
                gemm = sum(traced.get((name, p), (0.0, 0.0))[0]
                           for p in ("forward", "backward")) * 1e3
                total = np.nansum([row["forward ms"], row["backward ms"]])
                row |= {"GEMM ms": gemm, "other ms": max(0.0, total - gemm)}
            rows.append(row)
    return rows
