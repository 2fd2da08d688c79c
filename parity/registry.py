"""The registry of twin pairs and convention probes.

An entry is anything with ``component``, ``convention``, ``dtypes`` and
``run(dtype) -> list[Check]``.  ``LayerPair`` (parity.layer_pair) covers every
forward/backward component; other kinds (optimizer trajectories, probes) add
their own ``run``.  Modules in ``parity.pairs`` register entries on import.
"""

import importlib
import pkgutil

REGISTRY = []


class Skipped(Exception):
    """An entry cannot run here (e.g. no MNIST files); the message says what to set."""


def register(*entries):
    for entry in entries:
        key = (entry.component, entry.convention)
        if any((e.component, e.convention) == key for e in REGISTRY):
            raise ValueError(f"duplicate registry entry {key}")
        REGISTRY.append(entry)
    return entries[0] if len(entries) == 1 else entries


def load_all():
    """Import every module of ``parity.pairs`` (each registers its entries once)."""
    import parity.pairs as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    return list(REGISTRY)


def entry_id(entry, dtype=None):
    parts = [entry.component, entry.convention] + ([dtype] if dtype else [])
    return "-".join(p.replace(" ", "_") for p in parts)


def find(component, convention):
    for entry in load_all():
        if (entry.component, entry.convention) == (component, convention):
            return entry
    raise KeyError((component, convention))
