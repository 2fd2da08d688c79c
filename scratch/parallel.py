"""Both cores busy outside the matrix products: a batch split over threads.

NumPy's BLAS runs a matrix product on every core it is allowed, but the rest of a
layer -- copying windows into columns, adding them back, ReLU, pooling, reshaping --
runs on one.  With two cores, half of a convolutional network's step then leaves a
core idle (measured: SimpleConvNet's step gained 1.1x from a second BLAS thread, torch's
1.6-2x).  NumPy releases Python's lock inside copies, ufuncs and matrix products of
large arrays, so Python threads that each take a part of the batch run at the same
time (``scratch.network`` splits a network's per-sample layers that way).  Two rules
make that pay (both measured on these machines):

- while the threads run, each BLAS call is limited to ONE thread: two threads each
  asking OpenBLAS for two would put four on two cores, and OpenBLAS's spinning
  threads then slow the products down 10-20x;
- no large temporary per call: a fresh array over ~128 kB is a fresh ``mmap``, its
  first touch a page fault, and page faults of threads of one process queue on one
  lock.  ``buffer`` (zeroed, one per shape) and ``workspace`` (overwritten, one per
  name, grown to the largest) keep per-thread arrays alive across calls instead.

A third rule decides where it is used: after a call on two threads, OpenBLAS keeps
its second thread spinning for ~0.1 s, on the core a split layer's second thread
needs (measured: DeepConvNet's step 30% SLOWER with split convolutions next to
two-thread BLAS calls).  So a network opts in as a whole: inside ``batch_threads``
every BLAS call runs one thread and the network splits its batch over as many
threads as NumPy's BLAS was allowed (``threadpool_limits(n)`` sets that), so a
benchmark that gives NumPy and torch n threads each compares like with like.
Outside it, ``workers()`` is 1 and everything runs on the caller's thread.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController().select(internal_api="openblas")  # NumPy's OpenBLAS
_POOLS = {}  # thread count -> ThreadPoolExecutor, made once
_LOCAL = threading.local()  # each thread's buffers; the caller's worker count
_HELD = {}  # (thread, key) -> bytes of the buffer held there (dict updates are atomic)

# A forked child inherits the pools but not their threads: its first map_parts would
# wait forever.  It starts without pools instead (made again on demand).
os.register_at_fork(after_in_child=_POOLS.clear)


def blas_threads():
    """The thread count NumPy's BLAS may use now (1 when it is not OpenBLAS)."""
    return max([c.num_threads for c in _BLAS.lib_controllers], default=1)


@contextmanager
def batch_threads(threads=None):
    """Inside: every BLAS call on one thread, and ``workers()`` ``threads`` (None: the
    threads NumPy's BLAS was allowed when it began; module docstring).  Nested: the
    outer one holds."""
    n = blas_threads() if threads is None else threads
    if n == 1 or workers() > 1:
        yield
        return
    _LOCAL.workers = n
    try:
        with _BLAS.limit(limits=1):
            yield
    finally:
        _LOCAL.workers = 1


def workers():
    """How many threads a layer may split its batch over: 1 outside ``batch_threads``."""
    return getattr(_LOCAL, "workers", 1)


def parts(n, workers):
    """``range(n)`` in at most ``workers`` contiguous (first, end) parts, sizes within one."""
    workers = max(1, min(workers, n))
    edges = [n * k // workers for k in range(workers + 1)]
    return list(zip(edges[:-1], edges[1:]))


def map_parts(fn, items):
    """``[fn(item) for item in items]``, each item on its own thread (one item: on this
    one).  BLAS calls inside run one thread each, never two threads per worker."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    pool = _POOLS.get(len(items))
    if pool is None:
        pool = _POOLS[len(items)] = ThreadPoolExecutor(len(items), "scratch-parallel")
    with _BLAS.limit(limits=1):
        return list(pool.map(fn, items))


def _keep(key, size, dtype, zeros):
    """This thread's 1-D array under ``key``, at least ``size`` long (made anew, larger,
    when a call needs more)."""
    buffers = _LOCAL.__dict__.setdefault("buffers", {})
    found = buffers.get(key)
    if found is None or found.size < size:
        found = buffers[key] = (np.zeros if zeros else np.empty)(size, dtype)
        _HELD[threading.get_ident(), key] = found.nbytes
    return found


def buffer(name, shape, dtype):
    """This thread's array ``name`` (any hashable) of ``shape`` and ``dtype``, zeros when
    first made and kept for the next call: what the caller never writes (padding,
    dropped windows) stays zero, so ``name`` must say everything that decides where the
    caller writes (e.g. the padding).  Never hand it out: the next call overwrites it."""
    shape = tuple(shape)
    return _keep((name, shape, np.dtype(dtype)), int(np.prod(shape)), dtype, True).reshape(shape)


def workspace(name, shape, dtype):
    """This thread's scratch array ``name`` of ``shape``: its contents are left over from
    any earlier call, so the caller writes all of it.  One array per name and dtype,
    grown to the largest shape asked for (layers of every size share it)."""
    size = int(np.prod(shape))
    return _keep((name, np.dtype(dtype)), size, dtype, False)[:size].reshape(shape)


def buffer_bytes():
    """Bytes of the buffers and workspaces held now, every thread: memory the layers keep
    between calls (a peak measured after the first call counts them as already held)."""
    return sum(_HELD.values())
