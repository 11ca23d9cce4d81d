"""Terminal plots through plotext, returned as strings.

Plots are built with ``plotext.build()`` so the same text serves the CLI (a
pure terminal, no GUI), the saved report (``.txt`` files) and any TUI that
wants to show it. Colour codes are stripped unless ``color=True``, because a
report file must read cleanly in an editor. plotext keeps its figure in
module state, so every function here starts by clearing it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import plotext as plt

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.curves import Curve, CurvePoint
from emergetui.analysis.data import DISCRETE_PRIORITY
from emergetui.analysis.icl import IclResult
from emergetui.analysis.loss_ability import LossAbility

if TYPE_CHECKING:
    from emergetui.store import Store

#: Distinct line characters, so uncoloured text still tells the lines apart.
_LINE_MARKERS = ("hd", "+", "x", "*", "@", "#", "%", "&", "$")


def format_params(n: float) -> str:
    """``1_400_000_000`` -> ``"1.4B"``: the way ladders are named."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


def _start(width: int, height: int, title: str) -> None:
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.title(title)


def _finish(color: bool) -> str:
    text = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


#: What a scaling plot can put on its x axis, and how to label it.
X_AXES = {
    "params": "parameters (log scale)",
    "train_tokens": "training tokens (log scale)",
    "heldout_loss": "held-out loss (nats/token, decreasing)",
}


def _x_value(point: CurvePoint, x: str) -> float | None:
    if x == "params":
        return float(point.params)
    if x == "train_tokens":
        return float(point.train_tokens) if point.train_tokens else None
    if x == "heldout_loss":
        return point.heldout_loss
    raise ValueError(f"unknown x axis {x!r}; choose from {', '.join(X_AXES)}")


def _points(curve: Curve, x: str) -> list[tuple[float, CurvePoint]]:
    pts = [(_x_value(p, x), p) for p in curve.points]
    return [(v, p) for v, p in pts if v is not None]


def _rung_ticks(pts: list[tuple[float, CurvePoint]]) -> None:
    plt.xticks(
        [v for v, _ in pts],
        [p.rung if len(p.rung) <= 8 else format_params(p.params) for _, p in pts],
    )


def _draw_curve(
    curve: Curve,
    yside: str = "left",
    label: str | None = None,
    marker: str = "hd",
    with_ci: bool = True,
    x: str = "params",
) -> list[tuple[float, CurvePoint]]:
    pts = _points(curve, x)
    xs = [v for v, _ in pts]
    mean = [p.mean for _, p in pts]
    if len(xs) > 1:
        if with_ci:
            plt.plot(xs, [p.ci_low for _, p in pts], marker="dot", color="gray", yside=yside)
            plt.plot(xs, [p.ci_high for _, p in pts], marker="dot", color="gray", yside=yside)
        plt.plot(xs, mean, marker=marker, yside=yside, label=label or curve.metric)
    if xs:
        plt.scatter(xs, mean, marker="o", yside=yside, label=None if len(xs) > 1 else label)
    return pts


def scaling_plot(
    curve: Curve,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
    title: str | None = None,
    x: str = "params",
) -> str:
    """Mean with 95% CI bounds (dotted) against scale, chance in red.

    ``x`` is ``"params"`` (the default, log axis), ``"train_tokens"`` (log
    axis) or ``"heldout_loss"`` (reversed, so better models are to the
    right); rungs without that number are left out. Verdicts are always
    computed against parameter count.
    """
    if x not in X_AXES:
        raise ValueError(f"unknown x axis {x!r}; choose from {', '.join(X_AXES)}")
    _start(width, height, title or f"{curve.task} / {curve.setting} / {curve.metric}")
    if x == "heldout_loss":
        plt.xreverse(True)
    else:
        plt.xscale("log")
    pts = _draw_curve(curve, x=x)
    if curve.chance is not None:
        plt.hline(curve.chance, "red")
    _rung_ticks(pts)
    plt.xlabel(X_AXES[x] + "; dots: 95% CI" + ("; red: chance" if curve.chance is not None else ""))
    return _finish(color)


def mirage_plot(
    discrete: Curve,
    continuous: Curve,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
) -> str:
    """The discrete metric (left axis, with CI dots) next to a continuous one
    (right axis, ``+``).

    Same rungs, same stored outputs: if only the left curve jumps, the jump
    is the metric's doing (Schaeffer et al. 2023). The continuous curve's own
    CIs are in its scaling plot; two sets of dots would be unreadable.
    """
    _start(
        width,
        height,
        f"{discrete.task} / {discrete.setting}: {discrete.metric} vs {continuous.metric}",
    )
    plt.xscale("log")
    pts = _draw_curve(discrete, "left", f"{discrete.metric} (left)")
    _draw_curve(continuous, "right", f"{continuous.metric} (right)", marker="+", with_ci=False)
    _rung_ticks(pts)
    plt.xlabel(X_AXES["params"])
    return _finish(color)


