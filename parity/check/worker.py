"""The child process side: import one learner module and check its components.

Runs in a process forked from a forkserver that has numpy, torch and the engine
imported already (``parity.check.run``), so a child starts in milliseconds.  The
child works in a temporary folder holding a copy of the learner's ``.py`` files:
whatever the learner's code writes lands there.  Its prints go to a log file.
It reports over a pipe: ("imported", info), ("start", component),
("result", Result) ..., ("done",); the parent kills it past a timeout.
"""

import ast
import builtins
import importlib
import importlib.util
import inspect
import io
import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import torch

from parity.check import checks  # noqa: F401  (imported in the forkserver: children start warm)
from parity.check.checks import CRASHED, NOT_FOUND, Result, check_component
from parity.check.table import BY_NAME
from parity.pairs import conv, models, optimizers  # noqa: F401  (registry content, preloaded)

NUMPY_ALIASES = {"int": int, "float": float, "bool": bool, "object": object, "str": str,
                 "long": int, "unicode": str, "complex": complex}


@dataclass
class Job:
    root: str  # the copy of the implementation
    workdir: str  # cwd of the child
    module: str  # Module.rel
    name: str  # import name
    syspath: list
    components: list  # [(component, qualname)]
    numpy_aliases: list = field(default_factory=list)
    definitions_only: bool = False
    log: str = "learner-output.txt"
    key: int = 0  # which implementation (several are checked in one queue)


def shim_numpy(aliases):
    """np.int & co. were removed in NumPy 1.24; old code still uses them."""
    for alias in aliases:
        if alias in NUMPY_ALIASES and alias not in np.__dict__:
            setattr(np, alias, NUMPY_ALIASES[alias])


def definitions_only(source, filename):
    """The module without its top-level statements: imports, classes, functions and plain
    assignments (constants) are kept; loops, calls, training code are dropped."""
    tree = ast.parse(source, filename=filename)
    keep = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)

    def harmless(node):
        if isinstance(node, keep):
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            return not any(isinstance(n, ast.Call | ast.Lambda | ast.Await)
                           for n in ast.walk(node))
        if isinstance(node, ast.Try):
            return all(harmless(n) for n in node.body)
        return False

    tree.body = [n for n in tree.body if harmless(n)]
    return compile(tree, filename, "exec")


def import_learner(job):
    """Import the module (normally, or its definitions only); (module, seconds)."""
    started = time.perf_counter()
    path = os.path.join(job.root, job.module)
    if not job.definitions_only:
        try:
            module = importlib.import_module(job.name)
        except ModuleNotFoundError as err:
            if err.name and job.name.startswith(err.name):  # not importable by name
                spec = importlib.util.spec_from_file_location(job.name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[job.name] = module
                spec.loader.exec_module(module)
            else:
                raise
        return module, time.perf_counter() - started
    spec = importlib.util.spec_from_file_location(job.name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[job.name] = module
    with open(path, encoding="utf-8", errors="replace") as f:
        code = definitions_only(f.read(), path)
    exec(code, module.__dict__)  # noqa: S102  (the learner's definitions, in a sandbox folder)
    return module, time.perf_counter() - started


def describe_import_error(err, log_tail):
    if isinstance(err, SystemExit):
        return (f"calls exit({err.code!r}) at import" + (f" after printing {log_tail!r}"
                                                          if log_tail else "")
                + ": code at module level runs on every import -- put it under "
                  "if __name__ == '__main__':")
    text = "".join(traceback.format_exception_only(type(err), err)).strip()
    return f"import raised {text}"


def tail(path, n=200):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-n:].strip()
    except OSError:
        return ""


def work(conn, job: Job):
    os.chdir(job.workdir)
    job.log = f"output-of-{job.module.replace('/', '_')}.txt"  # this child's own log
    log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0, closefd=False),
                                  write_through=True)
    sys.stderr = sys.stdout
    sys.stdin = open(os.devnull)  # noqa: SIM115  (input() at import: EOF, not a hang)
    torch.set_num_threads(1)
    shim_numpy(job.numpy_aliases)
    sys.path[:0] = [os.path.normpath(os.path.join(job.root, p)) for p in job.syspath]
    sys.argv = [os.path.join(job.root, job.module)]
    builtins.input = lambda *a: ""  # no waiting for a keyboard
    try:
        module, seconds = import_learner(job)
        conn.send(("imported", {"seconds": seconds, "definitions_only": job.definitions_only}))
    except BaseException as err:  # SystemExit, KeyboardInterrupt from learner code too
        conn.send(("import failed", describe_import_error(err, tail(job.log))))
        if job.definitions_only or not job.components:
            conn.send(("done",))
            return
        job.definitions_only = True
        try:
            module, seconds = import_learner(job)
            conn.send(("imported", {"seconds": seconds, "definitions_only": True}))
        except BaseException as err2:
            conn.send(("import failed", describe_import_error(err2, tail(job.log))))
            conn.send(("done",))
            return
    printed = tail(job.log, 10_000)  # what the import printed (the log is this module's)
    module_note = ""
    if (seconds > 1.0 or printed) and not job.definitions_only:
        module_note = (f"importing {job.module} runs code at module level ({seconds:.1f} s"
                       + (f", {len(printed.splitlines())} lines printed" if printed else "")
                       + "): it runs on every import -- a training run belongs under "
                         "if __name__ == '__main__':")
    for component, qualname in job.components:
        conn.send(("start", component))
        started = time.perf_counter()
        where = f"{job.module}:{qualname}"
        try:
            obj = getattr(module, qualname)
            want_class = BY_NAME[component].kind != "function"
            if inspect.isclass(obj) != want_class:  # e.g. `from functions import sigmoid`
                result = Result(component, NOT_FOUND, evidence=f"{where} is a "
                                f"{'class' if inspect.isclass(obj) else 'function'}, not a "
                                f"{'class' if want_class else 'function'}")
            else:
                result = check_component(component, obj, where)
        except BaseException as err:
            result = Result(component, CRASHED, where, diagnosis="crashed",
                            evidence=f"{type(err).__name__}: {err}")
        result.seconds = time.perf_counter() - started
        if module_note:
            result.notes.append(module_note)
        if job.definitions_only:
            result.notes.append(f"{job.module} could not be imported as written: checked its "
                                "definitions only (module-level statements skipped)")
        if job.numpy_aliases:
            result.notes.append(f"{job.module} uses np.{', np.'.join(job.numpy_aliases)} "
                                "(removed in NumPy 1.24): shimmed to the Python builtins")
        conn.send(("result", result))
    conn.send(("done",))
