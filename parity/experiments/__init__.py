"""Experiments built on the engine: training runs, chapter 6, hyperparameter search, the
book's published weights, benchmarks (see ``parity/__init__.py`` for the module map)."""
