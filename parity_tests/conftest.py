import pytest

from parity.engine.compare import PASSING
from parity.engine.registry import Skipped
from parity.engine.runner import single_threaded
from parity_tests.helpers import synthetic_mnist


@pytest.fixture(autouse=True, scope="session")
def _single_threaded():
    with single_threaded():
        yield


@pytest.fixture(scope="module")
def synthetic(request):
    """MNIST-shaped random data; a module sets its size with ``SYNTHETIC_IMAGES``."""
    return synthetic_mnist(getattr(request.module, "SYNTHETIC_IMAGES", 200))


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
