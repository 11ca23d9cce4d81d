"""Forecasts in the outputs: batch lines, the report's Markdown section and its figures.

Each reads the backtests of :mod:`emergetui.analysis.forecast` (the batch lines from
the run document's ``forecast`` key, so ``--json`` and the terminal say the same);
nothing here computes a forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.forecast import ROUTE_TEXT, ROUTES, CurveForecast
from emergetui.report.markdown import fmt, table
from emergetui.report.paths import slug as _slug


def forecast_lines(forecasts: Sequence[dict[str, Any]]) -> list[str]:
    """One line per headline curve (and the rung to add, when one is recommended)."""
    lines = []
    for f in forecasts:
        lines.append(f"{f['task']} [{f['setting']}] {f['metric']}: {f['line']}")
        rec = f.get("recommendation")
        if rec:
            lines.append(f"    {rec['line']}")
    return lines


def _band_cell(fc: CurveForecast, target: str, route: str) -> str:
    test = next((b for b in fc.backtests if b.ahead == 1 and b.target == target), None)
    if test is None:
        return "–"
    band = test.band(route)
    if band is None:
        return "n/a"
    mark = "in" if band.covered else "**out**"
    return f"[{fmt(band.low)}, {fmt(band.high)}] {mark}"


def forecast_markdown(analysis: Analysis) -> str:
    """Per headline curve: its line, then each rung's observed mean beside every route's
    90% band fitted on all the rungs below it."""
    parts = [
        "## Forecasts\n\n"
        "Could each rung have been predicted from the smaller ones? Every rung with at least 3 "
        "below it is predicted from those alone by three routes: the metric's own smooth fit in "
        "log params, the per-token log-probs pushed through the metric's nonlinearity (a^L), and "
        "held-out loss then ability. Each band is a 90% predictive interval for the observed "
        "mean (item bootstrap paired over rungs, the fit's misfit and bend, the rung's own "
        "noise); *out* marks a rung outside it. The line judges the largest rise."
    ]
    for fc in analysis.forecast:
        curve = analysis.curve(*fc.key)
        if curve is None:
            continue
        head = f"### {fc.task} [{fc.setting}] {fc.metric}\n\n{fc.line}"
        if fc.recommendation is not None:
            head += f"\n\n{fc.recommendation.line}"
        rows = [
            [p.rung, fmt(p.params), fmt(p.mean)] + [_band_cell(fc, p.rung, r) for r in ROUTES]
            for p in curve.points
        ]
        headers = ["rung", "params", "observed", *(ROUTE_TEXT[r] for r in ROUTES)]
        parts.append(head + "\n\n" + table(headers, rows))
    if len(parts) == 1:
        parts.append("No task setting has a headline curve to forecast.")
    return "\n\n".join(parts)


def save_forecast_figures(
    analysis: Analysis, out_dir: str | Path, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """One figure per headline curve: observed means, and at each rung every route's band
    from the rungs below (needs matplotlib: check ``png.matplotlib_available`` first)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for fc in analysis.forecast:
        curve = analysis.curve(*fc.key)
        if curve is None or not fc.backtests:
            continue
        fig = Figure(figsize=(6.0, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(curve.params, curve.means, marker="o", color="black", label="observed")
        for k, route in enumerate(ROUTES):
            xs, lo, hi = [], [], []
            for b in fc.backtests:
                band = b.band(route)
                if b.ahead == 1 and band is not None:
                    xs.append(b.params * (1.0 + 0.06 * (k - 1)))
                    lo.append(band.low)
                    hi.append(band.high)
            if xs:
                mid = [(a + c) / 2 for a, c in zip(lo, hi, strict=True)]
                err = [
                    [m - a for m, a in zip(mid, lo, strict=True)],
                    [c - m for m, c in zip(mid, hi, strict=True)],
                ]
                ax.errorbar(xs, mid, yerr=err, fmt="none", capsize=3, label=ROUTE_TEXT[route])
        if curve.chance is not None:
            ax.axhline(curve.chance, linestyle="--", color="gray", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("parameters", fontsize=8)
        ax.set_title(
            f"{fc.task} / {fc.setting}: {fc.metric}, 90% bands from the rungs below", fontsize=9
        )
        ax.legend(fontsize=7)
        for fmt_ in formats:
            path = out / f"{_slug(fc.task, fc.setting, 'forecast')}.{fmt_}"
            fig.savefig(path, format=fmt_, dpi=120)
            written.append(path)
    return written
