"""Drawing curves onto a plotext figure (a ``PlotextPlot``'s ``plt``).

Functions, not widgets: they take the figure and the data, so the same code
draws the live curve of the run screen and the analysed curves of the results
screen. Confidence intervals are vertical bars at each rung (plotext's own
``error`` only draws symmetric bars, and Wilson intervals are not symmetric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from emergetui.analysis.curves import Curve
from emergetui.analysis.icl import IclResult
from emergetui.analysis.loss_ability import LossAbility
from emergetui.tui.format import fmt_params
from emergetui.tui.live import LivePoint

Plt = Any  # textual_plotext.Plot (plotext's figure class)


def _reset(plt: Plt, title: str) -> None:
    plt.clear_figure()
    plt.title(title)


def _ci_bar(plt: Plt, x: float, lo: float, hi: float, color: str) -> None:
    if math.isfinite(lo) and math.isfinite(hi):
        plt.plot([x, x], [lo, hi], marker="│", color=color)


def _ticks(plt: Plt, params: Sequence[float], labels: Sequence[str]) -> None:
    plt.xticks(list(params), [lab if len(lab) <= 8 else fmt_params(p) for p, lab in zip(params, labels, strict=True)])


def _x(params: Sequence[int]) -> list[float]:
    return [math.log10(max(p, 1)) for p in params]


def draw_live(plt: Plt, points: Sequence[LivePoint], title: str, chance: float | None = None) -> None:
    """Settled rungs as a line with CI bars; the running rung in another colour, its CI still moving.

    The x axis is log10(params) drawn by hand: plotext's log scale needs at
    least two distinct values, and a live curve starts with one.
    """
    _reset(plt, title)
    if not points:
        plt.xlabel("waiting for scored items...")
        return
    xs = _x([p.params for p in points])
    for x, p in zip(xs, points, strict=True):
        _ci_bar(plt, x, p.ci_low, p.ci_high, "gray" if p.settled else "orange")
    done = [(x, p) for x, p in zip(xs, points, strict=True) if p.settled]
    if done:
        plt.plot([x for x, _ in done], [p.mean for _, p in done], marker="hd", color="cyan", label="settled")
    live = [(x, p) for x, p in zip(xs, points, strict=True) if not p.settled]
    if live:
        plt.scatter([x for x, _ in live], [p.mean for _, p in live], marker="●", color="orange",
                    label="scoring (95% CI)")
    if chance is not None:
        plt.hline(chance, "red")
    if len(xs) == 1:
        plt.xlim(xs[0] - 0.5, xs[0] + 0.5)
    _ticks(plt, xs, [p.rung for p in points])
    plt.xlabel("params (log)" + ("; red: chance" if chance is not None else ""))


def draw_curve(plt: Plt, curve: Curve, title: str | None = None) -> None:
    """An analysed scaling curve: means, bootstrap CIs, chance."""
    _reset(plt, title or f"{curve.task} [{curve.setting}] {curve.metric}")
    if not curve.points:
        plt.xlabel("no data")
        return
    xs = _x([p.params for p in curve.points])
    for x, p in zip(xs, curve.points, strict=True):
        _ci_bar(plt, x, p.ci_low, p.ci_high, "gray")
    plt.plot(xs, [p.mean for p in curve.points], marker="hd", color="cyan", label=curve.metric)
    plt.scatter(xs, [p.mean for p in curve.points], marker="●", color="cyan")
    if curve.chance is not None:
        plt.hline(curve.chance, "red")
    if len(xs) == 1:
        plt.xlim(xs[0] - 0.5, xs[0] + 0.5)
    _ticks(plt, xs, [p.rung for p in curve.points])
    plt.xlabel("params (log); bars: 95% CI" + ("; red: chance" if curve.chance is not None else ""))


def draw_loss(plt: Plt, result: LossAbility, chance: float | None = None) -> None:
    """Ability against held-out loss, lower loss to the right (Du et al. 2024)."""
    _reset(plt, f"{result.metric} vs held-out loss")
    xs = list(result.losses)
    for x, lo, hi in zip(xs, result.ci_low, result.ci_high, strict=True):
        _ci_bar(plt, x, lo, hi, "gray")
    plt.plot(xs, list(result.means), marker="hd", color="cyan", label=result.metric)
    plt.scatter(xs, list(result.means), marker="●", color="cyan")
    if chance is not None:
        plt.hline(chance, "red")
    if result.threshold is not None:
        plt.vline(result.threshold, "green")
    if len(set(xs)) == 1:
        plt.xlim(xs[0] - 0.5, xs[0] + 0.5)
    plt.xticks(xs, [f"{x:.2f}" for x in xs])
    plt.xreverse(True)
    plt.xlabel("held-out loss, nats/token (decreasing ->)" + ("; green: threshold" if result.threshold else ""))


def draw_icl(plt: Plt, result: IclResult, rungs: Sequence[str] | None = None) -> None:
    """Metric against shot count, one line per rung: does the bigger model use the examples?"""
    _reset(plt, f"{result.metric} vs shots ({result.family})")
    labels = list(rungs) if rungs is not None else list(dict.fromkeys(c.rung for c in result.cells))
    for rung in labels:
        cells = sorted((c for c in result.cells if c.rung == rung), key=lambda c: c.shots)
        if cells:
            plt.plot([c.shots for c in cells], [c.mean for c in cells], marker="hd", label=rung)
    plt.xticks(list(result.shots))
    plt.xlabel("shots")


def draw_message(plt: Plt, title: str, message: str) -> None:
    _reset(plt, title)
    plt.xlabel(message)
