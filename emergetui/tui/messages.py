"""Messages that worker threads post to the UI thread.

Small dataclasses: a worker never touches a widget, it posts one of these and
the screen's handler (on the UI thread) updates the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from emergetui.tui.adapters import LadderChoice, ResultsData, RungRow


@dataclass(eq=False)
class RunPrepared(Message):
    """The experiment is built and the runner is about to start."""

    run_id: str
    ladder: str
    n_rungs: int
    tasks: list[tuple[str, str]]


@dataclass(eq=False)
class RunnerBatch(Message):
    """Runner events (and settled task moments) in the order they happened."""

    items: tuple[object, ...]


@dataclass(eq=False)
class RunEnded(Message):
    """The worker finished iterating the runner (normally, cancelled, or on an error)."""

    run_id: str | None
    cancelled: bool
    error: str | None = None


@dataclass(eq=False)
class LadderRowsReady(Message):
    """Per-rung size, cache and fit information of one ladder (read from disk in a worker)."""

    choice: LadderChoice
    rows: list[RungRow]
    memory_note: str = ""


@dataclass(eq=False)
class ResultsReady(Message):
    run_id: str
    data: ResultsData | None
    error: str | None = None


@dataclass(eq=False)
class ExportDone(Message):
    out_dir: Path
    paths: list[Path]
    error: str | None = None
