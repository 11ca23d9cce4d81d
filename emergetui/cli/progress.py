"""Showing runner events in the batch mode: rich progress bars on a terminal, plain lines otherwise.

Both write to stderr so that stdout carries only results (and, with --json,
only the JSON document).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Protocol, TextIO

from emergetui.fmt import fmt_bytes as _fmt_bytes
from emergetui.run import events as ev
from emergetui.run.describe import describe

if TYPE_CHECKING:
    from rich.progress import TaskID


class Display(Protocol):
    def handle(self, event: ev.Event) -> None: ...

    def close(self) -> None: ...


class PlainDisplay:
    """Line-per-event output for pipes and CI logs; item progress at most every few seconds."""

    def __init__(self, out: TextIO | None = None, every_s: float = 5.0) -> None:
        self.out = out or sys.stderr
        self.every_s = every_s
        self._last = 0.0

    def handle(self, event: ev.Event) -> None:
        line = describe(event)
        if line is None and isinstance(event, ev.ItemsDone):
            now = time.monotonic()
            if now - self._last >= self.every_s or event.n_done == event.n_total:
                self._last = now
                line = (
                    f"  {event.task} [{event.setting}] {event.n_done}/{event.n_total} items "
                    f"({event.items_per_s:.1f} items/s, {event.tokens_per_s:.0f} tokens/s)"
                )
        if line is None and isinstance(event, ev.DownloadProgress):
            now = time.monotonic()
            if now - self._last >= self.every_s or event.downloaded == event.total:
                self._last = now
                line = (
                    f"  downloading {event.file}: "
                    f"{_fmt_bytes(event.downloaded)}/{_fmt_bytes(event.total)} "
                    f"at {_fmt_bytes(event.speed_bps)}/s"
                )
        if line is not None:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichDisplay:
    """Progress bars for rungs, task settings and downloads on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.downloads = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._tasks: dict[tuple[str, str, str], TaskID] = {}
        self._dl: dict[tuple[str, str], TaskID] = {}
        self.progress.start()

    def handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.TaskStarted):
            key = (event.rung, event.task, event.setting)
            self._tasks[key] = self.progress.add_task(
                f"{event.rung} {event.task} [{event.setting}]",
                total=event.n_items,
                completed=event.n_done,
                rate="",
            )
            return
        if isinstance(event, ev.ItemsDone):
            tid = self._tasks.get((event.rung, event.task, event.setting))
            if tid is not None:
                self.progress.update(
                    tid, completed=event.n_done, rate=f"{event.tokens_per_s:.0f} tok/s"
                )
            return
        if isinstance(event, ev.DownloadProgress):
            file = (event.rung, event.file)
            if file not in self._dl:
                self._dl[file] = self.progress.add_task(
                    f"download {event.file}", total=event.total or 0, rate=""
                )
            self.progress.update(
                self._dl[file], completed=event.downloaded, rate=f"{_fmt_bytes(event.speed_bps)}/s"
            )
            return
        line = describe(event)
        if line is not None and not isinstance(event, ev.TaskStarted):
            self.progress.console.print(line, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def make_display(json_mode: bool) -> Display:
    if sys.stderr.isatty() and not json_mode:
        return RichDisplay()
    return PlainDisplay()
