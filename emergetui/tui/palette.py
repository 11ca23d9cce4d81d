"""The lab's entries in the command palette (ctrl+p): runs to open, and the main actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from emergetui.tui import adapters

if TYPE_CHECKING:
    from emergetui.tui.app import LabApp

Command = tuple[str, str, Callable[[], object]]


class LabCommands(Provider):
    async def startup(self) -> None:
        app = cast("LabApp", self.app)
        try:
            self._runs = await asyncio.to_thread(adapters.list_runs, app.store_path)
        except Exception:  # noqa: BLE001 - no store yet: no runs to offer
            self._runs = []

    def _commands(self) -> list[Command]:
        app = cast("LabApp", self.app)
        cmds: list[Command] = [
            ("New run", "go to the start screen", app.action_new_run),
            (
                "Toggle light/dark theme",
                "switch between the light and the dark theme",
                app.action_toggle_theme,
            ),
            ("Help", "keys and what the lab shows", app.action_help),
        ]
        if app.active_run() is not None:
            cmds.append(
                (
                    "Cancel the run",
                    "stop at the next wave; the run stays resumable",
                    app.action_cancel_run,
                )
            )
        screen = self.screen  # the screen the palette was opened from
        for action, name, why in (
            ("export", "Export report", "write Markdown, CSV, JSON and plots for this run"),
            (
                "toggle_metric",
                "Toggle discrete/continuous metric",
                "the mirage test on the same outputs",
            ),
            ("next_task", "Next task", "show the next task setting"),
        ):
            if hasattr(screen, f"action_{action}"):
                cmds.append((name, why, partial(screen.run_action, action)))
        for r in getattr(self, "_runs", []):
            cmds.append(
                (
                    f"Open run {r.run_id} ({r.ladder}, {r.status})",
                    f"{r.n_items} items, {adapters.fmt_time(r.created)}",
                    partial(app.open_results, r.run_id),
                )
            )
        return cmds

    async def discover(self) -> Hits:
        for name, why, callback in self._commands():
            yield DiscoveryHit(name, callback, help=why)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, why, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=why)
