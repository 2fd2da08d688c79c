"""Convention probes: where the book and PyTorch differ, prove that they do.

A ``ConventionGap`` runs the scratch side of two registered conventions of one
component on the same sample and requires the named quantities to *differ*
beyond the float64 tolerance.  If a refactor made them agree, the documented
difference would be false -- the probe then fails ("GAP VANISHED").
"""

from collections.abc import Callable
from dataclasses import dataclass

from parity.engine.compare import compare
from parity.engine.inputs import source
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
