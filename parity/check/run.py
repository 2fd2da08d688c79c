"""Check implementations: discovery, isolated children with timeouts, one table of results.

Learner code is input -- it may crash, hang, exit, print, write files or train
at import.  It only ever runs in child processes (``parity.check.worker``) in a
temporary folder holding a copy of its ``.py`` files; the parent kills a child
that passes its import or per-component timeout and carries on with the rest.
"""

import contextlib
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

import pandas as pd

from parity.check.checks import (
    CRASHED,
    NOT_FOUND,
    NOT_IMPORTABLE,
    PASSING_VERDICTS,
    Result,
)
from parity.check.discover import discover
from parity.check.table import COMPONENTS, sample_inputs_hint
from parity.check.worker import Job, work

IMPORT_TIMEOUT = 20.0  # s: a module's import (learners' modules may train at import)
COMPONENT_TIMEOUT = 60.0  # s: one component, all its entries (measured worst: ~5 s)
CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "MPLBACKEND": "Agg"}
_CONTEXT = None


def context():
    """A forkserver that imports numpy, torch and the engine once; children fork from it."""
    global _CONTEXT
    if _CONTEXT is None:
        for k, v in CHILD_ENV.items():  # inherited by the forkserver when it starts
            os.environ.setdefault(k, v)
        _CONTEXT = mp.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["parity.check.worker"])
    return _CONTEXT


@contextlib.contextmanager
def main_script_hidden():
    """The child runs ``parity.check.worker.work`` and never needs ``__main__``; without
    this, multiprocessing re-runs the caller's script in every child (a script calling
    ``check()`` without an ``if __name__ == '__main__'`` guard would recurse)."""
    main = sys.modules.get("__main__")
    hidden = (main is not None and getattr(main, "__spec__", None) is None
              and "__file__" in vars(main))
    saved = vars(main).pop("__file__") if hidden else None
    try:
        yield
    finally:
        if hidden:
            main.__file__ = saved


@dataclass
class ModuleReport:
    module: str
    verdict: str = "imported"
    explanation: str = ""
    seconds: float = 0.0


@dataclass
class Outcome:
    """Everything one implementation's check produced."""

    name: str
    root: str
    results: list = field(default_factory=list)  # Result per component (found or not)
    modules: list = field(default_factory=list)  # ModuleReport per module
    seconds: float = 0.0

    @property
    def discovered(self):
        return [r for r in self.results if r.verdict != NOT_FOUND]

    def exit_code(self):
        if not self.discovered:
            return 2
        return 0 if all(r.verdict.startswith(PASSING_VERDICTS) for r in self.discovered) else 1


def copy_sources(impl, dest):
    """The implementation's .py files, same layout, into ``dest`` (imports run from there)."""
    for m in impl.modules:
        src = impl.root / m.rel if (impl.root / m.rel).exists() else impl.root / Path(m.rel).name
        target = dest / m.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)


def jobs_for(impl, copy_root, workdir):
    by_module = {}
    for f in impl.found.values():
        by_module.setdefault(f.module, []).append((f.component, f.qualname))
    order = [c.name for c in COMPONENTS]
    jobs = []
    for m in impl.modules:
        if m.error:
            continue
        comps = sorted(by_module.get(m.rel, []), key=lambda c: order.index(c[0]))
        jobs.append(Job(str(copy_root), str(workdir), m.rel, m.name, m.syspath, comps,
                        m.numpy_aliases))
    # the modules with the most components first: they take longest
    return sorted(jobs, key=lambda j: -len(j.components))


@dataclass
class Running:
    job: Job
    process: object
    conn: object
    phase: str = "import"
    deadline: float = 0.0
    done: set = field(default_factory=set)


