"""Correct implementations written the ways hand-typed copies of the book vary.

Each Variant is a folder for the checker's discovery tests: ``expect_found`` the book names of
the components the checker must find (and pass), ``expect_notes`` substrings its report should
contain, ``hostile`` what a hostile module in the folder does at import ("hang", "syntax",
"exit", "write"; "" for none) -- the checker must survive it and still check the folder's other
files.

A variant's hand-written files are parity_tests/zoo/variants/<name>/.  ``derived`` files are
the clean implementation's own code laid out or spelled another way (one class per file,
everything in one file, w for W, np.float): ``materialize`` writes them from clean/ at test
time, as bugs.py writes the planted bugs, so the zoo keeps one copy of each layer.

NumPy-free and torch-free, like bugs.py.
"""

from __future__ import annotations

import ast
import io
import shutil
import tokenize
from dataclasses import dataclass
from pathlib import Path

from parity_tests.zoo.bugs import CLEAN

VARIANTS_DIR = Path(__file__).with_name("variants")
# where derived files find the functions and classes they name (top-level names are unique)
CLEAN_MODULES = ("common/functions.py", "common/layers.py", "common/optimizer.py",
                 "common/util.py")


@dataclass(frozen=True)
class Derived:
    """A file written from clean/: ``pieces``, top-level functions and classes of clean/ by
    name, below ``import numpy as np``; then each identifier of ``renames`` (old, new)
    renamed -- names only, comments and strings stay -- and each ``edits`` (old, new) applied
    where ``old`` occurs exactly once.  No pieces: an empty file (a package's __init__.py)."""

    pieces: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()
    edits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Variant:
    name: str
    expect_found: tuple[str, ...]
    expect_notes: tuple[str, ...] = ()
    hostile: str = ""
    doc: str = ""
    derived: tuple[tuple[str, Derived], ...] = ()  # (path in the folder, how it is written)


VARIANTS: tuple[Variant, ...] = (
    Variant("flat_file",
            ("softmax", "cross_entropy_error", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
             "SGD"),
            doc="one layers.py, no common/ package",
            derived=(("layers.py", Derived(("softmax", "cross_entropy_error", "sigmoid", "Relu",
                                            "Sigmoid", "Affine", "SoftmaxWithLoss", "SGD"))),)),
    Variant("mylib", ("Relu", "Affine", "SoftmaxWithLoss", "SGD"),
            doc="one class per file in mylib/ (no __init__.py) instead of common/",
            derived=(("mylib/relu.py", Derived(("Relu",))),
                     ("mylib/affine.py", Derived(("Affine",))),
                     ("mylib/softmax_with_loss.py",
                      Derived(("softmax", "cross_entropy_error", "SoftmaxWithLoss"))),
                     ("mylib/sgd.py", Derived(("SGD",))))),
    Variant("class_case_a", ("Relu", "SoftmaxWithLoss"), ("ReLU", "softmaxWithLoss"),
            doc="class names ReLU and softmaxWithLoss"),
    Variant("class_case_b", ("Relu", "SoftmaxWithLoss"), ("relu", "Softmax_with_loss"),
            doc="class names relu and Softmax_with_loss"),
    Variant("attr_lower", ("Affine",), ("dw",),
            doc="Affine keeps its weights in w and the gradient in dw",
            derived=(("layers.py", Derived(("Affine",), renames=(("W", "w"), ("dW", "dw")))),)),
    Variant("attr_underscore", ("Affine",), ("d_W",),
            doc="Affine's gradients are d_W and d_b",
            derived=(("layers.py", Derived(("Affine",), renames=(("dW", "d_W"), ("db", "d_b")))),)),
    Variant("keyword_renames", ("SGD", "Momentum", "Pooling"), ("learning_rate", "padding"),
            doc="SGD(learning_rate=), Momentum(learning_rate=), Pooling(..., padding=); the "
                "pooling is written with loops (and -inf padding)",
            derived=(("optimizer.py", Derived(("SGD", "Momentum"),
                                              renames=(("lr", "learning_rate"),))),)),
    Variant("backword", ("Relu", "Sigmoid"), ("backword",),
            doc="Relu's backward method is spelled backword; the math is right"),
    Variant("loss_tuple", ("SoftmaxWithLoss",), ("tuple",),
            doc="SoftmaxWithLoss.forward returns (y, loss)"),
    Variant("affine_takes_weights", ("Affine",), ("forward(x, W, b)",),
            doc="Affine() holds no weights: forward(x, W, b)"),
    Variant("optimizer_step", ("SGD", "Adam"), ("step",),
            doc="SGD(params, lr).step(grads) and the book's Adam as Adam(params, lr).step(grads)"),
    Variant("trains_at_import", ("Relu", "Affine", "SoftmaxWithLoss"), ("import",),
            doc="train_net.py trains 3000 steps with prints at module level (no __main__ "
                "guard): slow and noisy, but correct"),
    Variant("clashing_packages", ("Relu", "Affine", "Sigmoid"), ("layers",),
            doc="a package common/ with common/layers.py and a top-level package layers/: "
                "'import layers' depends on sys.path order",
            derived=(("common/__init__.py", Derived(())),
                     ("common/layers.py", Derived(("Relu", "Affine"))),
                     ("layers/__init__.py", Derived(("sigmoid", "Sigmoid"))))),
    Variant("old_numpy", ("Relu", "Affine"), ("np.float",),
            doc="np.float at module level and np.int in Affine.forward: AttributeError on "
                "NumPy >= 1.24 unless the checker shims them",
            derived=(("layers.py", Derived(
                ("Relu", "Affine"),
                edits=(("import numpy as np\n", "import numpy as np\n\nDTYPE = np.float\n"),
                       ("out = x.copy()", "out = x.astype(DTYPE)"),
                       ("x = x.reshape(x.shape[0], -1)",
                        "x = x.reshape(np.int(x.shape[0]), -1)")))),)),
    Variant("hostile_loop", ("Relu",), hostile="hang",
            doc="wait_for_data.py is `while True: pass` at import"),
    Variant("hostile_syntax", ("Relu",), hostile="syntax",
            doc="half_typed.py does not compile (excluded from ruff)"),
    Variant("hostile_exit", ("Relu",), hostile="exit",
            doc="check_version.py prints and calls exit() at import"),
    Variant("hostile_writes", ("Relu",), hostile="write",
            doc="log_run.py appends import_log.txt next to itself and in the cwd at import"),
)

