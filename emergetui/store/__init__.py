"""The results store: the one package that opens SQLite.

Every table of a run's file is defined and migrated here (``schema``): the run,
rung, task-set and item rows the runner writes (``results``), the probe pass's
per-layer rows (``probes``), the model-file hash cache, and the merge of stores
of one experiment (``merge``); ``provenance`` is the record each rung row keeps
of where it was computed. Nothing outside this package imports ``sqlite3``
(an import-linter contract): every other module reads and writes through
:class:`~emergetui.store.results.Store`.
"""
