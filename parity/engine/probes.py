"""Probes that compare two registered entries' scratch sides.

``ConventionGap`` -- where the book and PyTorch differ, prove that they do.
``SameResults`` -- two implementations of one component (the book-shaped convolution
and the fast one) must agree on every sample of the first, within the dtype's tolerance.

A ``ConventionGap`` runs the scratch side of two registered conventions of one
component on the same sample and requires the named quantities to *differ*
beyond the float64 tolerance.  If a refactor made them agree, the documented
difference would be false -- the probe then fails ("GAP VANISHED").
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from parity.engine.compare import compare
from parity.engine.inputs import DTYPES, source
from parity.engine.registry import find
from parity.engine.tolerances import tolerance_for


@dataclass(frozen=True)
class ConventionGap:
    component: str
    a: str  # convention under test
    b: str  # convention it is measured against
    sample: Callable  # rng -> Sample
    quantities: tuple
    why: str
    dtypes: tuple = ("float64",)

    @property
    def variant(self):
        return f"{self.a} vs {self.b}"

    def run(self, dtype):
        pa, pb = find(self.component, self.a), find(self.component, self.b)
        sample = self.sample(source(self.component, self.variant, "probe"))
        qa, qb = pa.scratch_results(sample, dtype), pb.scratch_results(sample, dtype)
        return [compare(qa[q], qb[q], tolerance_for(dtype), expected_gap=self.why,
                        component=self.component, variant=self.variant, dtype=dtype,
                        quantity=q, sample=sample.name, oracle=f"convention {self.b}")
                for q in self.quantities]


@dataclass(frozen=True)
class SameResults:
    """The scratch side of LayerPair ``pair`` against the scratch side of ``reference``
    (the same component), both fed ``pair``'s parameters, samples and upstream gradients:
    every quantity of the reference (output, input and parameter gradients, inputs after)
    must match within the dtype's tolerance.  Build it with ``SameResults.of``."""

    component: str
    variant: str  # "<pair's variant> = <reference's variant>"
    pair: object  # LayerPair: the implementation under test
    reference: object  # LayerPair: the implementation it must agree with
    dtypes: tuple = DTYPES

    @classmethod
    def of(cls, pair, reference):
        return cls(pair.component, f"{pair.variant} = {reference.variant}", pair, reference)

    def run(self, dtype):
        # the pair with the reference's builder: the same seeded params and douts for both
        reference = replace(self.pair, scratch=self.reference.scratch)
        label = dict(component=self.component, variant=self.variant, dtype=dtype,
                     oracle=f"scratch {self.reference.variant}")
        checks = []
        for sample in self.pair.sample_list():
            if dtype not in sample.dtypes:
                continue
            ours = self.pair.scratch_results(sample, dtype)
            theirs = reference.scratch_results(sample, dtype)
            checks += [compare(ours.get(q, np.array(np.nan)), expected, tolerance_for(dtype),
                               quantity=q, sample=sample.name, **label)
                       for q, expected in theirs.items()]
        return checks
