"""The comparison engine: shape first, then dtype, then values, one tolerance table.

``compare`` returns a ``Check`` -- one row of ``parity.csv`` -- and never raises;
``Check.message`` says what a failing row means in one line a person can act on.
"""

import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from parity.engine.tolerances import Tolerance

# Verdicts.  An expected gap is a documented convention difference that must show;
# a known defect is code kept as published (the study notes) that must still fail.
MATCH, MISMATCH, EXPECTED_GAP, GAP_VANISHED = "match", "MISMATCH", "expected gap", "GAP VANISHED"
KNOWN_DEFECT = "FAILED (known defect)"
# An entry that raised instead of producing checks: one failed row with the explanation.
CRASHED = "CRASHED"
PASSING = (MATCH, EXPECTED_GAP, KNOWN_DEFECT)

CSV_COLUMNS = [
    "component", "variant", "dtype", "quantity",
    "max_abs_err", "max_rel_err", "atol", "rtol", "passed",
    "sample", "oracle", "verdict", "worst_index", "note",
]


@dataclass
class Check:
    component: str = ""
    variant: str = ""
    dtype: str = ""
    quantity: str = ""
    max_abs_err: float = np.nan
    max_rel_err: float = np.nan
    atol: float = np.nan
    rtol: float = np.nan
    passed: bool = False
    sample: str = ""
    oracle: str = "torch"
    verdict: str = MATCH
    worst_index: str = ""
    note: str = ""
    detail: str = field(default="", repr=False)  # worst values, or the shape/dtype problem
    # "k / n": elements outside the tolerance, as torch.testing counts them (not a CSV column)
    mismatched: str = field(default="", repr=False)

    def row(self):
        d = asdict(self)
        return {k: d[k] for k in CSV_COLUMNS}

    def message(self):
        where = f"{self.component} [{self.variant}] {self.dtype} {self.quantity}"
        if self.sample:
            where += f" (sample {self.sample!r}, vs {self.oracle})"
        head = f"{self.verdict}: {where}"
        if np.isnan(self.max_abs_err):
            return f"{head}: {self.detail or self.note}"
        text = (f"{head}: max abs err {self.max_abs_err:.3e}, max rel err {self.max_rel_err:.3e}"
                f" (atol {self.atol:.1e}, rtol {self.rtol:.1e})"
                + (f"; mismatched elements {self.mismatched}" if self.mismatched else "")
                + f"; worst at index {self.worst_index}: {self.detail}")
        return text + (f" -- {self.note}" if self.note else "")


PROJECT = Path(__file__).resolve().parents[2]
SIDES = {"scratch": "the scratch side", "torch_ref": "the torch side",
         "torch": "the torch side"}


def where_raised(err):
    """(which side raised ``err``, where): the side from the innermost frame in scratch/ or
    torch_ref/ (else from the engine's ``scratch_results``/``torch_results`` caller), the
    place as "scratch/layers.py:88 in forward", the innermost frame of this project."""
    frames = list(reversed(traceback.extract_tb(err.__traceback__)))
    ours = [(f, Path(f.filename).resolve()) for f in frames]
    ours = [(f, p.relative_to(PROJECT)) for f, p in ours
            if p.is_relative_to(PROJECT) and ".venv" not in p.parts]
    side = next((SIDES[p.parts[0]] for _, p in ours if p.parts[0] in SIDES), None)
    side = side or next((SIDES[n] for f, _ in ours for n in ("scratch", "torch")
                         if f.name.startswith(n)), "the parity code")
    at = f"{ours[0][1]}:{ours[0][0].lineno} in {ours[0][0].name}" if ours else "a library"
    return side, at


def crash(err, **labels):
    """The row for an entry that raised ``err``: verdict CRASHED, the explanation in the note
    (the CSV's column) -- which side raised what, and where."""
    side, at = where_raised(err)
    text = f"{side} raised {type(err).__name__}: {err} ({at})"
    return Check(max_abs_err=np.nan, max_rel_err=np.nan, passed=False, verdict=CRASHED,
                 quantity="run", note=text, detail=text, **labels)


def _describe(x):
    return f"{x.dtype}{list(x.shape)}"


def compare(actual, expected, tol: Tolerance, *, expected_gap="", **labels):
    """Compare ``actual`` (the side under test) with ``expected`` (the oracle).

    ``expected_gap``: when non-empty, the two are documented to differ (the text
    says why); the check passes only if they really do differ beyond ``tol``.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    base = dict(atol=tol.atol, rtol=tol.rtol, note=expected_gap, **labels)
    problem = ""
    if actual.shape != expected.shape:
        problem = f"shape {_describe(actual)} != expected {_describe(expected)}"
    elif actual.dtype != expected.dtype:
        problem = f"dtype {_describe(actual)} != expected {_describe(expected)}"
    if problem:
        return Check(max_abs_err=np.nan, max_rel_err=np.nan, passed=False,
                     verdict=MISMATCH, detail=problem, **base)

    if np.array_equal(actual, expected):  # fast path, e.g. 47 M identical MNIST pixels
        max_abs, max_rel, within, worst, detail = 0.0, 0.0, True, "", "identical"
        mismatched = f"0 / {actual.size}"
    else:
        max_abs, max_rel, within, worst, detail, mismatched = _value_errors(actual, expected, tol)
    if expected_gap:
        verdict = EXPECTED_GAP if not within else GAP_VANISHED
    else:
        verdict = MATCH if within else MISMATCH
    return Check(max_abs_err=max_abs, max_rel_err=max_rel, passed=verdict in PASSING,
                 verdict=verdict, worst_index=worst, detail=detail, mismatched=mismatched, **base)


def _value_errors(actual, expected, tol):
    """(max abs err, max rel err, within tolerance?, worst index, worst values,
    "k / n (p%)" elements outside the tolerance)."""
    a, b = actual.astype(np.float64), expected.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))  # equal infinities count as equal
    abs_err = np.where(same, 0.0, np.abs(a - b))
    abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
    mag = np.abs(b)
    if tol.normwise:
        scale = mag.max(initial=0.0)
        allowed = np.full_like(abs_err, tol.atol + tol.rtol * scale)
        max_rel = abs_err.max(initial=0.0) / scale if scale > 0 else float(abs_err.max(initial=0))
    else:
        allowed = tol.atol + tol.rtol * mag
        # relative error over elements that the atol does not govern
        big = mag > tol.atol
        max_rel = float((abs_err[big] / mag[big]).max(initial=0.0))
    outside = int(np.count_nonzero(~(abs_err <= allowed)))  # a NaN allowance is outside too
    within = outside == 0
    mismatched = f"{outside} / {a.size}" + (f" ({100 * outside / a.size:.1f}%)" if a.size else "")
    excess = np.divide(abs_err, allowed, out=np.where(abs_err > 0, np.inf, 0.0),
                       where=allowed > 0)
    worst = np.unravel_index(int(np.argmax(excess)), a.shape) if a.size else ()
    detail = f"got {a[worst]!r} expected {b[worst]!r}" if a.size else "empty"
    return (float(abs_err.max(initial=0.0)), float(max_rel), within,
            str(tuple(int(i) for i in worst)), detail, mismatched)
