"""Drawing a comparison: one chart per task, one curve per series, on a plotext figure.

Like :mod:`emergetui.report.figures`, every function takes the figure first (the
``plotext`` module for the terminal, a ``PlotextPlot``'s ``plt`` in the lab), so
both front ends draw the same overlay. Series are told apart by colour *and*
line character, so uncoloured text keeps them distinct.
"""

from __future__ import annotations

from typing import Any

from emergetui.analysis.axes import AXIS_LABELS
from emergetui.analysis.compare import Overlay
from emergetui.report.figures import LINE_MARKERS, ci_bar, reset

Figure = Any

#: one colour per series, in legend order
SERIES_COLORS = ("cyan", "magenta", "green", "orange", "blue", "yellow", "white", "red")


def draw_overlay(fig: Figure, overlay: Overlay) -> None:
    """Every series' curve with its 95% CI bars; chance in red; loss axis reversed."""
    reset(fig, f"{overlay.task} [{overlay.setting}] {overlay.metric}")
    xs_all: list[float] = []
    for i, c in enumerate(overlay.curves):
        if not c.points:
            continue
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        xs = [p.x for p in c.points]
        ys = [p.mean for p in c.points]
        for p in c.points:
            ci_bar(fig, p.x, p.ci_low, p.ci_high, "gray")
        marker = LINE_MARKERS[i % len(LINE_MARKERS)]
        fig.plot(xs, ys, marker=marker, color=color, label=f"{c.series}: {c.verdict}")
        fig.scatter(xs, ys, marker="●", color=color)
        xs_all += xs
    if not xs_all:
        fig.xlabel(f"no series has values on the {overlay.axis} axis")
        return
    if overlay.chance is not None:
        fig.hline(overlay.chance, "red")
    if len(set(xs_all)) == 1:
        fig.xlim(xs_all[0] - 0.5, xs_all[0] + 0.5)
    if overlay.axis == "loss":
        fig.xreverse(True)
    chance = "; red: chance" if overlay.chance is not None else ""
    fig.xlabel(f"{AXIS_LABELS[overlay.axis]}; bars: 95% CI{chance}")


__all__ = ["SERIES_COLORS", "draw_overlay"]
