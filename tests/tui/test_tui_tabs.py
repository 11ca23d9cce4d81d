"""Every tab of the lab is reachable by a key the footer shows (←→), each one by its digit too,
and the bundled demo's tasks are listed by name, not by the files they live in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, SelectionList, TabbedContent, TabPane
from tui_support import demo_app, make_demo_store, run, show_results, show_start, wait_until

from emergetui.tui.screens.results import TABS
from emergetui.tui.screens.start import START_TABS


def _tab_ids(screen: Any) -> list[str]:
    return [p.id for p in screen.query_one(TabbedContent).query(TabPane)]


def _footer_keys(app: Any) -> dict[str, str]:
    """The keys the footer shows on the current screen: key_display (or key) -> description."""
    return {
        (b.binding.key_display or b.binding.key): b.binding.description
        for b in app.active_bindings.values()
        if b.binding.show
    }


async def _walk(pilot: Any, key: str, n: int) -> list[str]:
    """Press ``key`` ``n`` times; the active tab after each press."""
    tabbed = pilot.app.screen.query_one(TabbedContent)
    seen = []
    for _ in range(n):
        before = tabbed.active
        await pilot.press(key)
        await wait_until(pilot, lambda b=before: tabbed.active != b)
        seen.append(tabbed.active)
    return seen


def test_the_start_screens_tabs_by_arrows_and_digits(tmp_path: Path) -> None:
    out: dict[str, Any] = {}

    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await show_start(pilot)
            screen = app.screen
            tabbed = screen.query_one(TabbedContent)
            out["ids"] = _tab_ids(screen)
            out["footer"] = _footer_keys(app)
            out["right"] = await _walk(pilot, "right", 3)  # from the demo's focused button
            out["left"] = await _walk(pilot, "left", 3)
            digits = []
            for i in (3, 2, 1):
                await pilot.press(str(i))
                await wait_until(pilot, lambda i=i: tabbed.active == START_TABS[i - 1])
                digits.append(tabbed.active)
            out["digits"] = digits
            await pilot.press("o")  # the letters from before the digits still work
            await wait_until(pilot, lambda: tabbed.active == "runs")
            # in a text field the arrows move the cursor, not the tab
            await pilot.press("2")
            await wait_until(pilot, lambda: tabbed.active == "new")
            field = screen.query_one("#seed", Input)
            field.focus()
            await wait_until(pilot, lambda: app.focused is field)
            field.cursor_position = len(field.value)
            await pilot.press("left")
            await wait_until(pilot, lambda: field.cursor_position == len(field.value) - 1)
            out["in_field"] = tabbed.active
            out["titles"] = [str(t.label) for t in screen.query("Tab")]

    run(body())
    assert out["ids"] == list(START_TABS)
    assert out["footer"].get("←→") == "Tabs"
    assert out["right"] == ["new", "runs", "demo"]
    assert out["left"] == ["runs", "new", "demo"]
    assert out["digits"] == ["runs", "new", "demo"]
    assert [t.split()[0] for t in out["titles"]] == ["1", "2", "3"]
    assert out["in_field"] == "new"


def test_the_results_screens_tabs_all_reachable_probes_included(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    out: dict[str, Any] = {}

    async def body() -> None:
        app = demo_app(tmp_path / "demo.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await show_results(pilot)
            out["ids"] = _tab_ids(app.screen)
            out["footer"] = _footer_keys(app)
            out["right"] = await _walk(pilot, "right", len(TABS))
            await pilot.press(str(TABS.index("probes") + 1))
            tabbed = app.screen.query_one(TabbedContent)
            await wait_until(pilot, lambda: tabbed.active == "probes")
            out["left"] = await _walk(pilot, "left", 2)

    run(body())
    assert out["ids"] == list(TABS) and "probes" in TABS
    assert out["footer"].get("←→") == "Tabs"
    # from the curve tab (the one it opens on) round the whole ring
    assert out["right"] == ["loss", "icl", "verdicts", "forecast", "probes", "table", "curve"]
    assert out["left"] == ["forecast", "verdicts"]


def test_the_demo_tasks_are_listed_by_name(tmp_path: Path) -> None:
    """The bundled toy ladder's tasks are files; the list shows the names inside them and
    runs the files."""
    out: dict[str, Any] = {}

    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await show_start(pilot)
            await pilot.press("2")
            tasks = app.screen.query_one("#tasks", SelectionList)
            await wait_until(pilot, lambda: bool(tasks.selected))
            out["selected"] = list(tasks.selected)
            out["shown"] = [
                str(tasks.get_option_at_index(i).prompt)
                for i in range(tasks.option_count)
                if tasks.get_option_at_index(i).value in tasks.selected
            ]
            out["label"] = str(app.screen.query_one("#tasks-label").render())

    run(body())
    assert out["selected"] and all(Path(s).is_absolute() for s in out["selected"])
    assert out["shown"] == ["toy_addition", "toy_chain", "toy_cipher"]
    assert out["label"] == "tasks: 3 chosen"
    assert not any("/" in s for s in out["shown"])
