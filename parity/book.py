"""Where a component sits in the book, and the book's formula for it.

The chapters below are the book's order of topics (the study pages follow it).
Which chapter a registry entry belongs to lives with the entry, in the module of
``parity.pairs`` that registers it: a module-level ``CHAPTER`` (the key of one
chapter below) and, where one module holds components of several chapters,
``CHAPTER_OF = {component: key}``.  The book's formulas for a component live there
too, as ``FORMULAS = {component: Formula(...)}`` (LaTeX, rendered to MathML by the
study pages).  An entry whose module says nothing is filed under ``OTHER``.
"""

from dataclasses import dataclass

from parity.engine import registry


@dataclass(frozen=True)
class Chapter:
    key: str
    title: str
    book: str  # where in the book (chapter or section numbers)
    note: str = ""  # shown under the chapter heading of the study index


CHAPTERS = (
    Chapter("perceptron", "Perceptron and logic gates", "ch. 2"),
    Chapter("activations", "Activation functions and MNIST", "ch. 3"),
    Chapter("losses", "Loss functions", "ch. 4.2"),
    Chapter("numerical-gradient", "Numerical gradient", "ch. 4.3-4.4",
            note="No component of its own: the float64 backward of every layer and network "
                 "is checked against central differences (parity/engine/gradcheck.py), the "
                 "'finite-diff' rows of their pages."),
    Chapter("backprop", "Affine layer and backpropagation", "ch. 5"),
    Chapter("optimizers", "Optimizers and learning-rate schedules", "ch. 6.1"),
    Chapter("initializers", "Weight initialization", "ch. 6.2"),
    Chapter("batchnorm", "Batch normalization", "ch. 6.3"),
    Chapter("dropout", "Dropout", "ch. 6.4.3"),
    Chapter("regularization", "Weight decay (L1/L2)", "ch. 6.4.2"),
    Chapter("convolution", "Convolution and pooling", "ch. 7"),
    Chapter("networks", "Whole networks", "ch. 5-8"),
    Chapter("notes", "The study notes' code", "notes"),
    Chapter("augmentation", "Data augmentation", "ch. 8.1"),
    Chapter("applications", "Applications: ResNet, Transformer, GAN, policy gradient",
            "ch. 8.4 / notes"),
)
OTHER = Chapter("other", "Other components", "-",
                note="Entries whose module names no chapter (set CHAPTER in it).")
BY_KEY = {c.key: c for c in CHAPTERS + (OTHER,)}


@dataclass(frozen=True)
class Formula:
    """The book's maths for one component, LaTeX (latex2mathml's subset)."""

    forward: str
    backward: str = ""  # empty: no backward (forward only, or an update rule)
    note: str = ""  # one line on what the symbols are


def chapter_of(entry, module):
    """The ``Chapter`` of ``entry``, registered by ``module`` (None: unknown)."""
    key = getattr(entry, "chapter", None)
    key = key or getattr(module, "CHAPTER_OF", {}).get(entry.component)
    key = key or getattr(module, "CHAPTER", None)
    key = key or (module is not None and home_chapter(entry, module))
    if key and key not in BY_KEY:
        raise ValueError(f"{entry.component}: unknown chapter {key!r}; have {sorted(BY_KEY)}")
    return BY_KEY[key] if key else OTHER


def home_chapter(entry, module):
    """For a module that names no chapter (one that adds settings to components registered
    elsewhere, e.g. ``parity.pairs.settings``): the chapter of the component's other
    entries, read from the modules that registered them."""
    for other in registry.REGISTRY:
        home = registry.origin(other)
        if other.component == entry.component and home is not module and home is not None:
            key = getattr(home, "CHAPTER_OF", {}).get(other.component) or getattr(
                home, "CHAPTER", None)
            if key:
                return key
    return None


def formula_of(component, module):
    return getattr(module, "FORMULAS", {}).get(component)
