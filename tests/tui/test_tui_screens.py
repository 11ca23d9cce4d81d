"""Text renderings of the screens the snapshots do not cover: what a person reads, asserted.

With ``EMERGETUI_WRITE_SCREENS=1`` the texts are written to ``docs/screens/``
(the snapshot tests write the start, run and results-curve captures).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_support import (
    check_capture,
    demo_app,
    make_demo_store,
    run,
    settled_text,
    show_help,
    show_results,
    show_run,
    show_start,
)

# results views, captured one after the other in a single session (one analysis)
RESULTS: list[tuple[str, str, list[str]]] = [
    ("results-loss", "3", ["vs held-out loss", "Spearman"]),
    ("results-icl", "4", ["vs shots", "shots 0, 3: "]),
    ("results-table", "1", ["70M", "6.9B", "shots=3", "exact_match"]),
    ("results-verdicts", "5", ["emergent", "smooth"]),
]


def _capture(app: Any, size: tuple[int, int], scenario: Any, expected: list[str]) -> str:
    out: list[str] = []

    async def body() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)
            out.append(await settled_text(pilot, expected))

    run(body())
    return out[0]


def test_run_screen_while_downloading(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")

    async def download(pilot: Any) -> None:
        await show_run(pilot, download=True)

    expected = [
        "▶ 6.9B downloading",
        "demo-6.9B-Q4_K_M.gguf",
        "1.2 GiB/4.1 GiB",
        "45.8 MiB/s",
        "ETA 1m05s",
    ]
    text = _capture(demo_app(tmp_path / "demo.sqlite"), (100, 30), download, expected)
    check_capture("run-download", text, (100, 30), expected)


def test_help_screen(tmp_path: Path, tiny_ladder: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    app = demo_app(tmp_path / "demo.sqlite", ladder=str(tiny_ladder), tasks=("arith-1digit-add",))
    expected = ["Start screen", "use or skip the highlighted"]
    text = _capture(app, (80, 24), show_help, expected)
    check_capture("help", text, (80, 24), expected)


def test_results_views_text(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    app = demo_app(tmp_path / "demo.sqlite")
    captured: dict[str, str] = {}

    async def body() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await show_results(pilot, "m")
            for name, key, expected in RESULTS:
                await pilot.press(key)
                captured[name] = await settled_text(pilot, expected)

    run(body())
    for name, _, expected in RESULTS:
        check_capture(name, captured[name], (100, 30), expected)


def test_start_screen_offers_the_demo_first(tmp_path: Path) -> None:
    """`emergetui` with no arguments: the Demo tab is open and its button focused; a command
    line that chose an experiment opens on "New run" instead."""
    from textual.widgets import TabbedContent

    from emergetui.tui.screens.start import StartScreen

    tabs: list[str] = []

    async def demo(pilot: Any) -> None:
        await show_start(pilot)
        tabs.append(pilot.app.screen.query_one(TabbedContent).active)
        assert isinstance(pilot.app.screen, StartScreen)
        assert pilot.app.focused is not None and pilot.app.focused.id == "demo-start"

    expected = [
        "Demo",
        "Run the demo",
        "a real threshold",
        "a mirage",
        "in-context learning",
        "loss to ability",
        "d Run the demo",
    ]
    text = _capture(demo_app(tmp_path / "s.sqlite"), (100, 30), demo, expected)
    assert tabs == ["demo"]
    check_capture("start-demo", text, (100, 30), expected)

    async def chosen(pilot: Any) -> None:
        await show_start(pilot)
        tabs.append(pilot.app.screen.query_one(TabbedContent).active)

    _capture(demo_app(tmp_path / "s.sqlite", limit=3), (100, 30), chosen, [])
    assert tabs == ["demo", "new"]
