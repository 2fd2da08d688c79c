"""Report generators (``make report``); everything they write goes to ``reports/out/``."""
