"""The rows a results store hands back: a run's summary, its rungs and its task settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RunSummary:
    run_id: str
    created: float
    ladder: str
    status: str
    n_items: int
    config: dict[str, Any]


@dataclass
class StoredRung:
    label: str
    params: int
    path: str
    sha256: str
    n_gpu_layers: int | None
    status: str | None
    error: str | None
    heldout: dict[str, float] | None
    provenance: dict[str, Any] | None = None
    """Host, emergetui and llama.cpp versions, model sha256 (store/provenance.py); None: older
    store.
    """


@dataclass
class StoredTaskSet:
    task: str
    setting: str
    shots: int
    metrics: list[str]
    preferred: str
    chance: dict[str, float]
    not_computed: list[str]
    n_items: int
