"""The study notes' own code, audited: the PyTorch SimpleCNN and the NumPy sigmoid snippet.

Kept as written, the notes' code must keep failing in the documented way
(verdict "FAILED (known defect)", with an explanation); the corrected versions
must match their twins exactly.
"""

from dataclasses import dataclass

import numpy as np
import torch

import scratch.notes as S
import torch_ref.notes as T
from parity.book import Formula
from parity.engine.audit import explain_failure
from parity.engine.compare import KNOWN_DEFECT, MISMATCH, Check, compare
from parity.engine.inputs import source
from parity.engine.registry import register
from parity.engine.tolerances import tolerance_for
from parity.engine.transfer import to_numpy

CHAPTER = "notes"
SIMPLE_CNN = "study notes: SimpleCNN"
SNIPPET = "study notes: sigmoid layer snippet"
FORMULAS = {
    SNIPPET: Formula(
        r"y = \sigma(X W + b)",
        r"\frac{\partial L}{\partial W} = X^{T} \left(\frac{\partial L}{\partial y} \odot y "
        r"(1 - y)\right), \quad \frac{\partial L}{\partial X} = \left(\frac{\partial L}"
        r"{\partial y} \odot y (1 - y)\right) W^{T}",
        note="the correct backward; the notes' snippet leaves out y(1 - y)"),
}


def known_defect(why, **label):
    """A defect of the notes' code, kept as written: ``why`` says what showed (a passing
    row); empty ``why`` means the defect did not show -- the audit is stale, a failure."""
    if why:
        return Check(verdict=KNOWN_DEFECT, passed=True, note=why, detail=why, **label)
    return Check(verdict=MISMATCH, passed=False, detail="the documented defect is gone -- "
                 "update this audit", **label)


@dataclass(frozen=True)
class NotesCode:
    """A piece of the notes' code audited as written: what the registry reads of it."""

    component: str
    variant: str = "as written"
    dtypes: tuple = ("float64",)


@dataclass(frozen=True)
class NotesSimpleCNN(NotesCode):
    """The notes' SimpleCNN, verbatim: its forward must fail, and be explained."""

    component: str = SIMPLE_CNN
    dtypes: tuple = ("float32",)

    def run(self, dtype):
        model = T.SimpleCNN()
        x = torch.from_numpy(source(self.component, "x").standard_normal((2, 1, 28, 28))
                             .astype(np.float32))
        label = dict(component=self.component, variant=self.variant, dtype=dtype,
                     quantity="forward", sample="x(2,1,28,28)", oracle="runs at all")
        try:
            model(x)
            why = ""
        except Exception as err:  # the defect: report it the way a learner needs it
            why = explain_failure(model, err)
        return [known_defect(why, **label)]


@dataclass(frozen=True)
class NotesSigmoidSnippet(NotesCode):
    """sigmoid(X W + b) and backward(dL_dy, W, X) from the notes, against torch autograd."""

    component: str = SNIPPET

    def run(self, dtype):
        rng = source(self.component)
        X, W, b = (rng.standard_normal(s) for s in ((5, 4), (4, 3), (3,)))
        g = rng.standard_normal((5, 3))  # random upstream gradient dL/dy
        tol = tolerance_for(dtype)
        checks = []

        def check(quantity, ours, theirs, gap="", sample="X(5,4)"):
            checks.append(compare(ours, theirs, tol, expected_gap=gap, quantity=quantity,
                                  sample=sample, component=self.component,
                                  variant=self.variant, dtype=dtype,
                                  oracle="torch autograd"))

        def autograd(X, through_sigmoid):
            Xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (X, W, b))
            z = Xt @ Wt + bt
            y = torch.sigmoid(z) if through_sigmoid else z
            y.backward(torch.tensor(g if X.ndim == 2 else g[0]))
            return to_numpy(y), to_numpy(Wt.grad), to_numpy(Xt.grad), to_numpy(bt.grad)

        y_ref, dW_sig, dX_sig, db_sig = autograd(X, True)
        _, dW_lin, dX_lin, _ = autograd(X, False)
        y = S.notes_forward(X, W, b)
        check("forward y", y, y_ref)
        dW, dX = S.notes_backward(g, W, X)
        check("dL_dW as gradient of z = XW", dW, dW_lin)
        check("dL_dX as gradient of z = XW", dX, dX_lin)
        no_sigmoid = ("known defect in the notes: backward(dL_dy, W, X) takes no y, so it "
                      "cannot multiply by the sigmoid's derivative y(1 - y); it is the "
                      "gradient of the linear part only")
        check("dL_dW as gradient of y", dW, dW_sig, gap=no_sigmoid)
        check("dL_dX as gradient of y", dX, dX_sig, gap=no_sigmoid)
        fixed = S.sigmoid_layer_backward(g, W, X, y)
        for name, ours, theirs in zip(("dW", "dX", "db"), fixed, (dW_sig, dX_sig, db_sig)):
            check(f"corrected {name}", ours, theirs)

        # one sample, X 1-D: X.T is X itself
        x1 = X[0]
        _, dW_1, dX_1, db_1 = autograd(x1, True)
        try:
            dW_notes, _ = S.notes_backward(g[0], W, x1)
            problem = ("" if np.shape(dW_notes) == W.shape else
                       f"np.dot(X.T, dL_dy) gave shape {np.shape(dW_notes)}, not {W.shape}")
        except ValueError as err:
            problem = f"np.dot(X.T, dL_dy) raised ValueError ({err})"
        why = problem and (f"known defect in the notes: for 1-D X, X.T is X, so {problem}; "
                           f"dW needs the outer product np.outer(X, dL_dz)")
        checks.append(known_defect(why, component=self.component, variant=self.variant,
                                   dtype=dtype, quantity="dL_dW for 1-D X", sample="X(4,)",
                                   oracle="torch autograd"))
        fixed_1 = S.sigmoid_layer_backward(g[0], W, x1, S.notes_forward(x1, W, b))
        for name, ours, theirs in zip(("dW", "dX", "db"), fixed_1, (dW_1, dX_1, db_1)):
            check(f"corrected {name} for 1-D X", ours, theirs, sample="X(4,)")
        return checks


register(NotesSimpleCNN(), NotesSigmoidSnippet())
