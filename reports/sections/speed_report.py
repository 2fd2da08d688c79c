"""Speed: forward and backward of every benchmarked component on both sides, the
models' training step and 10k-image inference, their memory and per-layer profile.

Each side runs inside ``threadpool_limits(threads)`` and a
``torch.utils.benchmark.Timer`` with the same ``num_threads``, so NumPy's BLAS
and torch use the same thread count: ``ctx.threads`` for every bench, then 1 for
the model benches (the targets hold on both; the "threads" column says which).
A measurement is a warm-up, then ``ctx.timing_blocks`` blocks of ~``ctx.block_s``
(time per call in each); ms columns are the median and IQR over all blocks of all
rounds.  A pass over the 10k test images (``Bench.once``) is one call per round
instead.  Each of ``ctx.rounds`` rounds times every job with NumPy, sleeps
``ctx.pause_s`` (OpenBLAS threads spin ~0.1 s after a call and slow the next library
down), then every job with torch.  scratch/torch is the median of the per-round
ratios, low/high their range: a second run of the same command should land inside it.
"x faster than book-shaped" divides the reference bench's scratch median (same
phase, same threads) by the row's.

Three more tables come from the model benches (``parity.experiments.profiling``):
peak memory per training step and per inference batch on both sides, and the
per-layer profile of one loss forward + backward at ``ctx.threads`` threads.
"""

import logging
import os
import platform
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import threadpoolctl
import torch
from tqdm import tqdm

from parity.engine.registry import load_all
from parity.experiments import bench, profiling
from reports.render import GREEN, RED, highlight
from reports.section import Figure, Result, Table, section

PEAK_N = 1024  # matmul peak: float32 (N, N) @ (N, N)


def benchmark_timer():
    """torch.utils.benchmark.Timer, imported when timing starts.  Importing it imports
    torch.utils.cpp_extension, whose module-level CUDA_HOME lookup logs "No CUDA runtime is
    found, using CUDA_HOME=..." on a machine with a CUDA folder but no GPU.  That note is
    about compiling C++/CUDA extensions, which the Timer's Python-statement path never
    does: silenced, and only sections that time pay for the import."""
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils.benchmark import Timer
    return Timer


def measure(fn, ctx, threads=None):
    """Seconds per call of ``fn``, one per timed block (after a warm-up), on ``threads``
    (default ``ctx.threads``) threads."""
    threads = threads or ctx.threads
    Timer = benchmark_timer()
    with threadpoolctl.threadpool_limits(limits=threads):
        timer = Timer("fn()", globals={"fn": fn}, num_threads=threads)
        timer.timeit(2)  # warm-up: caches, allocator, lazy init
        once = timer.timeit(3).median
        number = max(1, round(ctx.block_s / max(once, 1e-9)))
        return [timer.timeit(number).median for _ in range(ctx.timing_blocks)]


def measure_once(fn, threads):
    """Seconds of one call of ``fn`` (a whole pass, long enough to time alone)."""
    with profiling.threads(threads):
        start = time.perf_counter()
        fn()
        return [time.perf_counter() - start]


def devices():
    return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)


def torch_gemm(a, b, device):
    """A zero-argument float32 GEMM on ``device`` (synchronised on a GPU)."""
    ta, tb = torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)
    tc = torch.empty_like(ta)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    return lambda: (torch.mm(ta, tb, out=tc), sync())


