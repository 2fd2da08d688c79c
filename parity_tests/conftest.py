import pytest

from parity.engine.compare import PASSING
from parity.engine.registry import Skipped
from parity.engine.runner import single_threaded


@pytest.fixture(autouse=True, scope="session")
def _single_threaded():
    with single_threaded():
        yield


def assert_entry_passes(entry, dtype):
    """Run one registry entry; fail with every failing check's message."""
    try:
        checks = entry.run(dtype)
    except Skipped as why:
        pytest.skip(str(why))
    assert checks, f"{entry.component} [{entry.variant}] {dtype} produced no checks"
    failures = [c.message() for c in checks if c.verdict not in PASSING]
    assert not failures, "\n".join(failures)
    return checks


# parity_tests/zoo/ is learner-style fixture code for `make check` (one file is a deliberate
# syntax error, others train or hang at import): never collect or import it as tests.
collect_ignore = ["zoo"]
