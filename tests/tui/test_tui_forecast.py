"""The results screen's Forecast tab, driven with the app's pilot on the demo run."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import TabbedContent
from tui_support import demo_app, make_demo_store, run, settled_text, show_results, wait_until

from emergetui.tui.forecast_view import band_bar, fitted_counts
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.widgets.forecast_panel import ForecastPanel


def test_forecast_tab_shows_the_bands_and_k_can_be_chosen(tmp_path: Path) -> None:
    make_demo_store(tmp_path / "demo.sqlite")
    app = demo_app(tmp_path / "demo.sqlite")
    seen: dict[str, object] = {}

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await show_results(pilot)
            screen = app.screen
            assert isinstance(screen, ResultsScreen)
            screen.query_one("#results-tabs", TabbedContent).active = "forecast"
            panel = screen.query_one("#forecast-panel", ForecastPanel)
            panel.focus()
            await wait_until(pilot, lambda: panel.forecast is not None)
            assert panel.forecast is not None and screen.data is not None
            seen["counts"] = fitted_counts(panel.forecast)
            seen["k0"] = panel.k
            seen["text0"] = await settled_text(pilot, [f"k = {panel.k}: fitted on"])
            await pilot.press("left_square_bracket")
            await pilot.pause(0.1)
            seen["k1"] = panel.k
            await pilot.press("right_square_bracket", "right_square_bracket")
            await pilot.pause(0.1)
            seen["k2"] = panel.k
            seen["line"] = panel.forecast.line

    run(body())
    counts = seen["counts"]
    assert isinstance(counts, list) and len(counts) >= 2 and counts[0] == 3
    k0 = seen["k0"]
    assert k0 in counts
    i = counts.index(k0)
    assert seen["k1"] == counts[max(0, i - 1)]
    assert seen["k2"] == counts[min(len(counts) - 1, max(0, i - 1) + 2)]
    text = str(seen["text0"])
    assert f"k = {k0}: fitted on" in text
    assert "the metric's own fit" in text and "●" in text
    assert str(seen["line"]).split(" (")[0] in text


def test_band_bar_marks_the_band_and_the_observed_rung() -> None:
    bar = band_bar(0.2, 0.4, 0.9, (0.0, 1.0))
    assert bar.index("━") < bar.index("●")
    assert bar.count("●") == 1 and set(bar) == {"·", "━", "●"}
