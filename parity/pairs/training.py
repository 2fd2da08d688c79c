"""Training-run parity on MNIST: 200 steps, same batches, same initial weights.

One run per model of ``parity.experiments.tables.MODELS`` and each of its ``runs``
optimizers, in its ``dtypes``.  The MLP runs are part of ``make parity``; the others
take minutes and are marked slow (``make test-slow``, ``python -m parity --slow``).
"""

from dataclasses import dataclass

import numpy as np

from parity.engine.compare import compare
from parity.engine.registry import register
from parity.engine.tolerances import (
    LEARNING_MIN_STEPS,
    LEARNING_WINDOW,
    Tolerance,
    tolerance_for,
)
from parity.experiments.tables import MODELS, Model, Optimizer
from parity.experiments.training import load_mnist, train_model

CHAPTER = "networks"

STEPS = 200


@dataclass(frozen=True)
class TrainingRun:
    model: Model
    optimizer: Optimizer
    steps: int = STEPS

    # what the registry reads, from the model and the optimizer
    slow = property(lambda self: self.model.slow)
    dtypes = property(lambda self: self.model.dtypes)
    component = property(lambda self: f"training: {self.model.name}")
    variant = property(lambda self: f"{self.optimizer.name}, {self.steps} steps, batch 100")
    # the networks trained, as factories (the study pages show their code)
    scratch = property(lambda self: self.model.scratch)
    torch = property(lambda self: self.model.twin)

    def run(self, dtype):
        (x, t), _ = load_mnist(self.model.flatten, dtype)
        curve, final, setup = train_model(self.model, self.optimizer, dtype, x, t, self.steps)
        tol = tolerance_for(f"training-{dtype}")
        drift = curve.index[curve.rel_gap > 1e-6]
        note = (f"loss {curve.loss_torch.iloc[0]:.3f} -> {curve.loss_torch.iloc[-1]:.3f}; "
                + (f"first step with relative loss gap > 1e-6: {int(curve.step[drift[0]])}"
                   if len(drift) else "relative loss gap <= 1e-6 at every step"))
        label = dict(component=self.component, variant=self.variant, dtype=dtype,
                     sample="MNIST train, seeded batches", oracle="torch")
        checks = [compare(curve.loss_scratch.to_numpy(), curve.loss_torch.to_numpy(), tol,
                          quantity="loss at every step", **label)]
        checks[0].note = note
        # Final weights within rtol of the network's largest weight: an array that stays at
        # rounding noise (biases before BatchNorm get no gradient) has no relative error.
        scale = max(float(np.abs(v).max()) for v in final.values())
        weights = Tolerance(rtol=0.0, atol=tol.rtol * scale)
        checks += [compare(setup.net.params[k], v, weights, quantity=f"final {k}", **label)
                   for k, v in final.items()]
        return checks + (learned(curve, label) if self.steps >= LEARNING_MIN_STEPS else [])


def learned(curve, label):
    """One row per side: did the run learn?  Parity cannot tell: a harness bug that feeds
    both sides the same wrong batches (images paired with the wrong labels) keeps them in
    perfect agreement while neither learns."""
    quantity = f"mean loss of last {LEARNING_WINDOW} steps / first step's"
    checks = []
    for side in ("scratch", "torch"):
        loss = curve[f"loss_{side}"].to_numpy()
        ratio = loss[-LEARNING_WINDOW:].mean() / loss[0]
        checks.append(compare(ratio, 0.0, tolerance_for("learning"), quantity=quantity,
                              **(label | dict(sample=f"MNIST train, {side} side",
                                              oracle="learning floor"))))
        checks[-1].note = f"{side}: loss {loss[0]:.3f} -> {loss[-LEARNING_WINDOW:].mean():.3f}"
    return checks


# Which optimizers and dtypes, and why some are left out: the table's entries.
register(*(TrainingRun(model, optimizer) for model in MODELS for optimizer in model.runs))
