"""Correct implementations written the ways hand-typed copies of the book vary.

Each Variant is a folder of parity_tests/zoo/variants/ for the checker's discovery tests:
``expect_found`` the book names of the components the checker must find (and pass),
``expect_notes`` substrings its report should contain, ``hostile`` what a hostile module in the
folder does at import ("hang", "syntax", "exit", "write"; "" for none) -- the checker must
survive it and still check the folder's other files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VARIANTS_DIR = Path(__file__).with_name("variants")


@dataclass(frozen=True)
class Variant:
    name: str
    expect_found: tuple[str, ...]
    expect_notes: tuple[str, ...] = ()
    hostile: str = ""
    doc: str = ""


VARIANTS: tuple[Variant, ...] = (
    Variant("flat_file",
            ("softmax", "cross_entropy_error", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
             "SGD"),
            doc="one layers.py, no common/ package"),
    Variant("mylib", ("Relu", "Affine", "SoftmaxWithLoss", "SGD"),
            doc="one class per file in mylib/ (no __init__.py) instead of common/"),
    Variant("class_case_a", ("Relu", "SoftmaxWithLoss"), ("ReLU", "softmaxWithLoss"),
            doc="class names ReLU and softmaxWithLoss"),
    Variant("class_case_b", ("Relu", "SoftmaxWithLoss"), ("relu", "Softmax_with_loss"),
            doc="class names relu and Softmax_with_loss"),
    Variant("attr_lower", ("Affine",), ("dw",),
            doc="Affine keeps its weights in w and the gradient in dw"),
    Variant("attr_underscore", ("Affine",), ("d_W",),
            doc="Affine's gradients are d_W and d_b"),
    Variant("keyword_renames", ("SGD", "Momentum", "Pooling"), ("learning_rate", "padding"),
            doc="SGD(learning_rate=), Momentum(learning_rate=), Pooling(..., padding=); the "
                "pooling is written with loops (and -inf padding)"),
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
                "'import layers' depends on sys.path order"),
    Variant("old_numpy", ("Relu", "Affine"), ("np.float",),
            doc="np.float at module level and np.int in Affine.forward: AttributeError on "
                "NumPy >= 1.24 unless the checker shims them"),
    Variant("hostile_loop", ("Relu",), hostile="hang",
            doc="wait_for_data.py is `while True: pass` at import"),
    Variant("hostile_syntax", ("Relu",), hostile="syntax",
            doc="half_typed.py does not compile (excluded from ruff)"),
    Variant("hostile_exit", ("Relu",), hostile="exit",
            doc="check_version.py prints and calls exit() at import"),
    Variant("hostile_writes", ("Relu",), hostile="write",
            doc="log_run.py appends import_log.txt next to itself and in the cwd at import"),
)
