"""Training-step time of the scratch networks vs their torch twins, float32, batch 100.

    .venv/bin/python bench/train_step.py              # 2 threads and 1 thread, every model
    .venv/bin/python bench/train_step.py 1 SimpleConvNet  # N threads, some models

One training step = loss forward (train mode) + backward + plain SGD update, on
both sides: ``net.loss``/``net.backward``/``SGD.update`` for scratch,
``F.cross_entropy``/``.backward()``/``torch.optim.SGD`` for torch.  Both sides run
with the same thread count: ``threadpool_limits(N)`` for NumPy's BLAS and
``torch.set_num_threads(N)``.

Each round times a block of NumPy steps, sleeps 0.25 s (OpenBLAS threads spin
~0.1 s after a call and slow whatever runs next), then a block of torch steps,
sleeps again.  Reported: medians over the rounds of wall ms per step and of the
process CPU ms per step (on a shared machine wall time counts other processes'
slices; CPU time with N threads counts every thread's spin, so it reads up to N
times the wall time), and the median of the per-round wall ratios scratch/torch
(neighbouring blocks see the same machine load).  Not a test.

Before/after: run this file from an export of an older commit, e.g.
``git archive 22d8b9c scratch torch_ref | tar -x -C /tmp/base``, with this file
copied to /tmp/base/bench/ (it imports the scratch package next to it).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scratch.models as SM  # noqa: E402
import scratch.optimizers as SO  # noqa: E402
import torch_ref.models as TM  # noqa: E402

ROUNDS, WARMUP, PAUSE, BATCH, LR = 9, 3, 0.25, 100, 0.01
MODELS = {  # name: (scratch net, torch net, input shape of one image, steps per block)
    "MLP 784-100-100-10": (lambda **kw: SM.MultiLayerNet(784, (100, 100), 10, **kw),
                           lambda: TM.MultiLayerNet(784, (100, 100), 10), (784,), 200),
    "SimpleConvNet": (SM.SimpleConvNet, TM.SimpleConvNet, (1, 28, 28), 20),
    "DeepConvNet": (SM.DeepConvNet, TM.DeepConvNet, (1, 28, 28), 5),
}


def scratch_step(make_net, x, t):
    init = make_net(rng=np.random.default_rng(0)).params
    net = make_net(params={k: v.astype(np.float32) for k, v in init.items()})
    opt = SO.SGD(lr=LR)

    def step():
        net.loss(x, t, train_flg=True)
        net.backward()
        opt.update(net.params, net.grads)
    return step


def torch_step(make_net, x, t):
    net = make_net().train()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    x, t = torch.from_numpy(x), torch.from_numpy(t)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), t).backward()
        opt.step()
    return step


def block(step, n):
    """(wall ms, CPU ms) per step over ``n`` steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        step()
    return ((time.perf_counter() - wall) / n * 1e3, (time.process_time() - cpu) / n * 1e3)


def measure(name, threads):
    make_scratch, make_torch, shape, n = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, *shape)).astype(np.float32)
    t = rng.integers(0, 10, BATCH)
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    sides = {"scratch": scratch_step(make_scratch, x, t), "torch": torch_step(make_torch, x, t)}
    times = {side: [] for side in sides}
    with threadpool_limits(threads):
        for step in sides.values():
            block(step, WARMUP)
            time.sleep(PAUSE)
        for _ in range(ROUNDS):
            for side, step in sides.items():
                times[side].append(block(step, n))
                time.sleep(PAUSE)
    wall = {side: [w for w, _ in ts] for side, ts in times.items()}
    cpu = {side: statistics.median(c for _, c in ts) for side, ts in times.items()}
    ratios = [s / t for s, t in zip(wall["scratch"], wall["torch"], strict=True)]
    return wall, cpu, ratios


def spread(values):
    return f"{statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}]"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/train_step.py", description=__doc__.splitlines()[0])
    p.add_argument("threads", nargs="?", type=int, help="thread count for both sides, >= 1 "
                   "(default: 2, then 1)")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help=f"models to time (default: all): {', '.join(map(repr, MODELS))}")
    args = p.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        p.error(f"threads must be at least 1, got {args.threads}")
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        p.error(f"unknown models {unknown}; have {list(MODELS)}")
    return args


def main(argv):
    args = parse_args(argv)
    thread_counts = [args.threads] if args.threads else [2, 1]
    names = args.models or list(MODELS)
    blas = [(i["internal_api"], i.get("architecture")) for i in threadpool_info()]
    print(f"float32, batch {BATCH}, {ROUNDS} rounds; BLAS {blas}; torch {torch.__version__};"
          f" OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"load average before: {os.getloadavg()}")
    print("threads | model | scratch ms [min-max] | torch ms [min-max] | ratio (median of rounds)"
          " | CPU ms scratch / torch")
    for threads in thread_counts:
        for name in names:
            wall, cpu, ratios = measure(name, threads)
            print(f"{threads} | {name:18} | {spread(wall['scratch'])} | {spread(wall['torch'])} |"
                  f" {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}] |"
                  f" {cpu['scratch']:.2f} / {cpu['torch']:.2f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
