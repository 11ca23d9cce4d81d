"""Text views of an :class:`~emergetui.analysis.Analysis` for the results screen.

Plain functions returning strings and row tuples, so what the screen shows is
tested without a terminal and the screen module only lays widgets out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.compare import Overlay
from emergetui.analysis.curves import Curve
from emergetui.analysis.icl import IclResult, setting_family
from emergetui.analysis.loss_ability import LossAbility
from emergetui.fmt import fmt_params, fmt_value
from emergetui.tui.live import order_metrics


def metrics_of(analysis: Analysis, task: str, setting: str) -> list[str]:
    return order_metrics(
        c.metric for c in analysis.curves if (c.task, c.setting) == (task, setting)
    )


def table_metrics(analysis: Analysis) -> list[str]:
    """Every metric of the run, in the order the metric toggle visits them (discrete first)."""
    return order_metrics(c.metric for c in analysis.curves)


def table_rows(
    analysis: Analysis, heldout: dict[str, float | None]
) -> tuple[list[str], list[tuple[str, ...]]]:
    """Rung × (task, setting) rows, one column per metric, each cell ``mean [lo, hi]``."""
    metrics = table_metrics(analysis)
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    params: dict[str, int] = {}
    for c in analysis.curves:
        for p in c.points:
            params[p.rung] = p.params
            cell = f"{fmt_value(p.mean)} [{fmt_value(p.ci_low, 2)},{fmt_value(p.ci_high, 2)}]"
            cells.setdefault((c.task, c.setting, p.rung), {})[c.metric] = cell
    order = {r.label: i for i, r in enumerate(analysis.rungs)}
    rows = []
    for (task, setting, rung), by_metric in sorted(
        cells.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get(kv[0][2], 99))
    ):
        loss = heldout.get(rung)
        rows.append(
            (
                task,
                setting,
                rung,
                fmt_params(params[rung]),
                fmt_value(loss) if loss is not None else "",
                *(by_metric.get(m, "") for m in metrics),
            )
        )
    return ["task", "setting", "rung", "params", "loss", *metrics], rows


def verdict_text(analysis: Analysis, task: str, setting: str, metric: str) -> str:
    """The verdict, its reason, the critical scale and the mirage outcome of one curve."""
    scores = analysis.scores_for((task, setting, metric))
    if scores is None:
        return "no verdict (no curve for this metric)"
    text = f"verdict: {scores.verdict.label.upper()} — {scores.verdict.reason}"
    fit = scores.transition
    if fit is not None:
        ci = fit.critical_params_ci
        text += (
            f"\ncritical scale ~{fmt_params(fit.critical_params)} params "
            f"[{fmt_params(ci[0])}, {fmt_params(ci[1])}]; 10-90% rise "
            f"{fit.span_ci[0]:.2g}-{fit.span_ci[1]:.2g} decades vs rung gap {fit.gap:.2g}"
        )
    mirage = analysis.mirage_for(task, setting)
    if mirage is not None and mirage.outcome != "n/a":
        text += f"\nmirage test: {mirage.outcome} — {mirage.reason}"
        if mirage.mechanism:
            text += f"\nmechanism: {mirage.mechanism}"
    return text


def verdict_rows(analysis: Analysis) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in analysis.scores:
        mirage = analysis.mirage_for(s.task, s.setting)
        t = s.transition
        crit = fmt_params(t.critical_params) if t is not None else ""
        jump = s.verdict.jump.text() if s.verdict.jump is not None else ""
        width = f"{t.gaps_ci[0]:.2g}-{t.gaps_ci[1]:.2g} gaps" if t is not None else ""
        rows.append(
            (
                s.task,
                s.setting,
                s.metric,
                s.verdict.label,
                jump,
                width,
                crit,
                mirage.outcome if mirage is not None else "n/a",
                s.verdict.reason,
            )
        )
    return rows


def loss_for(analysis: Analysis, task: str, setting: str, metric: str) -> LossAbility | None:
    return analysis.loss_for((task, setting, metric))


def findings_text(analysis: Analysis) -> str:
    """The run's findings in plain words, one bullet each (what the batch output leads with)."""
    from emergetui.analysis.findings import findings

    return "\n".join(f"* {f.text}" for f in findings(analysis))