def run_jobs(jobs, workers=2, import_timeout=IMPORT_TIMEOUT,
             component_timeout=COMPONENT_TIMEOUT):
    """Run every job in children, ``workers`` at a time; (results, module reports)."""
    ctx = context()
    queue, running = list(jobs), []
    results, modules = {}, {}

    def start(job):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=work, args=(child, job), daemon=True)
        with main_script_hidden():
            proc.start()
        child.close()
        running.append(Running(job, proc, parent, deadline=time.monotonic() + import_timeout))

    def finish(r):
        running.remove(r)
        r.conn.close()
        r.process.join(timeout=1)
        if r.process.is_alive():
            r.process.kill()
            r.process.join()

    def note_module(r, verdict, explanation="", seconds=0.0):
        rep = modules.setdefault((r.job.key, r.job.module), ModuleReport(r.job.module))
        if verdict != "imported" or rep.verdict == "imported":
            rep.verdict, rep.explanation = verdict, explanation or rep.explanation
        rep.seconds = rep.seconds or seconds

    def resume(r, why):
        """The child is gone (killed or died) in ``r.phase``: verdict for it, rest again."""
        if r.phase == "import":
            note_module(r, NOT_IMPORTABLE, why)
            if r.job.components and not r.job.definitions_only:
                queue.insert(0, Job(**{**r.job.__dict__, "definitions_only": True}))
            else:
                for comp, qualname in r.job.components:
                    results[r.job.key, comp] = Result(comp, CRASHED, f"{r.job.module}:{qualname}",
                                                      diagnosis="not importable", evidence=why)
            return
        comp = r.phase
        qualname = dict(r.job.components)[comp]
        results[r.job.key, comp] = Result(comp, CRASHED, f"{r.job.module}:{qualname}",
                                          diagnosis="crashed", evidence=why)
        rest = [c for c in r.job.components if c[0] not in r.done and c[0] != comp]
        if rest:
            queue.insert(0, Job(**{**r.job.__dict__, "components": rest}))

    while queue or running:
        while queue and len(running) < workers:
            start(queue.pop(0))
        now = time.monotonic()
        for r in [r for r in running if now > r.deadline]:
            what = ("did not finish importing in "
                    f"{import_timeout:.0f} s: an endless loop, waiting for input or data, or a "
                    "training run at module level? Code at module level runs on every import "
                    "-- put it under if __name__ == '__main__':") if r.phase == "import" else (
                f"did not finish in {component_timeout:.0f} s (an endless loop?)")
            r.process.kill()
            finish(r)
            resume(r, what)
        if not running:
            continue
        ready = wait([r.conn for r in running],
                     timeout=max(0.01, min(r.deadline for r in running) - time.monotonic()))
        for conn in ready:
            r = next(x for x in running if x.conn is conn)
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                code = r.process.exitcode if r.process.exitcode is not None else "?"
                finish(r)
                resume(r, f"the process ended abruptly (exit status {code}): os._exit(), a "
                          "crash in a C extension, or running out of memory")
                continue
            kind = msg[0]
            if kind == "imported":
                note_module(r, "imported" if not msg[1]["definitions_only"] else
                            NOT_IMPORTABLE, seconds=msg[1]["seconds"])
                r.phase, r.deadline = "", time.monotonic() + component_timeout
            elif kind == "import failed":
                note_module(r, NOT_IMPORTABLE, msg[1])
                r.deadline = time.monotonic() + import_timeout
            elif kind == "start":
                r.phase, r.deadline = msg[1], time.monotonic() + component_timeout
            elif kind == "result":
                results[r.job.key, msg[1].component] = msg[1]
                r.done.add(msg[1].component)
            elif kind == "done":
                if r.phase == "import":  # import failed for good
                    for comp, qualname in r.job.components:
                        results.setdefault((r.job.key, comp), Result(
                            comp, CRASHED, f"{r.job.module}:{qualname}",
                            diagnosis="not importable",
                            evidence=modules[r.job.key, r.job.module].explanation))
                finish(r)
    return results, modules


