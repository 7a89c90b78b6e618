"""The ``gridgen`` command line: thin handlers over ``gridgen``, ``maps`` and ``api``."""