def matmul_peaks(ctx):
    """GFLOP/s of one float32 GEMM per side, measured in this run: the reference peak
    (best block, as a peak is an upper bound; the machine's load only lowers it)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((PEAK_N, PEAK_N)).astype(np.float32) for _ in range(2))
    c = np.empty_like(a)
    gemms = {"scratch": lambda: np.matmul(a, b, out=c)}
    gemms |= {bench.side_name(d): torch_gemm(a, b, d) for d in devices()}
    peaks = {}
    for side, fn in gemms.items():
        time.sleep(ctx.pause_s)
        peaks[side] = 2.0 * PEAK_N**3 / min(measure(fn, ctx)) / 1e9
    return peaks


def load_line(when):
    """Other processes on the machine skew timings: say how busy it was."""
    load, cores = os.getloadavg()[0], os.cpu_count()
    busy = " -- more runnable processes than cores: timings contended" if load > cores else ""
    return f"load average (1 min) {when}: {load:.2f} on {cores} cores{busy}"


def environment(ctx):
    """The header: which machine, libraries, kernels and thread counts ran."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    lines = [f"CPU: {cpu}, {os.cpu_count()} logical cores; timing threads: {ctx.threads} "
             f"(NumPy BLAS and torch)",
             f"NumPy {np.__version__}; torch {torch.__version__} (intra-op threads "
             f"{torch.get_num_threads()}, MKL {torch.backends.mkl.is_available()}, "
             f"oneDNN {torch.backends.mkldnn.is_available()})"]
    for pool in threadpoolctl.threadpool_info():
        lines.append(f"threadpool: {pool['internal_api']} {pool.get('version') or ''} "
                     f"kernel={pool.get('architecture', '-')} threads={pool['num_threads']} "
                     f"({os.path.basename(pool['filepath'])})")
    lines.append(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    if torch.cuda.is_available():
        lines.append(f"CUDA device: {torch.cuda.get_device_name(0)} (torch cuda column added)")
    else:
        lines.append("CUDA: torch sees no GPU (no torch-on-GPU column)")
    return lines


def benches(ctx):
    """Component benches (every registry LayerPair), then the model benches."""
    components = [bench.build(pair, devices()) for pair in bench.workloads()
                  if ctx.selected(bench.name_of(pair))]
    models = [make(devices()) for make in bench.MODEL_BENCHES]
    models = [m for m in models if ctx.selected(m.name)]
    return components + models + [c for m in models for c in m.companions]


def time_benches(items, peaks, ctx, threads=None):
    """One row per bench and phase, on ``threads`` threads (default ``ctx.threads``).
    Each round times every job on the scratch side, pauses, then every job on each
    torch side: libraries switch only there, and the per-round ratios (scratch and
    torch timed seconds apart) give the ratio's spread.  A bench without a torch side
    (a book-shaped reference network) gets times and no ratio."""
    threads = threads or ctx.threads
    jobs = [(b, phase) for b in items for phase in b.sides["scratch"]]
    sides = list(dict.fromkeys(side for b in items for side in b.sides))
    blocks = {}  # (bench, phase, side) -> seconds per call, all blocks of all rounds
    ratios = {}  # (bench, phase) -> per-round scratch/torch
    progress = tqdm(total=ctx.rounds * sum(len(b.sides) for b, _ in jobs),
                    desc=f"speed, {threads} thread{'s' if threads > 1 else ''}",
                    disable=not ctx.progress)
    for _ in range(ctx.rounds):
        medians = {}
        for side in sides:
            time.sleep(ctx.pause_s)
            for b, phase in (j for j in jobs if side in j[0].sides):
                fn = b.sides[side][phase]
                times = (measure_once(fn, threads) if phase in b.once
                         else measure(fn, ctx, threads))
                blocks.setdefault((b.name, phase, side), []).extend(times)
                medians[b.name, phase, side] = np.median(times)
                progress.update()
        for b, phase in jobs:
            if "torch" in b.sides:
                ratios.setdefault((b.name, phase), []).append(
                    medians[b.name, phase, "scratch"] / medians[b.name, phase, "torch"])
    progress.close()
    rows = []
    for b in items:
        for phase in b.sides["scratch"]:
            row = {"component": b.name, "kind": b.kind, "phase": phase, "threads": threads,
                   "input": b.shape, "reference": b.reference}
            for side in b.sides:
                q25, median, q75 = np.percentile(blocks[b.name, phase, side], [25, 50, 75])
                row |= {f"{side} ms": median * 1e3, f"{side} IQR ms": (q75 - q25) * 1e3,
                        f"{side} best ms": min(blocks[b.name, phase, side]) * 1e3}
                if phase in b.flops:
                    row[f"{side} GFLOP/s"] = b.flops[phase] / median / 1e9
                    row[f"{side} % of matmul peak"] = 100 * row[f"{side} GFLOP/s"] / peaks[side]
                if phase in b.images:
                    row[f"{side} images/s"] = b.images[phase] / median
            r = ratios.get((b.name, phase), [np.nan])
            row |= {"scratch/torch": float(np.median(r)), "ratio low": min(r),
                    "ratio high": max(r), "target": b.targets.get(phase, np.nan),
                    "outputs agree": "" if b.agreement is None else b.agreement.verdict}
            rows.append(row)
    return pd.DataFrame(rows)


FASTER = "x faster than book-shaped"


def with_speedup(df):
    """``df`` plus FASTER: the scratch median of the row's reference bench (same phase,
    same threads) over the row's own; empty where there is no reference in this run."""
    scratch = df.set_index(["component", "phase", "threads"])["scratch ms"]
    df = df.copy()
    df[FASTER] = [scratch.get((r["reference"], r["phase"], r["threads"]), np.nan)
                  / r["scratch ms"] if isinstance(r["reference"], str) else np.nan
                  for _, r in df.iterrows()]
    return df


def memory_table(models):
    """Peak MB per training step and per inference batch, each side (``profiling``)."""
    rows = []
    for b in models:
        row = {"model": b.name}
        for phase in (bench.TRAIN_STEP, bench.INFERENCE_BATCH):
            for side, phases in b.memory.items():
                peak_bytes, _ = profiling.PEAK_BYTES[side]
                row[f"{side} {phase} MB"] = peak_bytes(phases[phase]) / profiling.MB
        rows.append(row)
    return pd.DataFrame(rows)


def profile_table(models, ctx):
    """Per model, side and layer: forward and backward ms of one loss forward + backward
    at ``ctx.threads`` threads (median of ``ctx.timing_blocks`` steps), GEMM vs the rest
    on the scratch side; a total row per model and side."""
    rows = []
    with profiling.threads(ctx.threads):
        for b in models:
            layers = profiling.layer_profile(
                b.name, {side: b.layers[side] for side in ("scratch", "torch")},
                steps=ctx.timing_blocks)
            for side in ("scratch", "torch"):
                mine = pd.DataFrame([r for r in layers if r["side"] == side])
                total = {"model": b.name, "side": side, "layer": "total"}
                total |= mine.drop(columns=["model", "side", "layer"]).sum().to_dict()
                rows += mine.to_dict("records") + [total]
                time.sleep(ctx.pause_s)
    return pd.DataFrame(rows)


def target_colour(row):
    """Red when the ratio misses its target (never hidden), green when it meets it."""
    if np.isnan(row["target"]):
        return None
    return RED if row["scratch/torch"] > row["target"] else GREEN


def view(df):
    """The table people read: medians with IQR, ratio with its range, target, how much
    faster than the book-shaped reference, GFLOP/s, images/s."""
    sides = [c[: -len(" IQR ms")] for c in df.columns if c.endswith(" IQR ms")]
    cols = ["component", "phase", "threads", "input"]
    for side in sides:
        cols += [f"{side} ms", f"{side} IQR ms"]
    cols += ["scratch/torch", "ratio low", "ratio high", "target", FASTER]
    cols += [c for c in df.columns if "GFLOP/s" in c or "peak" in c or "images/s" in c]
    cols += ["outputs agree"]
    return df[[c for c in cols if c in df.columns]]


def model_view(df):
    """The models' rows alone, at every thread count: the targets' table."""
    models = df[df["kind"] == "model"]
    # each model with its book-shaped twin, then phase, the configured thread count first
    name = models["component"].str.replace(" [book-shaped]", "", regex=False)
    order = models.assign(model=pd.Categorical(name, categories=name.unique()),
                          phase_order=models["phase"] != bench.TRAIN_STEP)
    order = order.sort_values(["model", "phase_order", "threads"], ascending=[True, True, False],
                              kind="stable")
    return view(order.drop(columns=[c for c in df.columns if "GFLOP/s" in c or "peak" in c]))


def ratio_plot(df):
    df = df[df["scratch/torch"].notna()]
    labels = df["component"] + " " + df["phase"] + " (" + df["threads"].astype(str) + "t)"
    y = np.arange(len(df))
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(df) + 1.5))
    err = [df["scratch/torch"] - df["ratio low"], df["ratio high"] - df["scratch/torch"]]
    colours = [RED if target_colour(r) == RED else "tab:blue" for _, r in df.iterrows()]
    ax.barh(y, df["scratch/torch"], xerr=np.clip(err, 0, None), color=colours, capsize=2)
    ax.axvline(1.0, color="k", lw=1, ls="--", label="as fast as torch")
    ax.set(xscale="log", yticks=y, yticklabels=labels,
           xlabel="scratch time / torch time (median of rounds; whiskers: range over rounds)",
           title="Speed: NumPy (scratch) vs torch, float32, same threads")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return fig