def loss_plot(
    result: LossAbility,
    chance: float | None = None,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
) -> str:
    """Ability against held-out loss, lower loss to the right (Du et al. 2024)."""
    _start(width, height, f"{result.task} / {result.setting} / {result.metric} vs held-out loss")
    x = result.losses
    plt.plot(x, result.ci_low, marker="dot", color="gray")
    plt.plot(x, result.ci_high, marker="dot", color="gray")
    plt.plot(x, result.means, marker="hd", label=result.metric)
    plt.scatter(x, result.means, marker="o")
    if chance is not None:
        plt.hline(chance, "red")
    if result.threshold is not None:
        plt.vline(result.threshold, "green")
    plt.xreverse(True)
    plt.xlabel("held-out loss (nats/token, decreasing); green: threshold")
    return _finish(color)


def icl_plot(
    result: IclResult,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
    rungs: Sequence[str] | None = None,
) -> str:
    """Metric against shot count, one line per rung."""
    _start(width, height, f"{result.task} / {result.family} / {result.metric} vs shots")
    labels = list(rungs) if rungs is not None else list(dict.fromkeys(c.rung for c in result.cells))
    for i, rung in enumerate(labels):
        cells = sorted((c for c in result.cells if c.rung == rung), key=lambda c: c.shots)
        if cells:
            marker = _LINE_MARKERS[i % len(_LINE_MARKERS)]
            plt.plot([c.shots for c in cells], [c.mean for c in cells], marker=marker, label=rung)
    plt.xticks(result.shots)
    plt.xlabel("shots")
    return _finish(color)


def _headline_curve(analysis: Analysis, task: str, setting: str, preferred: str) -> Curve | None:
    curves = [c for c in analysis.curves if (c.task, c.setting) == (task, setting)]
    for name in (preferred, *DISCRETE_PRIORITY):
        found = next((c for c in curves if c.metric == name), None)
        if found is not None:
            return found
    return curves[0] if curves else None


def analysis_plots(
    analysis: Analysis,
    preferred: Mapping[tuple[str, str], str] | None = None,
    *,
    width: int | None = None,
    height: int = 18,
    color: bool = False,
) -> list[str]:
    """The plots to print after a run: one headline curve per task/setting.

    The headline is the task set's preferred metric (else the first discrete
    one); when the mirage test has an outcome, the discrete-vs-continuous
    plot follows it, since a verdict of "emergent" should never be read
    without it.
    """
    cols = width or max(60, min(120, shutil.get_terminal_size((100, 24)).columns))
    keys = list(dict.fromkeys((c.task, c.setting) for c in analysis.curves))
    out: list[str] = []
    for task, setting in keys:
        curve = _headline_curve(analysis, task, setting, (preferred or {}).get((task, setting), ""))
        if curve is None:
            continue
        scores = analysis.scores_for(curve.key)
        title = f"{task} / {setting} / {curve.metric}"
        if scores is not None:
            title += f": {scores.verdict.label}"
        out.append(scaling_plot(curve, width=cols, height=height, color=color, title=title))
        mirage = analysis.mirage_for(task, setting)
        if mirage is not None and mirage.discrete_metric and mirage.continuous:
            discrete = analysis.curve(task, setting, mirage.discrete_metric)
            cont = analysis.curve(task, setting, next(iter(mirage.continuous)))
            if discrete is not None and cont is not None:
                plot = mirage_plot(discrete, cont, width=cols, height=height, color=color)
                out.append(plot + f"\nmirage test: {mirage.outcome} ({mirage.reason})")
    return out


def run_plots(
    store: Store, run_id: str, *, seed: int = 0, width: int | None = None, color: bool = False
) -> list[str]:
    """:func:`analysis_plots` of a stored run (sigmoid bootstrap skipped: plots only)."""
    from emergetui.analysis.analyze import AnalysisConfig
    from emergetui.report.from_store import analysis_from_store, preferred_metrics

    analysis = analysis_from_store(store, run_id, seed=seed, config=AnalysisConfig(n_boot_fit=0))
    return analysis_plots(analysis, preferred_metrics(store, run_id), width=width, color=color)