BY_NAME = {variant.name: variant for variant in VARIANTS}


def clean_sources() -> dict[str, str]:
    """Every top-level function and class of CLEAN_MODULES by name: its source lines."""
    found = {}
    for module in CLEAN_MODULES:
        source = (CLEAN / module).read_text(encoding="utf-8")
        lines = source.splitlines(keepends=True)
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                if node.name in found:
                    raise ValueError(f"{node.name} is defined twice in clean/")
                found[node.name] = "".join(lines[node.lineno - 1:node.end_lineno])
    return found


def rename(source: str, renames) -> str:
    """``source`` with each identifier ``old`` of renames spelled ``new`` (tokens, so a
    comment or a string that says W keeps it); every ``old`` must occur."""
    names = dict(renames)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    missing = set(names) - {tok.string for tok in tokens if tok.type == tokenize.NAME}
    if missing:
        raise ValueError(f"nothing to rename: {sorted(missing)}")
    return tokenize.untokenize(
        tok._replace(string=names.get(tok.string, tok.string)) if tok.type == tokenize.NAME
        else tok for tok in tokens)


def derived_text(derived: Derived, sources: dict[str, str]) -> str:
    """The file a Derived describes (no comment about the variant: the checker reads the
    source, and a comment that says np.float would pass for the code that uses it)."""
    text = ""
    if derived.pieces:
        text = "import numpy as np\n\n\n" + "\n\n".join(sources[name]
                                                      for name in derived.pieces)
    if derived.renames:
        text = rename(text, derived.renames)
    for old, new in derived.edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{old!r} occurs {count} times, not once")
        text = text.replace(old, new)
    return text


def materialize(variant: Variant, dest) -> Path:
    """Write variant's folder to dest (which must not exist): its hand-written files, then
    its derived ones; return dest."""
    dest = Path(dest)
    folder = VARIANTS_DIR / variant.name
    if folder.is_dir():
        shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        dest.mkdir(parents=True)
    sources = clean_sources() if variant.derived else {}
    for path, derived in variant.derived:
        target = dest / path
        if target.exists():
            raise ValueError(f"{variant.name}: {path} is both hand-written and derived")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(derived_text(derived, sources), encoding="utf-8")
    return dest


def materialize_all(dest_root) -> list[Path]:
    """Write every variant as dest_root/<name>/ (dest_root is created if needed)."""
    root = Path(dest_root)
    root.mkdir(parents=True, exist_ok=True)
    return [materialize(variant, root / variant.name) for variant in VARIANTS]
