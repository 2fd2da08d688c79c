"""Perceptron (book ch02): AND/NAND/OR gates with the book's weights, XOR from two
layers of them, and the perceptron learning rule learning AND and OR step by step.
"""

from dataclasses import dataclass

import numpy as np
import torch

import scratch.perceptron as S
import torch_ref.perceptron as T
from parity.book import Formula
from parity.engine.compare import compare
from parity.engine.inputs import DTYPES, TORCH_DTYPE, cast, source
from parity.engine.layer_pair import LayerPair, Sample
from parity.engine.registry import register
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import Link, load_into_torch

CHAPTER = "perceptron"
_GATE = Formula(r"y = \begin{cases} 1 & w_1 x_1 + w_2 x_2 + b > 0 \\ 0 & \text{otherwise}"
                r"\end{cases}")
FORMULAS = {
    "AND gate": _GATE, "NAND gate": _GATE, "OR gate": _GATE,
    "XOR gate": Formula(r"\mathrm{XOR}(x) = \mathrm{AND}(\mathrm{NAND}(x), \mathrm{OR}(x))"),
    "perceptron learning rule": Formula(r"w \leftarrow w + \eta (t - y) x, \quad b \leftarrow "
                                        r"b + \eta (t - y)"),
}

UNIT = (Link("w", "linear.weight", "row"), Link("b", "linear.bias", "scalar"))


def gate_samples(rng):
    """The four corners; the corners again with noise (never near a threshold)."""
    corners = np.repeat(S.TRUTH_TABLE_INPUTS, 3, axis=0)
    return [
        Sample.of("truth-table", S.TRUTH_TABLE_INPUTS),
        Sample.of("noisy-corners", corners + rng.standard_normal(corners.shape) * 0.1),
    ]


def gate(name):
    # forward only: the step function has no useful gradient
    return LayerPair(f"{name} gate", "book weights",
                     scratch=lambda p: S.Perceptron(p["w"], p["b"]),
                     torch=lambda p: T.Perceptron(), samples=gate_samples,
                     init_params=lambda rng: S.gate_params(name), params=UNIT,
                     backward=False, grad_inputs=(),
                     doc="w (2,) -> nn.Linear(2, 1).weight (1, 2); b () -> bias (1,)")


XOR_MODULES = ("nand", "or_", "and_")  # the twin's submodules, in S.XOR.GATES order
XOR_LINKS = tuple(Link(f"{g}_{link.scratch}", f"{m}.{link.torch}", link.layout)
                  for g, m in zip(S.XOR.GATES, XOR_MODULES, strict=True) for link in UNIT)

register(
    *(gate(name) for name in S.GATE_WEIGHTS),
    LayerPair("XOR gate", "AND(NAND, OR), book weights", scratch=S.XOR, torch=lambda p: T.XOR(),
              samples=gate_samples, init_params=lambda rng: S.xor_params(), params=XOR_LINKS,
              backward=False, grad_inputs=()),
)


@dataclass(frozen=True)
class PerceptronLearning:
    """The learning rule from seeded random weights, online over the four points.

    Compares the whole trajectory of (w, b) after every update (the worst index
    names the step), the final predictions of both sides, and -- against the
    truth table -- that the rule really learned the gate.
    """

    gate: str
    start_from: str = "random"  # "random": seeded N(0, 0.5^2); "zeros": every first sum is 0
    lr: float = 0.1
    epochs: int = 30  # from 500 random starts AND and OR settled within 25 epochs
    component: str = "perceptron learning rule"
    dtypes: tuple = DTYPES

    @property
    def variant(self):
        return f"learns {self.gate} from {self.start_from}, online, lr {self.lr}"

    def start(self, dtype):
        rng = source(self.component, self.variant)
        scale = 0.5 if self.start_from == "random" else 0.0
        return {"w": cast(rng.standard_normal(2) * scale, dtype),
                "b": cast(rng.standard_normal() * scale, dtype)}

    def scratch_side(self, dtype):
        p0 = self.start(dtype)
        x = cast(S.TRUTH_TABLE_INPUTS, dtype)
        t = np.array(S.TRUTH_TABLES[self.gate], dtype=x.dtype)
        steps = S.learn(p0["w"], p0["b"], x, t, self.lr, self.epochs)
        w, b = steps[-1]
        return {"trajectory/w": np.stack([s[0] for s in steps]),
                "trajectory/b": np.stack([s[1] for s in steps]),
                "learned/outputs": S.Perceptron(w, b).forward(x)}

    def torch_side(self, dtype):
        module = T.Perceptron().to(TORCH_DTYPE[dtype])
        load_into_torch(module, self.start(dtype), UNIT)
        x = torch.from_numpy(cast(S.TRUTH_TABLE_INPUTS, dtype))
        t = torch.tensor(S.TRUTH_TABLES[self.gate], dtype=x.dtype)
        steps = T.learn(module, x, t, self.lr, self.epochs)
        w_link, b_link = UNIT
        with torch.no_grad():
            learned = module(x).numpy()
        return {"trajectory/w": np.stack([w_link.from_torch(s[0]) for s in steps]),
                "trajectory/b": np.stack([b_link.from_torch(s[1]) for s in steps]),
                "learned/outputs": learned}

    def run(self, dtype):
        label = dict(component=self.component, variant=self.variant, dtype=dtype,
                     sample=f"{self.epochs} epochs x 4 points")
        ours, theirs = self.scratch_side(dtype), self.torch_side(dtype)
        checks = [compare(ours[q], theirs[q], tolerance_for(dtype), quantity=q, oracle="torch",
                          **label) for q in theirs]
        truth = np.array(S.TRUTH_TABLES[self.gate], dtype=ours["learned/outputs"].dtype)
        checks.append(compare(ours["learned/outputs"], truth, tolerance_for("exact"),
                              quantity="learned/outputs", oracle="truth table", **label))
        return checks


register(*(PerceptronLearning(g, start) for g in ("AND", "OR") for start in ("random", "zeros")))
