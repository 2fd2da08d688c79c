"""Forward + backward time of the convolution and pooling layers, float32, one thread.

    .venv/bin/python bench/conv_speed.py            # every case, each library in its own process
    .venv/bin/python bench/conv_speed.py fast conv1  # one implementation, one case

Implementations: ``book`` (scratch.conv.Convolution, the book-shaped reference), ``fast``
(scratch.conv_fast.FastConvolution, what the networks run), ``torch`` (F.conv2d /
F.max_pool2d with autograd).  Pooling is scratch.conv.Pooling for both NumPy ones.
Reports the median and spread of >= 7 rounds; each round is the mean of several calls.
Not a test.

Time is the process's CPU time (``time.process_time``), not wall time: on a shared
machine wall time counts other processes' slices too; with one thread the two agree
on a quiet machine.
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROUNDS, CALLS = 9, 5
CASES = {  # name: (x shape, W shape or pool window)
    "conv1": ((100, 1, 28, 28), (30, 1, 5, 5)),   # SimpleConvNet's convolution
    "conv2": ((100, 16, 14, 14), (32, 16, 3, 3)),  # a DeepConvNet-like one, pad 1
    "pool": ((100, 30, 24, 24), (2, 2)),           # SimpleConvNet's pooling
}
PAD = {"conv1": 0, "conv2": 1}


def step_numpy(convolution, case):
    from scratch.conv import Pooling

    x_shape, w_shape = CASES[case]
    rng = np.random.default_rng(0)
    dtype = np.float32
    x = rng.standard_normal(x_shape).astype(dtype)
    if case == "pool":
        layer = Pooling(*w_shape, stride=2)
    else:
        W = (rng.standard_normal(w_shape) * 0.1).astype(dtype)
        layer = convolution(W, np.zeros(w_shape[0], dtype), 1, PAD[case])
    dout = rng.standard_normal(layer.forward(x).shape).astype(dtype)

    def step():
        layer.forward(x)
        layer.backward(dout)
    return step


def step_torch(case):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    x_shape, w_shape = CASES[case]
    x = torch.randn(x_shape, requires_grad=True)
    if case == "pool":
        def forward():
            return F.max_pool2d(x, w_shape)
    else:
        W = (torch.randn(w_shape) * 0.1).requires_grad_()
        b = torch.zeros(w_shape[0], requires_grad=True)

        def forward():
            return F.conv2d(x, W, b, padding=PAD[case])
    dout = torch.randn(forward().shape)

    def step():
        forward().backward(dout)
    return step


def measure(impl, case):
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if impl == "torch":
        step = step_torch(case)
    else:
        from scratch.conv import Convolution
        from scratch.conv_fast import FastConvolution

        step = step_numpy(FastConvolution if impl == "fast" else Convolution, case)
    with threadpool_limits(1):
        step()  # warm up
        times = []
        for _ in range(ROUNDS):
            t = time.process_time()
            for _ in range(CALLS):
                step()
            times.append((time.process_time() - t) / CALLS * 1e3)
    return times


def main(argv):
    if argv:
        times = measure(*argv)
        print(f"{statistics.median(times):.2f} {min(times):.2f} {max(times):.2f}")
        return
    from threadpoolctl import threadpool_info

    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"])
            for i in threadpool_info()]
    print(f"float32, 1 thread, CPU time, median [min-max] of {ROUNDS} rounds,"
          f" ms; BLAS {blas}")
    for case in CASES:
        row = []
        for impl in ("book", "fast", "torch"):  # each in a fresh process: no spinning BLAS
            out = subprocess.run([sys.executable, __file__, impl, case], check=True,
                                 capture_output=True, text=True).stdout.split()
            row.append(f"{impl} {out[0]} [{out[1]}-{out[2]}]")
        print(f"{case:6} {CASES[case]}: " + "  ".join(row))


if __name__ == "__main__":
    main(sys.argv[1:])
