"""`make check`: a learner's own NumPy implementation of the book's API, checked.

``table``     the one table of the book's components: spellings, entries, conventions, defects
``discover``  find them in a folder without running it (ast)
``adapt``     the learner's objects under the engine's protocol (spellings, renames, tuples)
``checks``    one component through the engine: verdict, rows, diagnosis (child side)
``worker``    the child process: import the learner's module in a sandbox folder, check
``run``       the parent: forkserver children, timeouts, many implementations
``report``    terminal table, <name>.{csv,md,html}, the summary of many
``diagnosis`` the catalogue of named bugs, first differences, network bisection
``cli``       ``python -m parity check``

In a notebook::

    from parity import check
    df = check("path/to/my/implementation")   # one row per book component, styled
"""

import sys
import types


def check(path, *, only=None, mapping=None, workers=2, component_timeout=None,
          import_timeout=None):
    """Check the implementation at ``path`` (folder, .py file, or a list of them).

    Returns a pandas DataFrame, one row per book component (verdict, where, diagnosis,
    evidence, location, checks, failed, seconds, notes) that Jupyter shows as the styled
    table; ``df.checks`` holds every check (the CSV's rows), ``df.outcome`` the raw result.
    A list of paths returns the implementation x component summary instead.
    """
    from parity.check import report, run

    kwargs = dict(mapping=mapping, only=only)
    if component_timeout:
        kwargs["component_timeout"] = component_timeout
    if import_timeout:
        kwargs["import_timeout"] = import_timeout
    if isinstance(path, list | tuple):
        outcomes = run.check_many([str(p) for p in path], processes=workers, **kwargs)
        return report.Styled(report.many_summary(outcomes))
    outcome = run.check_implementation(str(path), workers=workers, **kwargs)
    df = report.Styled(report.summary(outcome))
    df.attrs["outcome"] = outcome
    return df


class _CallableModule(types.ModuleType):
    """``from parity import check; check("dir")``: the package itself is the entry point
    (a function named ``check`` in ``parity`` would be shadowed by this package)."""

    def __call__(self, *args, **kwargs):
        return check(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