def comparable_losses(analysis: Analysis, focus: LossAbility) -> list[LossAbility]:
    """The run's other abilities that share the focus curve's scale (rates on [0, 1]), to draw
    beside it; none when the focus is a log-likelihood or a distance, which would flatten them."""

    def unit(x: LossAbility) -> bool:
        return all(0.0 <= v <= 1.0 for v in x.means)

    from emergetui.analysis.findings import ability_losses

    if not unit(focus):
        return []
    return [x for x in ability_losses(analysis) if x.key != focus.key and unit(x)]


def loss_text(result: LossAbility | None, any_heldout: bool) -> str:
    if result is None:
        if not any_heldout:
            return "no held-out loss stored for this run (start it with a held-out corpus)"
        return "not enough rungs with a held-out loss for this curve"
    parts = []
    if result.threshold is not None:
        ci = (
            f" [{result.threshold_ci[0]:.2f}, {result.threshold_ci[1]:.2f}]"
            if result.threshold_ci
            else ""
        )
        parts.append(f"ability half way up at loss {result.threshold:.3f}{ci}")
    else:
        parts.append(result.threshold_note or "no loss threshold found")
    if result.onset is not None:
        o = result.onset
        bound = "at or above " if o.open_above else ""
        parts.append(f"leaves its plateau {bound}loss {o.value:.3f} [{o.ci[0]:.2f}, {o.ci[1]:.2f}]")
    if result.loss_spearman is not None:
        parts.append(f"Spearman(loss, ability) = {result.loss_spearman:.2f}")
    if result.confounded:
        parts.append("size and loss confounded (one checkpoint per size)")
    if result.loss_smooth_ability_jumps:
        parts.append("loss falls with size while the ability is emergent")
    return "; ".join(parts)


def icl_for(analysis: Analysis, task: str, setting: str, metric: str) -> IclResult | None:
    family = setting_family(setting)
    return next(
        (r for r in analysis.icl if (r.task, r.family, r.metric) == (task, family, metric)), None
    )


def icl_text(result: IclResult | None) -> str:
    if result is None:
        return (
            "in-context learning needs this task at 0 shots and at least one k > 0 "
            "(set shots, e.g. 0,1,3)"
        )
    shots = ", ".join(map(str, result.shots))
    where = f"{result.first_rung} (k={result.first_shots})" if result.first_rung else "none"
    return (
        f"shots {shots}: {result.summary()}; "
        f"per rung, k shots beat 0 from: {where} (moves with the item count)"
    )


def axis_overlay(data: Any, curve: Curve, axis: str, others: Sequence[Any] = ()) -> Overlay:
    """The results screen's curve on an x axis (the ``x`` key), with the series of the same
    experiment on other ladders (the ``c`` key) drawn beside it."""
    from emergetui.analysis.compare import metric_overlay
    from emergetui.analysis.series import Series
    from emergetui.report.compare import series_axes

    key, rungs, _ = series_axes(data.ladder, data.rungs)
    mine = Series(key, data.run_id, data.analysis, rungs)
    return metric_overlay([mine, *others], curve.task, curve.setting, curve.metric, axis)


def load_siblings(store_path: Any, run_id: str, seed: int, config: Any) -> list[Any]:
    """The stored runs of this experiment on other ladders, as series (a worker thread's job)."""
    from emergetui.report.compare import series_from_store, sibling_runs
    from emergetui.store.results import Store

    with Store(store_path) as store:
        return [
            series_from_store(store, rid, seed=seed, config=config)[0]
            for rid in sibling_runs(store, run_id)
        ]
