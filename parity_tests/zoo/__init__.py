"""Fixtures for `make check IMPL=DIR`: a clean book-style implementation, planted bugs, variants.

Nothing under this folder is collected by pytest (parity_tests/conftest.py); the zoo's own
tests are parity_tests/test_zoo.py.
"""
