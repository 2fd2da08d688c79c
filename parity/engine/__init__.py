"""The comparison engine: registry, pairs, probes, compare, one tolerance table, one input
source, finite differences, weight transfer, runner.  Never imports ``parity.experiments``
or ``parity.pairs`` (see ``parity/__init__.py`` for the module map)."""
