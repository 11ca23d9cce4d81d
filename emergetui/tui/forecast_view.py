"""The Forecast tab's text: one backtest's bands drawn on a line, and where the rung landed.

A plain function of a :class:`~emergetui.analysis.forecast.CurveForecast` (like
:mod:`emergetui.tui.results_view`), so what the tab shows is tested without a terminal.
"""

from __future__ import annotations

import math

from emergetui.analysis.forecast import ROUTE_TEXT, ROUTES, Backtest, CurveForecast
from emergetui.fmt import fmt_params

#: characters of the drawn axis
WIDTH = 40


def fitted_counts(fc: CurveForecast) -> list[int]:
    """The choices of ``k`` (rungs fitted) the curve's backtests offer, smallest first."""
    return sorted({len(b.fitted) for b in fc.backtests})


def _axis(tests: list[Backtest]) -> tuple[float, float]:
    values = [b.observed for b in tests]
    values += [v for b in tests for band in b.bands for v in (band.low, band.high)]
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if 0.0 <= lo and hi <= 1.0:
        return (0.0, 1.0)
    pad = (hi - lo) * 0.05 or 1.0
    return (lo - pad, hi + pad)


def _pos(v: float, axis: tuple[float, float]) -> int:
    lo, hi = axis
    return max(0, min(WIDTH - 1, round((v - lo) / (hi - lo) * (WIDTH - 1))))


def band_bar(low: float, high: float, observed: float, axis: tuple[float, float]) -> str:
    """``·····━━━━━━···●···``: the band as a thick line on the axis, the observed rung as ●."""
    cells = ["·"] * WIDTH
    for i in range(_pos(low, axis), _pos(high, axis) + 1):
        cells[i] = "━"
    cells[_pos(observed, axis)] = "●"
    return "".join(cells)


def forecast_text(fc: CurveForecast | None, k: int | None) -> str:
    """The backtests fitted on the ``k`` smallest rungs (1 and 2 rungs ahead), drawn."""
    if fc is None:
        return "no forecast for this task setting (no headline curve)"
    head = f"{fc.task} [{fc.setting}] {fc.metric}: {fc.line}"
    if fc.recommendation is not None:
        head += f"\n{fc.recommendation.line}"
    counts = fitted_counts(fc)
    if not counts:
        return head
    k = k if k in counts else counts[0]
    tests = [b for b in fc.backtests if len(b.fitted) == k]
    axis = _axis(tests)
    lines = [
        head,
        "",
        f"k = {k}: fitted on {tests[0].fitted[0]}..{tests[0].fitted[-1]} "
        f"(choose k with [ and ]: {', '.join(map(str, counts))}); 90% bands, ● = observed, "
        f"axis {axis[0]:.3g}..{axis[1]:.3g}",
    ]
    for b in tests:
        lines.append("")
        lines.append(
            f"{b.target} ({fmt_params(b.params)}, {b.ahead} ahead): observed {b.observed:.3g}"
        )
        for route in ROUTES:
            band = b.band(route)
            name = f"  {ROUTE_TEXT[route]:22s}"
            if band is None:
                lines.append(f"{name} n/a: {b.skipped.get(route, '')}")
                continue
            mark = "inside" if band.covered else "OUTSIDE"
            lines.append(
                f"{name} {band_bar(band.low, band.high, b.observed, axis)} "
                f"[{band.low:.3g}, {band.high:.3g}] {mark}"
            )
    return "\n".join(lines)
