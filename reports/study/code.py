"""Find the code behind a registry entry, per side, and line it up method by method.

An entry builds its two sides with factories (``entry.scratch``, ``entry.torch``;
for entries without them, the code their ``run`` calls).  The classes and
functions shown are found from the code itself, never from a list:

1. the names a factory's source refers to (``S.Affine``, a closure's
   ``scratch_cls``), resolved through its globals and closure -- a factory that is
   itself a lambda of the registry is followed one level further;
2. the type of the object the factory builds, for the entries whose factories
   the study knows how to call (layer pairs: params; optimizer pairs: lr, weight decay).

Scratch code is what lives in ``scratch``; twin code what lives in ``torch_ref``,
plus stock ``torch.nn`` modules the twin is (their ``forward`` only).
"""

import ast
import builtins
import dis
import inspect
import textwrap
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import torch

from parity.engine.optim_pair import param_groups

SIDES = {"scratch": ("scratch",), "torch": ("torch_ref",)}
STOCK = ("torch.",)  # torch's own modules: shown by their forward only
# The rows a page lines up: which method names play which part on either side.
ROLES = {"__init__": "construction", "forward": "forward", "__call__": "forward",
         "predict": "forward", "update": "update", "step": "update", "backward": "backward",
         "gradient": "backward"}
ROW_ORDER = ("construction", "function", "forward", "backward", "update", "helpers")
ROW_TITLES = {"construction": "construction", "function": "functions", "forward": "forward",
              "backward": "backward", "update": "update (one optimizer step)",
              "helpers": "helpers"}


@dataclass(frozen=True)
class Block:
    """One function or method to show: where it is and its source."""

    title: str  # "Affine.forward", "def std_init"
    role: str  # one of ROW_ORDER
    source: str
    path: str  # file it lives in
    line: int


def in_package(obj, packages):
    module = getattr(obj, "__module__", "") or ""
    return any(module == p or module.startswith(p + ".") for p in packages)


def is_stock_module(obj):
    return (inspect.isclass(obj) and issubclass(obj, torch.nn.Module)
            and in_package(obj, ("torch",)))


def referenced(fn, depth=2):
    """Classes and functions the code of ``fn`` names (``S.Affine``, a closure's
    ``scratch_cls``), resolved through its globals and closure.  Read from the
    bytecode, so a lambda in the middle of a multi-line call works too; nested
    lambdas (``batchnorm=lambda n: ...``) are read with the same globals."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    scope = dict(vars(builtins)) | dict(getattr(fn, "__globals__", {}))
    if inspect.isfunction(fn):
        scope |= inspect.getclosurevars(fn).nonlocals
    found = []
    for obj in _names_in(code, scope):
        # a registry-side helper (a lambda or function of parity.*): follow it
        if depth and inspect.isfunction(obj) and in_package(obj, ("parity",)):
            found += referenced(obj, depth - 1)
        elif inspect.isclass(obj) or inspect.isfunction(obj):
            found.append(obj)
    return found


def _names_in(code, scope):
    current = None
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_DEREF", "LOAD_NAME", "LOAD_CLASSDEREF"):
            current = scope.get(ins.argval)
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and current is not None:
            current = getattr(current, ins.argval, None)
        else:
            current = None
            continue
        if current is not None:
            yield current
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _names_in(const, scope)


def factories(entry, side):
    """The callables that build ``side`` of ``entry``: its attribute, else a field's."""
    fn = getattr(entry, side, None)
    if callable(fn):
        return [fn]
    if is_dataclass(entry):
        for f in fields(entry):
            fn = getattr(getattr(entry, f.name), side, None)
            if callable(fn):
                return [fn]
    return []