@section("speed", "Speed: scratch (NumPy) vs torch, same thread count", order=30)
def speed(ctx):
    load_all()
    items = benches(ctx)
    if not items:
        return None
    load_before = load_line("before timing")
    started = time.perf_counter()
    peaks = matmul_peaks(ctx)
    df = time_benches(items, peaks, ctx)
    models = [b for b in items if b.kind == "model"]
    if ctx.threads != 1 and models:
        df = pd.concat([df, time_benches(models, {}, ctx, threads=1)], ignore_index=True)
    timed_s = time.perf_counter() - started
    df = with_speedup(df)
    load_after = load_line("after timing")
    tables = [Table("speed", view(df), data=df,
                    style=highlight(target_colour, ["scratch/torch", "target"]),
                    caption="Median ms per call, float32, batch 100")]
    measured = [b for b in models if "torch" in b.sides]  # not the book-shaped companions
    images = bench.test_images(bench.INFERENCE_IMAGES)[1]
    thread_counts = " and ".join(map(str, dict.fromkeys([ctx.threads, 1])))
    started = time.perf_counter()
    if measured:
        tables.insert(0, Table("speed_models", model_view(df),
                               style=highlight(target_colour, ["scratch/torch", "target"]),
                               caption=f"Models: training step (batch {bench.BATCH}) and "
                                       f"inference over {images}, at {thread_counts} "
                                       "thread(s), each row against its target"))
        tables.append(Table("speed_memory", memory_table(measured),
                            caption="Peak MB allocated during one training step and one "
                                    f"inference batch of {bench.BATCH}, above what was held "
                                    "before it"))
        tables.append(Table("speed_profile", profile_table(measured, ctx),
                            caption=f"Where a training step's loss forward + backward spends "
                                    f"its time, {ctx.threads} thread(s), ms per layer "
                                    f"(median of {ctx.timing_blocks} steps)"))
    profiled_s = time.perf_counter() - started
    notes = environment(ctx) + [load_before, load_after,
        f"matmul peak (float32 GEMM {PEAK_N}^3, best block of this run): "
        + ", ".join(f"{side} {p:.0f} GFLOP/s" for side, p in peaks.items()),
        f"timing: {ctx.rounds} rounds, each timing every job on one side, then ({ctx.pause_s} s"
        f" pause) the other; {ctx.timing_blocks} blocks of ~{ctx.block_s * 1e3:.0f} ms per job "
        f"and side; ms = median (IQR) over all blocks; scratch/torch = median of the "
        f"per-round ratios, low/high = their range.",
        "Backward GFLOP/s count dx and dW (2x the forward's multiply-adds).",
    ]
    if models:
        notes += [
            f"models: timed at {thread_counts} thread(s) (the same count on both sides); "
            f"inference = one pass over {images} in batches of {bench.BATCH}, "
            f"one pass per round ({ctx.rounds} passes per side and thread count).",
            f"{FASTER}: the book-shaped reference's scratch time over the row's, same phase "
            "and threads. A component's reference is the registry entry its SameResults "
            "probe compares it with; a model's is the same network with each such layer "
            "swapped for its reference class holding the same parameters "
            "(bench.book_shaped), its rows named '<model> [book-shaped]'.",
            f"memory: scratch = {profiling.NUMPY_MEMORY}; torch = {profiling.TORCH_MEMORY}. "
            "Kept between calls, so not in the scratch peaks (made on a first call, held "
            "after): the per-thread buffers of scratch.parallel, "
            f"{profiling.scratch_buffer_bytes() / profiling.MB:.1f} MB after this section's runs "
            "(every model, both thread counts).",
            "profile: scratch layers timed by wrapping each layer's forward/backward, with "
            "the batch not split over threads (a split step runs replicas of the layers on "
            "the pool's threads; the step rows above time it split); torch "
            "modules by forward pre/post hooks and full-backward pre-hooks (a module's "
            "backward runs until the next module's starts). GEMM ms = time in lines of "
            "scratch code holding a matrix product (@, matmul, dot), from "
            f"{profiling.TRACED_STEPS} sys.settrace-timed steps of their own (one thread is "
            "traced, so with the batch not split; median, the tracer's time left out); "
            "other ms = the layer's untraced forward + backward minus that.",
            f"time: timing {timed_s:.0f} s, memory and profile {profiled_s:.0f} s.",
        ]
    problems = [f"{r['component']} {r['phase']} on {r['threads']} thread(s): scratch/torch "
                f"{r['scratch/torch']:.2f} misses its target {r['target']}"
                for _, r in df.iterrows() if target_colour(r) == RED]
    problems += [f"{r['component']}: forward outputs differ at benchmark size"
                 for _, r in df.iterrows() if r["outputs agree"] not in ("", "match")]
    return Result(
        tables=tables,
        figures=[Figure("speed_ratio", ratio_plot(df),
                        "scratch/torch time ratio per component and phase (log scale)")],
        notes=notes, problems=problems)
