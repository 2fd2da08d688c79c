"""The section interface: each report section computes, the framework writes.

A section is a function ``ctx -> Result | None`` registered with ``@section``
in a module of ``reports.sections`` (auto-discovered, like ``parity.pairs``).
It returns DataFrames (``Table``) and matplotlib figures (``Figure``); it
writes nothing itself.  The framework writes every table as ``<name>.csv`` and
``<name>.md`` and every figure as ``<name>.png`` (atomically), and index.html
shows each section that returned a Result.  ``None`` means "nothing to report
here" (e.g. no models yet) and leaves the section out of the index.

A new section is ~50 lines::

    @section("accuracy", "Accuracy: models trained on both sides", order=20)
    def accuracy(ctx):
        df = ...                      # one row per model and side
        return Result(tables=[Table("accuracy", df, style=highlight_targets)],
                      figures=[Figure("accuracy_curves", fig)])
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from parity.engine.registry import matches


@dataclass
class Context:
    """What every section may read: where, how long, which subset."""

    out: Path
    full: bool = False  # FULL=1: full-MNIST epochs, longer timing
    select: str | None = None  # run only components/entries whose name contains this
    threads: int = 1  # the one thread count for NumPy's BLAS and torch
    progress: bool = True  # tqdm bars on stderr
    pause_s: float = 0.25  # between NumPy and torch timing blocks (OpenBLAS threads spin)
    rounds: int = 3  # each round times scratch, then torch (ratio spread over rounds)
    timing_blocks: int = 5  # timed blocks per side and round (median and IQR over these)
    block_s: float = 0.01  # seconds per timed block

    def selected(self, name):
        return matches(self.select, name)


@dataclass
class Table:
    """``view`` goes to .md and index.html (styled by ``style``); ``data`` (default: the
    view) goes to .csv.  ``formats`` picks which files are written."""

    name: str
    view: pd.DataFrame
    data: pd.DataFrame | None = None
    style: Callable | None = None  # Styler -> Styler (colours)
    caption: str = ""
    formats: tuple = ("csv", "md")


@dataclass
class Figure:
    name: str
    figure: object  # matplotlib Figure
    caption: str = ""


@dataclass
class Result:
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # lines shown under the title
    problems: list = field(default_factory=list)  # lines shown in red (failures)
    # other files, written as given: {path relative to the output folder: str | bytes}
    # (e.g. the study pages, study/<component>.html)
    files: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    order: int
    run: Callable  # Context -> Result | None


SECTIONS = []


def section(name, title, order=50):
    """Register a section function (used as a decorator)."""
    def register(run):
        if any(s.name == name for s in SECTIONS):
            raise ValueError(f"duplicate report section {name!r}")
        SECTIONS.append(Section(name, title, order, run))
        return run
    return register


def load_sections():
    """Import every module of ``reports.sections``; sections in ``order``."""
    import reports.sections as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    return sorted(SECTIONS, key=lambda s: (s.order, s.name))
