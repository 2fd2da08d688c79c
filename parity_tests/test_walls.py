"""The architecture's walls, checked on the source: scratch/ never imports torch,
torch_ref/ never imports scratch, and no comparison drives backward with ones."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield path, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield path, [node.module]


@pytest.mark.parametrize("package,forbidden", [
    ("scratch", "torch"), ("torch_ref", "scratch"),
    # the engine is what experiments and registry content are built on, never the reverse
    ("parity/engine", "parity.experiments"), ("parity/engine", "parity.pairs"),
    ("parity/engine", "parity.cli"),
])
def test_package_does_not_import(package, forbidden):
    offenders = [f"{p.relative_to(ROOT)}: {m}" for p, names in imported_modules(package)
                 for m in names if m == forbidden or m.startswith(forbidden + ".")]
    assert not offenders, f"{package}/ must not import {forbidden}: {offenders}"


# Patterns built from parts so this file does not match itself.
UPSTREAM_OF_ONES = re.compile(
    r"\.(sum|mean)\(\)\s*\.\s*backward\(|backward\(\s*(np|torch)\.ones(_like)?\b"
    r"|backward\(\s*1(\.0)?\s*\)")


def test_no_backward_is_driven_by_sum_mean_or_ones():
    hits = []
    for package in ("parity", "parity_tests", "reports"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == Path(__file__).name:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if UPSTREAM_OF_ONES.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "use a random upstream gradient:\n" + "\n".join(hits)
