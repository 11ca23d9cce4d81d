"""emergetui: an emergence lab in the terminal.

The library's verbs, loaded lazily so that ``import emergetui.analysis`` (or a
front end's ``--help``) does not pay for llama.cpp::

    from emergetui import ExperimentSpec, run, analyze_run, Engine

    doc = run(ExperimentSpec(ladder="toy", limit=50), store="results.sqlite")

``run`` and ``analyze_run`` live in :mod:`emergetui.api`; the rest are the
public classes of their packages.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from emergetui.version import __version__ as __version__

_EXPORTS = {
    "Engine": "emergetui.engine",
    "Scored": "emergetui.engine",
    "Generated": "emergetui.engine",
    "RollingLoss": "emergetui.engine",
    "ExperimentSpec": "emergetui.run.spec",
    "EmergetuiError": "emergetui.errors",
    "run": "emergetui.api",
    "analyze_run": "emergetui.api",
    "analyze": "emergetui.analysis.analyze",
}

__all__ = [
    "EmergetuiError",
    "Engine",
    "ExperimentSpec",
    "Generated",
    "RollingLoss",
    "Scored",
    "analyze",
    "analyze_run",
    "run",
]

if TYPE_CHECKING:  # pragma: no cover
    from emergetui.analysis.analyze import analyze
    from emergetui.api import analyze_run, run
    from emergetui.engine import Engine, Generated, RollingLoss, Scored
    from emergetui.errors import EmergetuiError
    from emergetui.run.spec import ExperimentSpec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emergetui' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
