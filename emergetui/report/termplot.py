"""Terminal plots through plotext, returned as strings.

Plots are built with ``plotext.build()`` so the same text serves the CLI (a
pure terminal, no GUI), the saved report (``.txt`` files) and any TUI that
wants to show it. Colour codes are stripped unless ``color=True``, because a
report file must read cleanly in an editor. plotext keeps its figure in
module state, so every function here starts by clearing it; the drawing itself is
:mod:`emergetui.report.figures`, shared with the lab.
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import plotext as plt

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.curves import Curve
from emergetui.analysis.findings import ability_losses
from emergetui.analysis.icl import IclResult, setting_family
from emergetui.analysis.loss_ability import LossAbility
from emergetui.report import figures

if TYPE_CHECKING:
    from emergetui.store.stored_run import StoredRun


def _size(width: int, height: int) -> None:
    """The caller's size, not the terminal's ($COLUMNS, a narrow tty): clear_figure resets both
    the size and its limit, so this is set again after every clear."""
    plt.limitsize(False, False)
    plt.plotsize(width, height)


def _start(width: int, height: int) -> None:
    plt.clear_figure()
    _size(width, height)


def _finish(color: bool, width: int, height: int) -> str:
    _size(width, height)  # again: drawing starts with clear_figure
    text = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


def scaling_plot(
    curve: Curve,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
    title: str | None = None,
    x: str = "params",
) -> str:
    """Mean with 95% CI bars against scale, chance in red.

    ``x`` is ``"params"`` (the default, log axis), ``"train_tokens"`` (log
    axis) or ``"heldout_loss"`` (reversed, so better models are to the
    right); rungs without that number are left out. Verdicts are always
    computed against parameter count.
    """
    figures.x_values(curve, x)  # an unknown axis fails before plotext's state is touched
    _start(width, height)
    figures.draw_curve(plt, curve, title or f"{curve.task} / {curve.setting} / {curve.metric}", x)
    return _finish(color, width, height)


def mirage_plot(
    discrete: Curve, continuous: Curve, *, width: int = 80, height: int = 20, color: bool = False
) -> str:
    """The discrete metric (left axis) next to a continuous one on the same outputs (right axis)."""
    _start(width, height)
    figures.draw_mirage(plt, discrete, continuous)
    return _finish(color, width, height)


def loss_plot(
    result: LossAbility,
    chance: float | None = None,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
) -> str:
    """Ability against held-out loss, lower loss to the right (Du et al. 2024)."""
    _start(width, height)
    figures.draw_loss(plt, result, chance)
    return _finish(color, width, height)


def losses_plot(
    results: Sequence[LossAbility], *, width: int = 80, height: int = 20, color: bool = False
) -> str:
    """Every ability of the findings against held-out loss, in one plot."""
    _start(width, height)
    figures.draw_losses(plt, results, focus=False)
    return _finish(color, width, height)


def icl_plot(
    result: IclResult,
    *,
    width: int = 80,
    height: int = 20,
    color: bool = False,
    rungs: Sequence[str] | None = None,
) -> str:
    """Metric against shot count, one line per rung."""
    _start(width, height)
    figures.draw_icl(plt, result, rungs)
    return _finish(color, width, height)


def analysis_plots(
    analysis: Analysis,
    preferred: Mapping[tuple[str, str], str] | None = None,
    *,
    width: int | None = None,
    height: int = 18,
    color: bool = False,
    only: Collection[str] | None = None,
    max_plots: int | None = None,
) -> list[str]:
    """The plots to print after a run: one headline curve per task/setting.

    ``only`` (the compact output) keeps the settings whose headline verdict is one of
    these labels (an ICL family: when any of its settings is) and drops the mirage plot,
    whose outcome the verdict line gives; ``max_plots`` keeps the first ones and adds a
    line saying how many more ``emergetui report`` draws.

    The headline is the task set's preferred metric (else the first discrete
    one); when the mirage test has an outcome, the discrete-vs-continuous
    plot follows it, since a verdict of "emergent" should never be read
    without it. A family of shot settings shows its 0-shot curve and then one
    plot of the metric against shots, a line per rung (the in-context
    learning curves), instead of a scaling curve per shot count. Last, every
    ability of the findings against held-out loss, together.
    """

    cols = width or max(60, min(120, shutil.get_terminal_size((100, 24)).columns))
    keys = list(dict.fromkeys((c.task, c.setting) for c in analysis.curves))
    icl = {(r.task, r.family, r.metric): r for r in analysis.icl}
    out: list[str] = []
    for task, setting in keys:
        curve = analysis.headline(task, setting, (preferred or {}).get((task, setting)))
        if curve is None:
            continue
        family = icl.get((task, setting_family(setting), curve.metric))
        if family is not None and curve.shots > 0:
            continue
        scores = analysis.scores_for(curve.key)
        if only is not None:
            worth = scores is not None and scores.verdict.label in only
            if not worth and family is None:
                continue
            if family is not None:
                members = [
                    c.setting
                    for c in analysis.curves
                    if c.task == task
                    and c.metric == curve.metric
                    and setting_family(c.setting) == family.family
                ]
                if any(_verdict(analysis, task, s, curve.metric) in only for s in members):
                    rungs = [r.label for r in analysis.rungs]
                    out.append(
                        icl_plot(family, width=cols, height=height, color=color, rungs=rungs)
                    )
                continue
        title = f"{task} / {setting} / {curve.metric}"
        if scores is not None:
            title += f": {scores.verdict.label}"
        out.append(scaling_plot(curve, width=cols, height=height, color=color, title=title))
        mirage = analysis.mirage_for(task, setting)
        if only is None and mirage is not None and mirage.discrete_metric and mirage.continuous:
            discrete = analysis.curve(task, setting, mirage.discrete_metric)
            cont = analysis.curve(task, setting, next(iter(mirage.continuous)))
            if discrete is not None and cont is not None:
                plot = mirage_plot(discrete, cont, width=cols, height=height, color=color)
                out.append(plot + f"\nmirage test: {mirage.outcome} ({mirage.reason})")
        if family is not None:
            rungs = [r.label for r in analysis.rungs]
            out.append(icl_plot(family, width=cols, height=height, color=color, rungs=rungs))
    losses = ability_losses(analysis, preferred)
    if len(losses) > 1:
        out.append(losses_plot(losses, width=cols, height=height, color=color))
    if max_plots is not None and len(out) > max_plots:
        more = len(out) - max_plots
        out = out[:max_plots]
        out.append(f"({more} more plot{'s' * (more > 1)}: `emergetui report RUN --out DIR`)")
    return out


def _verdict(analysis: Analysis, task: str, setting: str, metric: str) -> str | None:
    curve = analysis.curve(task, setting, metric)
    scores = analysis.scores_for(curve.key) if curve is not None else None
    return scores.verdict.label if scores is not None else None


def run_plots(
    run: StoredRun,
    analysis: Analysis,
    *,
    width: int | None = None,
    color: bool = False,
    only: Collection[str] | None = None,
    max_plots: int | None = None,
    height: int = 18,
) -> list[str]:
    """:func:`analysis_plots` of a stored run's analysis, with its tasks' headline metrics."""
    return analysis_plots(
        analysis,
        run.preferred,
        width=width,
        height=height,
        color=color,
        only=only,
        max_plots=max_plots,
    )
