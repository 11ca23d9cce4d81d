"""App-wide conventions: command palette, themes, help, footer bindings, an unreadable run."""

from __future__ import annotations

from pathlib import Path

from tui_support import (
    DEMO_RUN,
    demo_app,
    make_demo_store,
    palette_pick,
    run,
    settled_text,
    show_start,
    wait_until,
)

from emergetui.tui.app import DARK, LIGHT
from emergetui.tui.screens.help import HelpScreen
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.screens.start import StartScreen


def test_palette_opens_a_stored_run_theme_and_help(tmp_path: Path, tiny_ladder: Path) -> None:
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    app = demo_app(store, ladder=str(tiny_ladder))

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await show_start(pilot)
            footer = (await settled_text(pilot, ["Start run", "palette"])).splitlines()[-1]
            assert "Start run" in footer and "Quit" in footer and "palette" in footer
            assert app.theme == DARK
            await pilot.press("ctrl+t")
            assert app.theme == LIGHT
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert isinstance(app.screen, StartScreen)

            await palette_pick(pilot, "demo0", DEMO_RUN)
            await wait_until(
                pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None
            )
            assert app.screen.run_id == DEMO_RUN  # type: ignore[attr-defined]

            await palette_pick(pilot, "discrete", "discrete/continuous")
            await wait_until(
                pilot,
                lambda: app.screen.current_metric() == "logprob_correct",  # type: ignore[attr-defined]
            )

    run(body())


def test_missing_run_is_reported_on_the_results_screen(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    app = demo_app(store)

    async def body() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await show_start(pilot)
            screen = ResultsScreen("no-such-run")
            await app.push_screen(screen)
            await wait_until(
                pilot, lambda: "no run" in str(screen.query_one("#results-head").render())
            )
            await pilot.press("m", "t", "e")  # nothing to toggle or export, nothing crashes
            await pilot.pause(0.2)

    run(body())


def test_help_shows_the_doctor(tmp_path: Path, tiny_ladder: Path) -> None:
    """`d` on the help screen shows `emergetui doctor`'s text (run in its own process)."""
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    app = demo_app(store, ladder=str(tiny_ladder))

    async def body() -> None:
        async with app.run_test(size=(100, 40)) as pilot:
            await show_start(pilot)
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("d")
            text = await settled_text(
                pilot, ["llama-cpp-python", "emergetui doctor", "built with:"], timeout=60
            )
            assert "emergetui doctor" in text and "built with:" in text

    run(body())
