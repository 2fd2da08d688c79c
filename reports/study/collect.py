"""What a study page shows about one component, gathered from the registry and the runs.

``components(entries)`` groups registry entries by component, files each under
its chapter (``parity.book.chapter_of``: data in the module that registered it)
and orders them as the book does.  The numbers come from one parity table
(``parity.csv`` rows) and, when present, the last speed report.
"""

import ast
import inspect
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from parity.book import CHAPTERS, OTHER, chapter_of, formula_of
from parity.engine.compare import EXPECTED_GAP, KNOWN_DEFECT, MATCH
from parity.engine.registry import entry_id, origin, registered_at
from reports.study import code

ROOT = Path(__file__).resolve().parents[2]  # the repository
TESTS = ROOT / "parity_tests"


@dataclass
class Component:
    name: str
    chapter: object  # parity.book.Chapter
    entries: list
    slug: str = ""
    formula: object = None  # parity.book.Formula | None
    rows: dict = field(default_factory=dict)  # reports.study.code.rows
    checks: pd.DataFrame = None  # its parity.csv rows
    not_run: list = field(default_factory=list)  # (variant, why)
    speed: pd.DataFrame = None

    @property
    def verdict(self):
        """'FAIL', 'not run', 'defects' (published code that must keep failing, and does),
        'gaps' (passing, with documented gaps) or 'PASS'."""
        df = self.checks
        if df is None or df.empty:
            return "not run"
        if (~df["passed"]).any():
            return "FAIL"
        if (df["verdict"] == KNOWN_DEFECT).any():
            return "defects"
        return "gaps" if (df["verdict"] == EXPECTED_GAP).any() else "PASS"

    @property
    def gap_count(self):
        return 0 if self.checks is None else int((self.checks["verdict"] == EXPECTED_GAP).sum())

    @property
    def worst_rel_err(self):
        """Worst relative error of the checks that must agree (documented gaps excluded)."""
        if self.checks is None:
            return np.nan
        agree = self.checks[self.checks["verdict"] == MATCH]["max_rel_err"]
        return float(agree.max()) if agree.notna().any() else np.nan


def slugify(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "component"


def components(entries):
    """Components of ``entries`` in the book's order (chapter, then registry order)."""
    by_name = {}
    for entry in entries:
        by_name.setdefault(entry.component, []).append(entry)
    order = {c.key: k for k, c in enumerate(CHAPTERS + (OTHER,))}
    found, slugs = [], set()
    for name, group in by_name.items():
        module = origin(group[0])
        slug = slugify(name)
        while slug in slugs or slug == "index":
            slug += "-"
        slugs.add(slug)
        formula = next((f for e in group if (f := formula_of(name, origin(e)))), None)
        found.append(Component(name, chapter_of(group[0], module), group, slug, formula))
    return sorted(found, key=lambda c: order[c.chapter.key])  # stable: registry order inside


def attach_results(comps, df, skipped, slow_note):
    """Give each component its rows of ``df`` (parity.csv schema) and why entries did not run."""
    for c in comps:
        c.checks = df[df["component"] == c.name]
        ran = set(c.checks["variant"])
        for e in c.entries:
            if e.variant not in ran:
                why = skipped.get(entry_id(e)) or (slow_note if getattr(e, "slow", False)
                                                   else "not in this parity run")
                c.not_run.append((e.variant, why))


def attach_speed(comps, speed):
    """Rows of the speed report named after the component ('Affine [variant]' or the name)."""
    if speed is None:
        return
    for c in comps:
        names = speed["component"].astype(str)
        mine = speed[(names == c.name) | names.str.startswith(c.name + " [")]
        c.speed = mine if len(mine) else None


def verdict_table(checks):
    """Per variant, dtype and oracle: checks, failures, gaps, worst errors, verdict."""
    if checks is None or checks.empty:
        return pd.DataFrame()
    rows = []
    for (variant, dtype, oracle), g in checks.groupby(["variant", "dtype", "oracle"],
                                                      sort=False):
        agree = g[g["verdict"] == MATCH]
        verdict = ("FAIL" if (~g["passed"]).any() else KNOWN_DEFECT
                   if (g["verdict"] == KNOWN_DEFECT).any() else
                   "PASS, documented gaps" if (g["verdict"] == EXPECTED_GAP).any() else "PASS")
        rows.append({"variant": variant, "dtype": dtype, "oracle": oracle, "checks": len(g),
                     "failed": int((~g["passed"]).sum()),
                     "gaps": int((g["verdict"] == EXPECTED_GAP).sum()),
                     "worst abs err": agree["max_abs_err"].max() if len(agree) else np.nan,
                     "worst rel err": agree["max_rel_err"].max() if len(agree) else np.nan,
                     "verdict": verdict})
    return pd.DataFrame(rows)


def gap_table(checks):
    """Every documented difference of the component with the size measured for it."""
    if checks is None or checks.empty:
        return pd.DataFrame()
    gaps = checks[checks["verdict"].isin([EXPECTED_GAP, KNOWN_DEFECT])]
    rows = []
    for (variant, oracle, note, verdict), g in gaps.groupby(
            ["variant", "oracle", "note", "verdict"], sort=False):
        rows.append({"variant": variant, "against": oracle, "kind": verdict,
                     "what differs": note, "quantities": ", ".join(dict.fromkeys(g["quantity"])),
                     "checks": len(g), "dtypes": ", ".join(dict.fromkeys(g["dtype"])),
                     "largest abs gap": g["max_abs_err"].max(),
                     "largest rel gap": g["max_rel_err"].max()})
    return pd.DataFrame(rows)


def failures(checks):
    if checks is None or checks.empty:
        return pd.DataFrame()
    bad = checks[~checks["passed"]]
    return bad[["variant", "dtype", "quantity", "sample", "oracle", "verdict", "max_abs_err",
                "max_rel_err", "atol", "rtol", "worst_index"]]


def registry_lines(entry):
    """(path, line) of the registration: the first line from the ``register(...)`` call on
    that names the entry's variant (its factory call), else the call itself."""
    module = origin(entry)
    if module is None:
        return None
    path = Path(inspect.getsourcefile(module))
    text = path.read_text().splitlines()
    start = registered_at(entry)
    for k in range(max(start, 1), min(start + 40, len(text) + 1)):
        if f'"{entry.variant}"' in text[k - 1]:
            return path, k
    return path, start or 1


@cache
def _test_functions():
    """(path, test name, line, string constants, names) of every test in parity_tests."""
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                strings, names = set(), set()
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        strings.add(sub.value)
                    elif isinstance(sub, ast.Name):
                        names.add(sub.id)
                    elif isinstance(sub, ast.Attribute):
                        names.add(sub.attr)
                found.append((path, node.name, node.lineno, frozenset(strings),
                              frozenset(names)))
    return found


def tests_for(component_name, object_names):
    """Tests of parity_tests that name the component (a string) or its code (a name)."""
    pattern = re.compile(rf"(?<![\w/]){re.escape(component_name)}(?![\w/])", re.IGNORECASE)
    hits = []
    for path, name, line, strings, names in _test_functions():
        if any(pattern.search(s) for s in strings) or names & object_names:
            hits.append((path, name, line))
    return hits


def object_names(comp):
    """Names of the scratch and torch_ref classes and functions behind the component."""
    names = set()
    for e in comp.entries:
        for side in code.SIDES:
            names |= {o.__name__ for o in code.side_objects(e, side)
                      if not code.is_stock_module(o)}
    return names
