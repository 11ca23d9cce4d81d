"""The lab draws this experiment's runs on other ladders on the same chart (the c key)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))

from tui_support import demo_app, run, settled_text, wait_until  # noqa: E402

from emergetui.store.results import Store  # noqa: E402
from emergetui.tui.screens.results import ResultsScreen  # noqa: E402
from emergetui.tui.screens.start import StartScreen  # noqa: E402


def test_c_overlays_the_other_ladder(two_ladder_run: tuple[Path, dict[str, Any]]) -> None:
    store, _ = two_ladder_run
    with Store(store) as st:
        toy = next(r.run_id for r in st.runs() if r.ladder == "toy")
    app = demo_app(store)
    seen: dict[str, Any] = {}

    async def body() -> None:
        async with app.run_test(size=(100, 34)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
            screen = ResultsScreen(toy)
            await app.push_screen(screen)
            await wait_until(pilot, lambda: screen.data is not None, 60)
            await pilot.press("2", "c")
            await wait_until(pilot, lambda: screen.others is not None, 60)
            seen["text"] = await settled_text(pilot, ["toy (F32): ", "toy-f16: "])
            seen["names"] = [s.name for s in screen.others or []]
            seen["overlay"] = screen.query_one("#curve-plot").title_text

    run(body())
    assert seen["names"] == ["toy-f16"]
    assert seen["overlay"] == "exact_match"  # the overlay's title (a single curve: task [setting])
    # both series in the chart's legend, each with its own verdict
    assert "toy (F32): " in seen["text"] and "toy-f16: " in seen["text"]
