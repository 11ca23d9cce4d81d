"""Drawing the analysis onto a plotext figure: one set of functions for the terminal and the lab.

Every function takes the figure first: the ``plotext`` module itself (the batch
CLI and the report's text plots, see :mod:`emergetui.report.termplot`) or a
``PlotextPlot`` widget's ``plt`` (the lab), which share plotext's API. So the
curves a user reads after ``--batch`` and in the lab are drawn by the same code.

The x axis is log10(params) computed here rather than plotext's log scale,
which needs two distinct values (a live curve starts with one). Confidence
intervals are vertical bars at each rung: plotext's ``error`` draws only
symmetric bars, and score intervals on binary data are not symmetric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from emergetui.analysis.curves import Curve, CurvePoint
from emergetui.analysis.icl import IclResult
from emergetui.analysis.loss_ability import LossAbility
from emergetui.fmt import fmt_params

Figure = Any  # the plotext module or textual_plotext's Plot: the same drawing API

#: Distinct line characters, so uncoloured text still tells the lines apart.
LINE_MARKERS = ("hd", "+", "x", "*", "@", "#", "%", "&", "$")

#: What a scaling plot can put on its x axis, and how to label it.
X_AXES = {
    "params": "params (log)",
    "train_tokens": "training tokens (log)",
    "heldout_loss": "held-out loss, nats/token (decreasing ->)",
}


def reset(fig: Figure, title: str) -> None:
    fig.clear_figure()
    fig.title(title)


def ci_bar(fig: Figure, x: float, lo: float, hi: float, color: str) -> None:
    if math.isfinite(lo) and math.isfinite(hi):
        fig.plot([x, x], [lo, hi], marker="│", color=color)


def log_x(values: Sequence[float]) -> list[float]:
    return [math.log10(max(v, 1.0)) for v in values]


def rung_ticks(
    fig: Figure, xs: Sequence[float], rungs: Sequence[str], params: Sequence[float]
) -> None:
    fig.xticks(
        list(xs),
        [lab if len(lab) <= 8 else fmt_params(p) for lab, p in zip(rungs, params, strict=True)],
    )


def single_x(fig: Figure, xs: Sequence[float]) -> None:
    """Give a one-rung plot some width (plotext cannot scale a zero-width axis)."""
    if len(set(xs)) == 1:
        fig.xlim(xs[0] - 0.5, xs[0] + 0.5)


def x_values(curve: Curve, x: str) -> list[tuple[float, CurvePoint]]:
    """The curve's points on axis ``x`` (log10 for params/tokens); rungs without that number
    drop."""
    if x not in X_AXES:
        raise ValueError(f"unknown x axis {x!r}; choose from {', '.join(X_AXES)}")
    out: list[tuple[float, CurvePoint]] = []
    for p in curve.points:
        if x == "params":
            out.append((math.log10(max(p.params, 1)), p))
        elif x == "train_tokens" and p.train_tokens:
            out.append((math.log10(p.train_tokens), p))
        elif x == "heldout_loss" and p.heldout_loss is not None:
            out.append((float(p.heldout_loss), p))
    return out


def draw_curve(
    fig: Figure,
    curve: Curve,
    title: str | None = None,
    x: str = "params",
    *,
    color: str = "cyan",
    label: str | None = None,
    yside: str = "left",
    marker: str = "hd",
    with_ci: bool = True,
) -> list[tuple[float, CurvePoint]]:
    """An analysed scaling curve: means, 95% CI bars, chance; ``title=None`` adds to the figure."""
    pts = x_values(curve, x)
    if title is not None or not pts:
        reset(fig, title or f"{curve.task} [{curve.setting}] {curve.metric}")
    if not pts:
        fig.xlabel("no data")
        return pts
    xs = [v for v, _ in pts]
    means = [p.mean for _, p in pts]
    if with_ci:
        for v, p in pts:
            ci_bar(fig, v, p.ci_low, p.ci_high, "gray")
    fig.plot(xs, means, marker=marker, color=color, label=label or curve.metric, yside=yside)
    fig.scatter(xs, means, marker="●", color=color, yside=yside)
    if title is not None:
        if curve.chance is not None:
            fig.hline(curve.chance, "red")
        single_x(fig, xs)
        rung_ticks(fig, xs, [p.rung for _, p in pts], [p.params for _, p in pts])
        if x == "heldout_loss":
            fig.xreverse(True)
        chance = "; red: chance" if curve.chance is not None else ""
        fig.xlabel(f"{X_AXES[x]}; bars: 95% CI{chance}")
    return pts


def draw_mirage(fig: Figure, discrete: Curve, continuous: Curve) -> None:
    """The discrete metric (left axis, CI bars) beside a continuous one on the same outputs (right).

    If only the left curve jumps, the jump is the metric's doing (Schaeffer et
    al. 2023); the continuous curve's own CIs are in its scaling plot.
    """
    reset(fig, f"{discrete.task} [{discrete.setting}]: {discrete.metric} vs {continuous.metric}")
    pts = draw_curve(fig, discrete, None, label=f"{discrete.metric} (left)")
    draw_curve(
        fig,
        continuous,
        None,
        color="magenta",
        label=f"{continuous.metric} (right)",
        yside="right",
        marker="+",
        with_ci=False,
    )
    if pts:
        xs = [v for v, _ in pts]
        single_x(fig, xs)
        rung_ticks(fig, xs, [p.rung for _, p in pts], [p.params for _, p in pts])
    fig.xlabel(X_AXES["params"])


def draw_loss(fig: Figure, result: LossAbility, chance: float | None = None) -> None:
    """Ability against held-out loss, lower loss to the right (Du et al. 2024)."""
    reset(fig, f"{result.task} [{result.setting}] {result.metric} vs held-out loss")
    xs = list(result.losses)
    for v, lo, hi in zip(xs, result.ci_low, result.ci_high, strict=True):
        ci_bar(fig, v, lo, hi, "gray")
    fig.plot(xs, list(result.means), marker="hd", color="cyan", label=result.metric)
    fig.scatter(xs, list(result.means), marker="●", color="cyan")
    if chance is not None:
        fig.hline(chance, "red")
    if result.threshold is not None:
        fig.vline(result.threshold, "green")
    single_x(fig, xs)
    fig.xticks(xs, [f"{v:.2f}" for v in xs])
    fig.xreverse(True)
    fig.xlabel(X_AXES["heldout_loss"] + ("; green: threshold" if result.threshold else ""))


def draw_losses(
    fig: Figure,
    results: Sequence[LossAbility],
    title: str | None = None,
    chance: float | None = None,
    focus: bool = True,
) -> None:
    """Several abilities against the same held-out loss, one line each: where each one turns
    on, on the axis the loss-to-ability argument is about (Du et al. 2024). With ``focus`` the
    first is the one in focus: its CI bars, chance level (red) and fitted threshold (green)."""
    reset(fig, title or "abilities vs held-out loss")
    if not results:
        fig.xlabel("no held-out loss")
        return
    xs_all: list[float] = []
    for i, result in enumerate(results):
        xs = list(result.losses)
        xs_all += xs
        if i == 0 and focus:
            for v, lo, hi in zip(xs, result.ci_low, result.ci_high, strict=True):
                ci_bar(fig, v, lo, hi, "gray")
            if result.threshold is not None:
                fig.vline(result.threshold, "green")
        label = f"{result.task} [{result.setting}] {result.metric}"
        fig.plot(xs, list(result.means), marker=LINE_MARKERS[i % len(LINE_MARKERS)], label=label)
    if chance is not None:
        fig.hline(chance, "red")
    ticks = sorted(set(xs_all))
    single_x(fig, ticks)
    fig.xticks(ticks, [f"{v:.2f}" for v in ticks])
    fig.xreverse(True)
    fig.xlabel(X_AXES["heldout_loss"])


def draw_icl(fig: Figure, result: IclResult, rungs: Sequence[str] | None = None) -> None:
    """Metric against shot count, one line per rung: does the bigger model use the examples?"""
    reset(fig, f"{result.task} [{result.family}] {result.metric} vs shots")
    labels = list(rungs) if rungs is not None else list(dict.fromkeys(c.rung for c in result.cells))
    for i, rung in enumerate(labels):
        cells = sorted((c for c in result.cells if c.rung == rung), key=lambda c: c.shots)
        if cells:
            marker = LINE_MARKERS[i % len(LINE_MARKERS)]
            fig.plot([c.shots for c in cells], [c.mean for c in cells], marker=marker, label=rung)
    fig.xticks(list(result.shots))
    fig.xlabel("shots")


def draw_message(fig: Figure, title: str, message: str) -> None:
    reset(fig, title)
    fig.xlabel(message)
