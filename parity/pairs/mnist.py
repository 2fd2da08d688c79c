"""MNIST: the NumPy IDX reader against torchvision.datasets.MNIST, byte for byte."""

from dataclasses import dataclass

import numpy as np

import scratch.mnist as S
import torch_ref.mnist as T
from parity.engine.compare import compare
from parity.engine.registry import Skipped, register
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import to_numpy

CHAPTER = "activations"  # the book loads MNIST in ch. 3 (3.6, handwritten digits)


@dataclass(frozen=True)
class MnistLoaders:
    component: str = "MNIST loader"
    variant: str = "idx (numpy) vs torchvision"
    dtypes: tuple = ("uint8", "float32")
    root: str | None = None  # None: $MNIST_ROOT, else ./data

    def run(self, dtype):
        try:
            return self.compare(dtype)
        except S.MnistNotFoundError as err:  # any of the four files: skipped, naming it
            raise Skipped(str(err).splitlines()[0]) from None

    def compare(self, dtype):
        for name in S.FILES.values():  # torchvision wants all four, whichever split it reads
            S.find_file(self.root, name)
        checks = []
        for train in (True, False):
            split = "train" if train else "test"
            if dtype == "uint8":
                images, labels = S.load_raw(self.root, train)
                ds = T.mnist_dataset(self.root, train)
                pairs = {"images": (images, to_numpy(ds.data)),
                         "labels": (labels.astype(np.int64), to_numpy(ds.targets))}
                tol = tolerance_for("exact")
            else:
                (x, t) = S.load_mnist(self.root, flatten=False)[0 if train else 1]
                xt, tt = T.load_mnist(self.root, train)
                pairs = {"images/255": (x, to_numpy(xt)), "labels": (t, to_numpy(tt))}
                tol = tolerance_for(dtype)
            checks += [compare(a, b, tol, component=self.component, variant=self.variant,
                               dtype=dtype, quantity=q, sample=split, oracle="torchvision")
                       for q, (a, b) in pairs.items()]
        return checks


register(MnistLoaders())