def built(entry, side):
    """Build ``side`` of a layer or optimizer pair with its own factory; [] otherwise."""
    try:
        if hasattr(entry, "init_params") and hasattr(entry, "sample_list"):  # LayerPair
            params = entry.init_params(np.random.default_rng(0))
            return [entry.scratch(params) if side == "scratch" else entry.torch(params)]
        if hasattr(entry, "trajectories"):  # OptimizerPair
            if side == "scratch":
                return [entry.scratch(entry.lr, 0.0)]
            weight = torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64))
            return [entry.torch(param_groups([("W1", weight)], 0.0), entry.lr)]
    except Exception:  # a factory that needs more than the study can give: skip building
        return []
    return []


def side_objects(entry, side):
    """Classes and functions of ``side`` behind ``entry``, in order of appearance."""
    packages = SIDES[side]
    candidates = []
    makers = factories(entry, side)
    for fn in makers:
        candidates += [fn] if in_package(fn, packages) else referenced(fn)
    if not makers:  # the entry runs the two sides itself: what its methods call
        for _, method in inspect.getmembers(type(entry), inspect.isfunction):
            if in_package(method, ("parity",)):
                candidates += referenced(method, depth=0)
    for obj in built(entry, side):
        if type(obj) in (torch.nn.Sequential, torch.nn.ModuleList):  # a stock container:
            candidates += [type(child) for child in obj.children()]  # what it chains
        else:
            candidates.append(type(obj))
    keep = []
    for obj in candidates:
        wanted = in_package(obj, packages) or (side == "torch" and is_stock_module(obj))
        exception = inspect.isclass(obj) and issubclass(obj, BaseException)  # S.SomeError
        if wanted and obj not in keep and not exception:
            keep.append(obj)
    return keep


def _source(obj):
    try:
        lines, start = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        return None
    return textwrap.dedent("".join(lines)), start


def _without_docstring(source):
    lines = source.splitlines(keepends=True)
    try:
        body = ast.parse(source).body[0].body
    except (SyntaxError, IndexError, AttributeError):
        return source
    first = body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        del lines[first.lineno - 1:first.end_lineno]
    return "".join(lines)


def blocks(obj, packages):
    """The blocks of one class (its methods and those inherited from ``packages``) or function."""
    path = inspect.getsourcefile(obj) or ""
    if inspect.isfunction(obj):
        found = _source(obj)
        # A capitalised function stands in for a class (torch_ref's Affine(...) returns
        # the stock modules): it sits next to the other side's __init__.
        role = "construction" if obj.__name__[:1].isupper() else "function"
        return [Block(f"def {obj.__name__}", role, found[0], path, found[1])] if found else []
    out = []
    stock = not in_package(obj, packages)
    seen = set()
    for klass in obj.__mro__:
        if klass is object or (not stock and not in_package(klass, packages)):
            break
        for name, member in vars(klass).items():
            if name in seen or not inspect.isfunction(member):
                continue
            if stock and name not in ("forward", "step"):
                continue
            seen.add(name)
            found = _source(member)
            if found and stock:  # torch's docstrings are its API docs: the code is the point
                found = (_without_docstring(found[0]), found[1])
            if found:
                where = klass.__name__ if klass is obj else f"{klass.__name__} (inherited)"
                where = f"torch.nn.{where}" if stock else where
                out.append(Block(f"{where}.{name}", ROLES.get(name, "helpers"), found[0],
                                 inspect.getsourcefile(member) or path, found[1]))
        if stock:
            break  # stock torch: the module's own forward, not the library's internals
    order = {role: k for k, role in enumerate(ROW_ORDER)}
    return sorted(out, key=lambda b: order[b.role])


def rows(entries):
    """``{role: {side: [Block]}}`` over every entry of one component, each block once."""
    table = {role: {side: [] for side in SIDES} for role in ROW_ORDER}
    for side, packages in SIDES.items():
        objects = []
        for entry in entries:
            objects += [o for o in side_objects(entry, side) if o not in objects]
        seen = set()
        for obj in objects:
            for b in blocks(obj, packages):
                key = (b.path, b.line)
                if key not in seen:
                    seen.add(key)
                    table[b.role][side].append(b)
    return {role: sides for role, sides in table.items() if any(sides.values())}
