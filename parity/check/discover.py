"""Find the book's components in a learner's folder without running any of its code.

Every ``.py`` file is parsed (``ast``): its top-level classes (with their method
names) and functions are matched against the spellings in ``parity.check.table``
(case and underscores ignored; close misspellings via difflib, with a note).
A file that does not parse is kept with its error: the names it seems to define
(by a line scan) are reported as crashed rather than "not found".  Import names
and search paths follow the book's scripts: the implementation root and each
chapter folder's parent on ``sys.path`` (``sys.path.append(os.pardir)``).
"""

import ast
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from parity.check.adapt import norm
from parity.check.table import COMPONENTS

SKIP_DIRS = {"__pycache__", "venv", ".venv", "env", "site-packages", "node_modules", "build",
             "dist", ".git", ".ipynb_checkpoints"}
FUZZY_CUTOFF = 0.85
INHERITS = "<inherits>"
MAX_FILES = 500


@dataclass
class Module:
    rel: str  # path relative to the implementation root, e.g. "common/layers.py"
    name: str  # import name, e.g. "common.layers"
    syspath: list  # folders (relative to the root) put first on sys.path
    classes: dict = field(default_factory=dict)  # name -> set of method names
    functions: set = field(default_factory=set)
    # names bound otherwise at module level (Relu = L.Relu; from x import SGD): their kind is
    # unknown until import; a definition of the same name elsewhere is preferred
    aliases: dict = field(default_factory=dict)  # name -> "assigned" | "imported"
    error: str = ""  # syntax error, when the file does not parse
    numpy_aliases: list = field(default_factory=list)  # np.int, np.float, ... it uses


@dataclass
class Found:
    component: str
    module: str  # Module.rel
    qualname: str
    note: str = ""


@dataclass
class Implementation:
    root: Path
    name: str
    modules: list
    found: dict  # component -> Found
    broken: dict  # component -> (Module.rel, error): defined in a file that does not parse
    looked_for: list = field(default_factory=list)

    def module(self, rel):
        return next(m for m in self.modules if m.rel == rel)


REMOVED_NUMPY = ("int", "float", "bool", "object", "str", "long", "unicode", "complex")
_NP_ALIAS = re.compile(r"\bnp\.(" + "|".join(REMOVED_NUMPY) + r")\b(?!\w)")
_DEF_LINE = re.compile(r"^(class|def)\s+(\w+)", re.M)


def python_files(root):
    if root.is_file():
        return [root]
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            continue
        files.append(path)
    return files[:MAX_FILES]


def import_name(root, path):
    """(import name, sys.path folders relative to root) the way the book's scripts import."""
    rel = path.relative_to(root)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] or [root.name]
    folder = rel.parent
    if all(p.isidentifier() for p in parts):
        name = ".".join(parts)
        syspath = ["."]
    else:
        name = path.stem
        syspath = [str(folder)]
    # the file's own folder (siblings: `from two_layer_net import ...`) and its parent
    # (`sys.path.append(os.pardir)`), unless the folder is a package of its own
    if not (path.parent / "__init__.py").exists() and str(folder) != ".":
        syspath = [str(folder), str(folder.parent)] + syspath
    return name, list(dict.fromkeys(syspath))


def scan_file(root, path):
    rel = str(path.relative_to(root)) if root.is_dir() else path.name
    name, syspath = import_name(root if root.is_dir() else path.parent, path)
    module = Module(rel, name, syspath)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        module.error = f"cannot read: {err}"
        return module
    module.numpy_aliases = sorted(set(_NP_ALIAS.findall(text)))
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as err:
        module.error = f"SyntaxError: {err.msg} (line {err.lineno})"
        for kind, defname in _DEF_LINE.findall(text):
            if kind == "class":
                module.classes[defname] = set()
            else:
                module.functions.add(defname)
        return module
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            module.classes[node.name] = {n.name for n in node.body if isinstance(
                n, ast.FunctionDef | ast.AsyncFunctionDef)}
            if node.bases:  # methods may be inherited: the AST cannot tell
                module.classes[node.name].add(INHERITS)
        elif isinstance(node, ast.FunctionDef):
            module.functions.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        module.aliases.setdefault(n.id, "assigned")
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                if a.name != "*":
                    module.aliases.setdefault(a.asname or a.name, "imported")
    return module


def candidates(component, modules):
    """(score, module, name, note) for every definition that may be ``component``."""
    found = []
    wanted = {norm(component.name)} | {norm(s) for s in component.spellings}
    want_class = component.kind != "function"
    for m in modules:
        names = list(m.classes if want_class else m.functions)
        defined = set(names)
        names += [a for a in m.aliases if a not in m.classes and a not in m.functions]
        for defname in names:
            bound = 2 if defname in defined else 1 if m.aliases.get(defname) == "assigned" else 0
            n = norm(defname)
            if defname == component.name:
                quality, note = 3, ""
            elif n in wanted:
                quality, note = 2, f"{defname} read as {component.name}"
            elif difflib.SequenceMatcher(None, n, norm(component.name)).ratio() >= FUZZY_CUTOFF:
                quality, note = 1, f"{defname} read as {component.name} (closest spelling)"
            else:
                continue
            methods = m.classes.get(defname, set()) if want_class else set()
            has = sum(1 for meth in component.methods if meth in {norm(x) for x in methods}
                      or meth in methods) if want_class else 0
            if (want_class and component.kind == "layer" and defname in defined and not methods
                    & {"forward", "backward", "backword", "forword", "__call__", INHERITS}
                    and not m.error):
                continue  # e.g. a plain container class that shares the name
            if quality == 1 and bound < 2:
                continue  # a close spelling of an imported name: too weak
            in_common = 1 if "common" in Path(m.rel).parts[:-1] else 0
            depth = -len(Path(m.rel).parts)
            found.append(((quality, bound, has, in_common, depth, -len(m.rel)), m, defname,
                          note))
    return sorted(found, key=lambda c: c[0], reverse=True)


def discover(target, mapping=None):
    """An ``Implementation``: the modules of ``target`` (folder or .py file) and, per book
    component, the definition chosen for it.  ``mapping``: {component: "module.Name"}."""
    target = Path(target).resolve()
    root = target if target.is_dir() else target.parent
    modules = [scan_file(target, p) if target.is_dir() else scan_file(target, p)
               for p in python_files(target)]
    found, broken = {}, {}
    for component in COMPONENTS:
        for score, m, defname, note in candidates(component, modules):
            if m.error:
                broken.setdefault(component.name, (m.rel, m.error))
                continue
            others = [c for c in candidates(component, modules) if c[1] is not m][:2]
            if others and others[0][0][0] == score[0]:
                note = (note + "; " if note else "") + (
                    "also defined in " + ", ".join(c[1].rel for c in others) + f"; checked "
                    f"{m.rel}")
            found[component.name] = Found(component.name, m.rel, defname, note)
            broken.pop(component.name, None)
            break
    for component, spec in (mapping or {}).items():
        mod, _, attr = spec.rpartition(".")
        match = [m for m in modules if m.name == mod or m.rel == mod
                 or m.name.endswith("." + mod)]
        if not match:
            raise SystemExit(f"--map {component}={spec}: no module {mod!r} in {target} "
                             f"(modules: {', '.join(m.name for m in modules)})")
        found[component] = Found(component, match[0].rel, attr, f"mapped by --map {spec}")
    name = target.stem if target.is_file() else target.name
    return Implementation(root, name, modules, found, broken)
