"""Plain-text capture of what the app shows, for docs and tests.

Textual exports screenshots as SVG only; this renders the current screen
(with the screens beneath a modal) through a recording Rich console, the way
``App.export_screenshot`` does, and returns the text instead.
"""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App


def screen_text(app: App[object]) -> str:
    """The current screen as text, trailing spaces removed (stable for diffs)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n"
