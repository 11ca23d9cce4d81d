"""The run screen's live curve on a plotext figure (a ``PlotextPlot``'s ``plt``).

Analysed curves (results screen) are drawn by :mod:`emergetui.report.figures`,
the same code as the batch CLI's terminal plots; only the live curve, whose
points are still moving, is the lab's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emergetui.report import figures
from emergetui.tui.live import LivePoint

Plt = Any  # textual_plotext.Plot (plotext's figure class)


def draw_live(
    plt: Plt, points: Sequence[LivePoint], title: str, chance: float | None = None
) -> None:
    """Settled rungs as a line with CI bars; the running rung in another colour, its CI still
    moving.

    The x axis is log10(params) drawn by hand: plotext's log scale needs at
    least two distinct values, and a live curve starts with one.
    """
    figures.reset(plt, title)
    if not points:
        plt.xlabel("waiting for scored items...")
        return
    xs = figures.log_x([p.params for p in points])
    for x, p in zip(xs, points, strict=True):
        figures.ci_bar(plt, x, p.ci_low, p.ci_high, "gray" if p.settled else "orange")
    done = [(x, p) for x, p in zip(xs, points, strict=True) if p.settled]
    if done:
        plt.plot(
            [x for x, _ in done],
            [p.mean for _, p in done],
            marker="hd",
            color="cyan",
            label="settled",
        )
    live = [(x, p) for x, p in zip(xs, points, strict=True) if not p.settled]
    if live:
        plt.scatter(
            [x for x, _ in live],
            [p.mean for _, p in live],
            marker="●",
            color="orange",
            label="scoring (95% CI)",
        )
    if chance is not None:
        plt.hline(chance, "red")
    if len(xs) == 1:
        plt.xlim(xs[0] - 0.5, xs[0] + 0.5)
    figures.rung_ticks(plt, xs, [p.rung for p in points], [p.params for p in points])
    plt.xlabel("params (log)" + ("; red: chance" if chance is not None else ""))
