"""Keys for a screen's tabs: ←/→ step through them (shown in the footer), 1…N jump to one.

The tab titles carry their number ("1 Demo", "2 New run", ...), so the digit keys need no
room in the footer. ←/→ take precedence over the focused widget (a wide table would otherwise
keep them to scroll sideways, and the tabs would be out of reach), except in a text field, where
they move the cursor: there the footer greys them out. A wide table still scrolls with home/end
and the mouse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, TabPane, TextArea


def tab_title(index: int, title: str) -> str:
    """The title of tab ``index`` (0-based) with the digit that opens it."""
    return f"{index + 1} {title}"


def tab_bindings(tab_ids: Sequence[str]) -> list[Binding]:
    """←/→ (shown once, as "←→ Tabs") and one digit per tab (hidden: the titles show them)."""
    return [
        Binding("left", "step_tab(-1)", "Tabs", key_display="←→", priority=True),
        Binding("right", "step_tab(1)", "Next tab", show=False, priority=True),
        *(
            Binding(str(i + 1), f"show_tab('{t}')", f"Tab {t}", show=False)
            for i, t in enumerate(tab_ids)
        ),
    ]


def arrows_free(screen: Screen[Any]) -> bool | None:
    """Whether ←/→ go to the tabs now: not while a text field has the focus (None: the footer
    shows the binding greyed out, and the key goes on to the field)."""
    return None if isinstance(screen.focused, (Input, TextArea)) else True


def step_tab(screen: Screen[Any], step: int) -> None:
    """Open the tab ``step`` places from the active one (wrapping around)."""
    tabbed = screen.query_one(TabbedContent)
    ids = [pane.id for pane in tabbed.query(TabPane) if pane.id]
    if not ids:
        return
    at = ids.index(tabbed.active) if tabbed.active in ids else 0
    show_tab(screen, ids[(at + step) % len(ids)])


def show_tab(screen: Screen[Any], tab_id: str) -> None:
    """Open tab ``tab_id`` and put the focus in it (a key then acts on what is shown)."""
    tabbed = screen.query_one(TabbedContent)
    tabbed.active = tab_id
    pane = tabbed.get_pane(tab_id)
    target = next((w for w in pane.query("*") if w.focusable), None)
    if target is not None:
        target.focus()
    else:  # nothing to focus there (a plot): no hidden widget of another tab keeps the keys
        screen.set_focus(None)
