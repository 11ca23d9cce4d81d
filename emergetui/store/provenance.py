"""Where a rung's results came from: which machine, which emergetui, which llama.cpp, which file.

A ladder split over machines (``emergetui merge``) puts rungs computed on
different hosts, perhaps with different llama.cpp builds, into one curve.
Each rung row therefore carries this record, written when the rung is set
up, so a report can say where every point came from and a merge can tell an
old store (no record) from a new one.

Versions are read from the installed packages' metadata: llama.cpp is not
imported here, since the store is also read on machines without it.
"""

from __future__ import annotations

import importlib.metadata
import socket
from typing import Any

from emergetui.version import __version__

UNKNOWN = "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN


def emergetui_version() -> str:
    return __version__


def llama_cpp_version() -> str:
    """llama-cpp-python's version, which pins the vendored llama.cpp (and ggml-rpc protocol)."""
    v = _version("llama_cpp_python")
    return f"llama-cpp-python {v}" if v != UNKNOWN else UNKNOWN


def current(model_sha256: str) -> dict[str, Any]:
    """This process's provenance for a rung scored from the file with ``model_sha256``.

    No timestamp: the same rung scored twice on one machine has the same
    provenance, so run documents stay comparable (and a rerun is idempotent).
    """
    return {
        "host": socket.gethostname(),
        "emergetui": emergetui_version(),
        "llama_cpp": llama_cpp_version(),
        "model_sha256": model_sha256,
    }


def unknown(model_sha256: str) -> dict[str, Any]:
    """What a rung from a store written before provenance was recorded gets when merged anyway."""
    return {
        "host": UNKNOWN,
        "emergetui": UNKNOWN,
        "llama_cpp": UNKNOWN,
        "model_sha256": model_sha256,
    }


def describe(p: dict[str, Any] | None) -> str:
    """One line for reports and ``merge`` output."""
    if not p:
        return "provenance unknown (store from an older emergetui)"
    return (
        f"{p.get('host', UNKNOWN)}, emergetui {p.get('emergetui', UNKNOWN)}, "
        f"{p.get('llama_cpp', UNKNOWN)}"
    )
