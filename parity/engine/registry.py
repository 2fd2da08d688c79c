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
# entry in its module (e.g. the book chapter a study page files it under) is found there.
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
    """Import every module of ``PAIRS_PACKAGE`` (each registers its entries once)."""
    pkg = importlib.import_module(PAIRS_PACKAGE)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    return list(REGISTRY)


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
