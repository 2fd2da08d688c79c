"""The book's published weights, on both sides: ``python -m parity.experiments.book_weights``.

Each network's pickle (in ``$DLFS_WEIGHTS``, loaded without running code) goes
into the scratch model and, through ``parity.engine.transfer``, into its torch twin;
both classify the 10,000 MNIST test images on their own.  The accuracies must
equal the published figures exactly and the predictions must agree image for
image.  Prints the table and writes ``reports/out/book_weights.csv``
(network, impl, accuracy, agreement).
"""

import argparse
import dataclasses
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import scratch.mnist
import scratch.models as S
import torch_ref.layers as TL
import torch_ref.models as T
from parity.engine.compare import compare
from parity.engine.inputs import TORCH_DTYPE
from parity.engine.registry import Skipped
from parity.engine.runner import OUT_DIR, all_threads, write_atomic
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import book_links, load_into_torch
from parity.experiments.tables import DEEP_CONVNET, SIMPLE_CONVNET
from scratch.weights import WeightsError, load_pickle

ENV_VAR = "DLFS_WEIGHTS"


@dataclass(frozen=True)
class Published:
    network: str
    file: str  # the name it is published under (and $DLFS_WEIGHTS holds)
    sha256: str
    accuracy: float  # on the 10,000 test images, pixels / 255
    scratch: object  # params -> scratch network
    torch: object  # () -> twin nn.Module
    flatten: bool = True
    dtype: str | None = None  # arithmetic of the evaluation; None: the weights' own dtype
    book_file: str = ""  # its name in the book's repository, when that differs

    @property
    def names(self):
        return (self.file, self.book_file) if self.book_file else (self.file,)


PUBLISHED = [
    Published("ch03 MLP (sigmoid)", "sample_weight.pkl",
              "b7f55a27988ba34c3777b0f1bbd464817c8a4db855723e6ff26f703501917a13", 0.9352,
              scratch=S.SampleNet,
              torch=lambda: T.MultiLayerNet(784, (50, 100), 10, "sigmoid")),
    Published(SIMPLE_CONVNET.name, "simple_convnet_params.pkl",
              "a5da99cffddafcfe5e686e79dc0ec3a7cc993b58e64f483b50960511e5e85344", 0.9600,
              scratch=lambda p: S.SimpleConvNet(params=p), torch=T.SimpleConvNet, flatten=False,
              book_file="params.pkl"),  # ch07/params.pkl in oreilly-japan/deep-learning-...
    # Trained with the book's dropout: test output x (1 - p), so the twin needs that
    # convention.  Evaluated in float32: torch has no fast float64 convolution on the CPU
    # (oneDNN is float32-only), and 10,000 images in float64 take about a minute per side.
    # The float64 evaluation -- the book's own arithmetic -- is the slow entry below.
    Published(DEEP_CONVNET.name, "deep_convnet_params.pkl",
              "4b7a27baee2037605afa94d3f514ca9fa9cc96623739328609765073cfd5f802", 0.9797,
              scratch=lambda p: S.DeepConvNet(params=p, dropout_convention="book"),
              torch=lambda: T.DeepConvNet(dropout=lambda: TL.Dropout(0.5, "book")),
              flatten=False, dtype="float32"),
]
SLOW = [dataclasses.replace(PUBLISHED[-1], dtype="float64")]

def weights_dir(folder=None):
    folder = folder or os.environ.get(ENV_VAR)
    if not folder:
        raise Skipped(f"{ENV_VAR} is not set: point it at the folder with the book's *.pkl")
    return Path(folder)


def predict_in_batches(predict, x, batch=100):  # small: im2col buffers stay in cache
    return np.concatenate([predict(x[i : i + batch]) for i in range(0, len(x), batch)])


def evaluate(spec, folder=None, mnist_root=None):
    """Logits of both sides on the test set: (scratch, torch, labels, dtype).

    Cached per (network, weights folder, data root): tests, ``make parity`` and the
    report ask for the same 10,000 predictions, which take seconds for DeepConvNet."""
    return _evaluate(spec, find_weights(spec, folder),
                     str(scratch.mnist.resolve_root(mnist_root)))


def find_weights(spec, folder=None):
    """The network's file under the weights folder, by its published name or its name in
    the book's repository; Skipped (naming both and the setting) when neither is there."""
    base = weights_dir(folder)
    for name in spec.names:
        if (base / name).is_file():
            return base / name
    raise Skipped(f"{' or '.join(spec.names)} not found in {base} (set {ENV_VAR})")


