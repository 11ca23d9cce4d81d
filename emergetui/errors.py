"""The one family of errors a user can see.

Every failure that is the user's to fix (a bad file, a bad choice, a model that
will not load, an unreadable store) derives from :class:`EmergetuiError`, so
each front end catches exactly one class: the batch CLI prints it as one line
and exits with :attr:`EmergetuiError.exit_code`, the lab shows it in the run
log. Anything else escaping the core is a bug and keeps its traceback.
This module imports nothing, so every layer (the engine included) may use it.
"""

from __future__ import annotations


class EmergetuiError(Exception):
    """A user-facing failure, printed as one line."""

    exit_code = 2


class SpecError(EmergetuiError, ValueError):
    """An experiment's choices are wrong (unknown rung, bad shot count, unreadable corpus)."""


class CliError(EmergetuiError):
    """A command line that cannot be acted on (bad syntax, no terminal for the lab)."""


class StoreError(EmergetuiError, RuntimeError):
    """The results store cannot be opened, read or written; the message names the file."""


class RecordsError(EmergetuiError, ValueError):
    """A per-item records file (``emergetui export``'s JSONL) that cannot be read; the message
    names the file, the line and the field."""
