"""The Forecast tab: choose how many rungs to fit (k) and see each route's band for the next
rungs, with where they landed (:func:`emergetui.tui.forecast_view.forecast_text`)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Static

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.forecast import CurveForecast
from emergetui.tui.forecast_view import fitted_counts, forecast_text


class ForecastPanel(Static, can_focus=True):
    """Focusable, so its own keys (``[`` and ``]``: fewer or more rungs fitted) need no
    binding on the screen."""

    BINDINGS = [
        Binding("left_square_bracket", "fewer", "Fit fewer rungs"),
        Binding("right_square_bracket", "more", "Fit more rungs"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.forecast: CurveForecast | None = None
        self.k: int | None = None

    def show(self, analysis: Analysis | None, task: str, setting: str) -> None:
        """Show the forecast of ``(task, setting)``'s headline curve, keeping ``k`` if it can."""
        found = None
        if analysis is not None:
            found = next(
                (f for f in analysis.forecast if (f.task, f.setting) == (task, setting)), None
            )
        self.forecast = found
        counts = fitted_counts(found) if found is not None else []
        if self.k not in counts:
            self.k = _default_k(found) if found is not None else None
        self.update(forecast_text(self.forecast, self.k))

    def _step(self, delta: int) -> None:
        if self.forecast is None:
            return
        counts = fitted_counts(self.forecast)
        if not counts:
            return
        i = counts.index(self.k) if self.k in counts else 0
        self.k = counts[max(0, min(len(counts) - 1, i + delta))]
        self.update(forecast_text(self.forecast, self.k))

    def action_fewer(self) -> None:
        self._step(-1)

    def action_more(self) -> None:
        self._step(+1)


def _default_k(fc: CurveForecast) -> int | None:
    """Open on the backtest the curve's line judges (its largest rise)."""
    if fc.focus is not None:
        return len(fc.focus.fitted)
    counts = fitted_counts(fc)
    return counts[0] if counts else None
