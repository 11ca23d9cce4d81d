"""Download progress: emitted by the hub, relayed unchanged by the runner as one of its events.

It lives beside the hub (the layer that produces it) so that the models layer
needs nothing from the run layer above it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DownloadProgress:
    """Byte-level download progress of one rung's files (from the hub)."""

    rung: str
    file: str
    downloaded: int
    total: int | None
    speed_bps: float
    eta_s: float | None
    files_done: int = 0
    files_total: int = 1
    overall_downloaded: int = 0
    overall_total: int | None = 0
