"""The registry of twin pairs and convention probes.

An entry is anything with ``component``, ``variant``, ``dtypes`` and
``run(dtype) -> list[Check]``.  ``LayerPair`` (parity.engine.layer_pair) covers every
forward/backward component; other kinds (optimizer trajectories, probes) add
their own ``run``.  Modules in ``parity.pairs`` register entries on import.
"""

import importlib
import pkgutil
import sys

REGISTRY = []
# (component, variant) -> (module name, line) of the register() call: what lives with an
# entry in its module (e.g. the book chapter a study page files it under) is found there,
# and entries are ordered by it.
ORIGIN = {}


class Skipped(Exception):
    """An entry cannot run here (e.g. no MNIST files); the message says what to set."""


def register(*entries):
    for entry in entries:
        key = (entry.component, entry.variant)
        if any((e.component, e.variant) == key for e in REGISTRY):
            raise ValueError(f"duplicate registry entry {key}")
        REGISTRY.append(entry)
        caller = sys._getframe(1)
        ORIGIN[key] = (caller.f_globals.get("__name__", ""), caller.f_lineno)
    return entries[0] if len(entries) == 1 else entries


# The registry's content: a plugin package, imported by name so that the engine never
# imports the experiments the entries are built on (the walls test checks that).
PAIRS_PACKAGE = "parity.pairs"


def load_all():
    """Import every module of ``PAIRS_PACKAGE`` (each registers its entries once).

    Entries come in the modules' alphabetical order, then in registration order --
    whichever module some other import pulled in first (the report's sections import
    a few), so ``make parity`` and ``make report`` write parity.csv rows alike."""
    pkg = importlib.import_module(PAIRS_PACKAGE)
    names = sorted(info.name for info in pkgutil.iter_modules(pkg.__path__))
    for name in names:
        importlib.import_module(f"{pkg.__name__}.{name}")
    rank = {f"{pkg.__name__}.{name}": i for i, name in enumerate(names)}
    return sorted(REGISTRY, key=lambda e: rank.get(ORIGIN[(e.component, e.variant)][0],
                                                   len(rank)))


def normalized(name):
    """Names as printed ("book weights: ch03 MLP") and as ids ("book_weights:_ch03_MLP")
    compare equal: lower case, underscores read as spaces."""
    return name.lower().replace("_", " ")


def matches(select, name):
    """``-k``: ``name`` contains ``select`` (either spelling, any case); no select: all."""
    return not select or normalized(select) in normalized(name)


def origin(entry):
    """The module that registered ``entry`` (its ``sys.modules`` entry), or None."""
    return sys.modules.get(ORIGIN.get((entry.component, entry.variant), ("", 0))[0])


def registered_at(entry):
    """Line of the ``register(...)`` call that registered ``entry`` in ``origin(entry)``."""
    return ORIGIN.get((entry.component, entry.variant), ("", 0))[1]


def entry_id(entry, dtype=None):
    parts = [entry.component, entry.variant] + ([dtype] if dtype else [])
    return "-".join(p.replace(" ", "_") for p in parts)


def find(component, variant):
    for entry in load_all():
        if (entry.component, entry.variant) == (component, variant):
            return entry
    raise KeyError((component, variant))