def check_implementation(target, workers=2, mapping=None, import_timeout=IMPORT_TIMEOUT,
                         component_timeout=COMPONENT_TIMEOUT, only=None):
    """Discover and check one implementation (folder or file); an ``Outcome``.
    ``only``: check just these book components (names as in the table)."""
    return check_many([target], workers, mapping=mapping, import_timeout=import_timeout,
                      component_timeout=component_timeout, only=only)[0]


def check_many(targets, processes=2, only_by_target=None, mapping=None,
               import_timeout=IMPORT_TIMEOUT, component_timeout=COMPONENT_TIMEOUT, only=None):
    """Several implementations (a course's submissions): one queue of jobs over all of
    them, ``processes`` children at a time; an ``Outcome`` per target, in order.
    ``only_by_target``: {target: components} checks a subset per implementation."""
    only_by_target = only_by_target or {}
    started = time.perf_counter()
    prepared, jobs = [], []
    with tempfile.TemporaryDirectory(prefix="dlfs-check-") as tmp:
        for key, target in enumerate(targets):
            impl = discover(target, mapping)
            chosen = only_by_target.get(target, only)
            wanted = [c for c in COMPONENTS if not chosen or c.name in chosen]
            impl.found = {k: v for k, v in impl.found.items()
                          if any(c.name == k for c in wanted)}
            copy_root, workdir = Path(tmp) / str(key) / "impl", Path(tmp) / str(key) / "work"
            workdir.mkdir(parents=True)
            copy_sources(impl, copy_root)
            for job in jobs_for(impl, copy_root, workdir):
                job.key = key
                jobs.append(job)
            prepared.append((impl, wanted))
        jobs.sort(key=lambda j: -len(j.components))
        results, modules = run_jobs(jobs, processes, import_timeout, component_timeout)
    outcomes = []
    for key, (impl, wanted) in enumerate(prepared):
        outcome = Outcome(impl.name, str(impl.root))
        mods = {m: rep for (k, m), rep in modules.items() if k == key}
        for m in impl.modules:
            if m.error:
                mods[m.rel] = ModuleReport(m.rel, NOT_IMPORTABLE, f"does not compile: {m.error}")
        outcome.modules = [mods[m.rel] for m in impl.modules if m.rel in mods]
        for comp in wanted:
            if (key, comp.name) in results:
                r = results[key, comp.name]
                found = impl.found.get(comp.name)
                if found and found.note:
                    r.notes.insert(0, found.note)
            elif comp.name in impl.broken:
                rel, error = impl.broken[comp.name]
                r = Result(comp.name, CRASHED, rel, diagnosis="not importable",
                           evidence=f"defined in {rel}, which does not compile: {error}")
            else:
                r = Result(comp.name, NOT_FOUND,
                           evidence=f"looked for {sample_inputs_hint(comp.name)}")
            outcome.results.append(r)
        outcome.seconds = (time.perf_counter() - started if len(targets) == 1
                           else sum(r.seconds for r in outcome.results))
        outcomes.append(outcome)
    return outcomes


def to_frame(outcome):
    """One row per check (the CSV), plus one row per component without checks."""
    from parity.engine.compare import CSV_COLUMNS
    rows = []
    for r in outcome.results:
        extra = {"diagnosis": r.diagnosis, "evidence": r.evidence, "location": r.location}
        if r.rows:  # component: the book's name; variant: the twin pair it ran through
            rows += [{k: row.get(k) for k in CSV_COLUMNS} | {
                "component": r.component,
                "variant": row["variant"] if row["component"] == r.component
                else f"{row['component']}: {row['variant']}"} | extra for row in r.rows]
        else:
            rows.append({k: "" for k in CSV_COLUMNS} | {"component": r.component,
                                                        "verdict": r.verdict,
                                                        "passed": r.verdict != CRASHED} | extra)
    return pd.DataFrame(rows, columns=CSV_COLUMNS + ["diagnosis", "evidence", "location"])