@functools.cache
def _evaluate(spec, path, mnist_root):
    try:
        x, t = scratch.mnist.load_split(mnist_root, train=False, flatten=spec.flatten)
    except scratch.mnist.MnistNotFoundError as err:
        raise Skipped(str(err).splitlines()[0]) from None
    try:
        params = load_pickle(path, expected_sha256=spec.sha256)
    except WeightsError as err:  # the runner makes it a failed row, this names the setting
        raise WeightsError(f"{err}; the folder comes from {ENV_VAR}") from None
    dtype = np.dtype(spec.dtype) if spec.dtype else next(iter(params.values())).dtype
    params = {k: v.astype(dtype, copy=False) for k, v in params.items()}
    x = x.astype(dtype)
    net = spec.scratch(params)
    twin = spec.torch().to(TORCH_DTYPE[str(dtype)]).eval()
    load_into_torch(twin, params, book_links(twin)[0])
    ours = predict_in_batches(lambda b: net.predict(b, train_flg=False), x)
    with torch.no_grad():
        theirs = predict_in_batches(lambda b: twin(torch.from_numpy(b)).numpy(), x)
    return ours, theirs, t, str(dtype)


@dataclass(frozen=True)
class BookWeights:
    """A registry entry: ``run`` returns the checks; ``evaluate`` returns them with the
    ``book_weights.csv`` rows.  ``rows``: a list ``run`` also appends those rows to (the
    CLI passes one in to write the CSV of the entries that ran)."""

    spec: Published
    dtypes: tuple = ("published",)
    slow: bool = False
    rows: list | None = field(default=None, compare=False)

    @property
    def variant(self):
        return "published weights" + (f", evaluated in {self.spec.dtype}" if self.spec.dtype
                                      else "")

    @property
    def component(self):
        return f"book weights: {self.spec.network}"

    def run(self, dtype):
        rows, checks = self.evaluate()
        if self.rows is not None:
            self.rows.extend(rows)
        return checks

    def evaluate(self):
        """(book_weights.csv rows, checks) of the published network on both sides."""
        with all_threads():  # 10,000 images through full-size networks
            ours, theirs, t, wdtype = evaluate(self.spec)
        pred_s, pred_t = ours.argmax(1), theirs.argmax(1)
        acc = {"scratch": float(np.mean(pred_s == t)), "torch": float(np.mean(pred_t == t))}
        agreement = float(np.mean(pred_s == pred_t))
        rows = [{"network": self.spec.network, "impl": impl, "accuracy": a,
                 "agreement": agreement, "published": self.spec.accuracy, "dtype": wdtype}
                for impl, a in acc.items()]
        label = dict(component=self.component, variant=self.variant, dtype=wdtype,
                     sample="MNIST test (10,000)")
        exact = tolerance_for("exact")
        checks = [compare(np.array(a), np.array(self.spec.accuracy), exact, oracle="published",
                          quantity=f"accuracy ({impl})", **label) for impl, a in acc.items()]
        checks.append(compare(pred_s, pred_t, exact, quantity="predictions", **label))
        checks.append(compare(ours, theirs, tolerance_for(wdtype), quantity="logits", **label))
        return rows, checks


def results_frame(rows):
    return pd.DataFrame(rows, columns=["network", "impl", "accuracy", "agreement", "published",
                                       "dtype"])


def write_csv(rows, out_dir=OUT_DIR):
    """``book_weights.csv`` from ``BookWeights`` rows (nothing written without rows)."""
    df = results_frame(rows)
    if not df.empty:
        write_atomic(Path(out_dir) / "book_weights.csv", df.to_csv(index=False))
    return df


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m parity.experiments.book_weights",
                                description=__doc__.splitlines()[0])
    p.add_argument("--dlfs-weights", help=f"folder with the book's *.pkl (sets ${ENV_VAR})")
    p.add_argument("--mnist-root", help="folder containing MNIST/raw/ (sets $MNIST_ROOT)")
    p.add_argument("--out", default=str(OUT_DIR))
    p.add_argument("--slow", action="store_true", help="also DeepConvNet in float64 (~2 min)")
    args = p.parse_args(argv)
    if args.dlfs_weights:
        os.environ[ENV_VAR] = args.dlfs_weights
    if args.mnist_root:
        os.environ["MNIST_ROOT"] = args.mnist_root
    failed, rows = 0, []
    for spec in PUBLISHED + (SLOW if args.slow else []):
        try:
            failed += sum(not c.passed for c in BookWeights(spec, rows=rows).run("published"))
        except Skipped as why:
            print(f"skipped {spec.network}: {why}")
    df = write_csv(rows, args.out)
    print(df.to_string(index=False) if not df.empty else "nothing evaluated")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
