"""One model table and one optimizer table (parity.experiments.tables): each name once.

The names of the tables' entries (model, benchmark and optimizer names) may appear as
a string literal only in the table module; everything else -- the training runs, the
reports, the benches, these tests -- refers to an entry (``tables.MLP.name``).
"""

import ast
from pathlib import Path

from parity.experiments import tables

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("parity", "reports", "bench", "parity_tests")  # bench/: gone, kept if it returns
TABLE_MODULE = Path(tables.__file__).resolve()


def table_names():
    return ({m.name for m in tables.MODELS} | {m.bench_name for m in tables.MODELS}
            | {o.name for o in tables.OPTIMIZERS})


def string_literals(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


# The book's API as learners type it: class names such as SGD or SimpleConvNet that happen
# to equal table names.  ``make check`` (parity/check/, whose component table is that API's
# one table), the zoo of learner implementations and the checker's tests speak it as
# learners type it.
LEARNER_API = tuple(ROOT / p for p in (
    "parity/check", "parity_tests/zoo", "parity_tests/test_zoo.py",
    "parity_tests/test_check.py", "parity_tests/test_diagnosis.py"))


def spelled_outside_the_table(names, root=ROOT):
    """'path:line: literal' for every string literal equal to one of ``names``."""
    found = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            if path.resolve() == TABLE_MODULE or any(
                    p == path or p in path.parents for p in LEARNER_API):
                continue
            found += [f"{path.relative_to(root)}:{line}: {value!r}"
                      for line, value in string_literals(path) if value in names]
    return found


def test_no_model_or_optimizer_name_is_spelled_outside_its_table():
    assert spelled_outside_the_table(table_names()) == []


def test_each_name_is_spelled_once_in_the_table():
    literals = [value for _, value in string_literals(TABLE_MODULE)]
    assert all(literals.count(name) <= 1 for name in table_names())
    assert len({m.name for m in tables.MODELS}) == len(tables.MODELS)
    assert len({o.name for o in tables.OPTIMIZERS}) == len(tables.OPTIMIZERS)


def test_the_scan_finds_a_second_spelling(tmp_path):
    """A second table of runs, keyed by a model's name, is found (and nothing else)."""
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "runs.py").write_text(
        f"RUNS = {{{tables.MLP.name!r}: {tables.SGD.name!r}}}\nNOTE = 'an MLP'\n")
    assert spelled_outside_the_table(table_names(), tmp_path) == [
        f"reports/runs.py:1: {tables.MLP.name!r}", f"reports/runs.py:1: {tables.SGD.name!r}"]


def test_every_model_names_its_run_optimizers_and_input():
    for model in tables.MODELS:
        assert model.optimizer in tables.OPTIMIZERS
        assert set(model.runs) <= set(tables.OPTIMIZERS)
        assert model.input_shape in ((784,), (1, 28, 28))
