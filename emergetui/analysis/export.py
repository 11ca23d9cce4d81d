"""Flat views of an :class:`Analysis` for the batch CLI's JSON and for CSV.

The batch CLI writes ``{"run_id", "ladder", "rungs", "results"}``; the
functions here add to that document without knowing how it is built:
:func:`augment_results` puts ``ci_low``/``ci_high`` on each result row and
:func:`emergence_json` supplies the ``"emergence"`` list. Values that JSON
cannot carry become ``null`` (NaN) or, for the infinite breakthroughness of
a pure step, the string ``"inf"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emergetui.analysis.jsonable import clean_json, json_float

if TYPE_CHECKING:
    from emergetui.analysis.analyze import Analysis


def emergence_json(analysis: Analysis) -> list[dict[str, Any]]:
    """One entry per curve: verdict, scores, critical scale, mirage, loss threshold.

    ``sigmoid_midpoint`` and its CI are parameter counts (the critical
    scale); ``span_*`` the 10%-90% rise in decades and in rung gaps;
    ``jump`` the paired difference across the transition; ``mirage`` is
    the outcome of the curve's task/setting, ``mirage_mechanism`` the
    observed-vs-p^L line; ``loss_threshold`` (the rise's midpoint) and
    ``loss_onset`` (where the ability leaves its plateau; ``open_above`` when
    it may lie above the highest measured loss) are in the held-out loss's
    units (nats per token).
    """
    out: list[dict[str, Any]] = []
    for s in analysis.scores:
        key = (s.task, s.setting, s.metric)
        mirage = analysis.mirage_for(s.task, s.setting)
        loss = analysis.loss_for(key)
        onset = loss.onset if loss is not None else None
        t = s.transition
        v = s.verdict
        claim = analysis.claims.for_curve(*key) if analysis.claims is not None else None
        out.append(
            {
                "task": s.task,
                "setting": s.setting,
                "metric": s.metric,
                "verdict": v.label,
                "reason": v.reason,
                "p_value": v.p_value,
                "bh_survives": claim.bh if claim is not None else None,
                "sudden": v.sudden,
                "decide_params": v.decide_params,
                "fit_rungs": list(v.fit_rungs),
                "breakthroughness": json_float(s.breakthroughness),
                "linearity": json_float(s.linearity),
                "sigmoid_midpoint": t.critical_params if t is not None else None,
                "sigmoid_midpoint_ci": list(t.critical_params_ci) if t is not None else None,
                "span_decades": t.span if t is not None else None,
                "span_ci_decades": list(t.span_ci) if t is not None else None,
                "gap_decades": t.gap if t is not None else None,
                "span_in_gaps_ci": list(t.gaps_ci) if t is not None else None,
                "plateau_rungs": t.plateau if t is not None else None,
                "jump": vars(v.jump).copy() if v.jump is not None else None,
                "fall": vars(v.fall).copy() if v.fall is not None else None,
                "above_chance": list(v.above),
                "mirage": mirage.outcome if mirage is not None else "n/a",
                "mirage_reason": mirage.reason if mirage is not None else None,
                "mirage_mechanism": mirage.mechanism if mirage is not None else None,
                "loss_threshold": loss.threshold if loss is not None else None,
                "loss_threshold_ci": list(loss.threshold_ci)
                if loss is not None and loss.threshold_ci
                else None,
                "loss_onset": onset.value if onset else None,
                "loss_onset_ci": list(onset.ci) if onset else None,
                "loss_onset_open_above": onset.open_above if onset else None,
                "size_loss_confounded": loss.confounded if loss is not None else None,
                "loss_smooth_ability_jumps": loss.loss_smooth_ability_jumps
                if loss is not None
                else None,
            }
        )
    return clean_json(out)


def points_rows(analysis: Analysis) -> list[dict[str, Any]]:
    """One row per curve point (rung x task x setting x metric), CSV-ready."""
    rows: list[dict[str, Any]] = []
    for curve in analysis.curves:
        scores = analysis.scores_for(curve.key)
        for p in curve.points:
            rows.append(
                {
                    "task": curve.task,
                    "setting": curve.setting,
                    "shots": curve.shots,
                    "metric": curve.metric,
                    "rung": p.rung,
                    "params": p.params,
                    "mean": p.mean,
                    "ci_low": p.ci_low,
                    "ci_high": p.ci_high,
                    "n": p.n,
                    "n_errors": p.n_errors,
                    "chance": curve.chance,
                    "heldout_loss": p.heldout_loss,
                    "verdict": scores.verdict.label if scores else None,
                }
            )
    return clean_json(rows)


def augment_results(results: list[dict[str, Any]], analysis: Analysis) -> None:
    """Add ``ci_low``/``ci_high`` to the batch CLI's result rows, in place.

    Rows are matched on ``(rung, task, metric)`` plus ``setting`` when the row
    has one, else ``shots``. A row with no matching point (or one matching
    several settings with the same shot count) gets ``None`` bounds rather
    than a wrong interval.
    """
    by_setting: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    by_shots: dict[tuple[str, str, str, int], list[tuple[float, float]]] = {}
    for curve in analysis.curves:
        for p in curve.points:
            ci = (p.ci_low, p.ci_high)
            by_setting[(p.rung, curve.task, curve.setting, curve.metric)] = ci
            by_shots.setdefault((p.rung, curve.task, curve.metric, curve.shots), []).append(ci)
    for row in results:
        found: tuple[float, float] | None = None
        rung, task, metric = str(row.get("rung")), str(row.get("task")), str(row.get("metric"))
        if row.get("setting") is not None:
            found = by_setting.get((rung, task, str(row["setting"]), metric))
        elif row.get("shots") is not None:
            matches = by_shots.get((rung, task, metric, int(row["shots"])), [])
            found = matches[0] if len(matches) == 1 else None
        row["ci_low"] = clean_json(found[0]) if found else None
        row["ci_high"] = clean_json(found[1]) if found else None


def corpus_results(analysis: Analysis) -> list[dict[str, Any]]:
    """Result rows (``level: "corpus"``) for the corpus curves, per task setting and rung.

    Each row is BIG-bench's statistic on the rung's items with the percentile
    interval of the task setting's shared item bootstrap; a rung where the
    statistic has no value gets a row with ``value: null`` and the ``note``
    saying why (e.g. no stored answers).
    """
    order = {r.label: i for i, r in enumerate(analysis.rungs)}
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for curve in analysis.curves:
        if not curve.corpus:
            continue
        for p in curve.points:
            row = {
                "rung": p.rung,
                "task": curve.task,
                "setting": curve.setting,
                "shots": curve.shots,
                "metric": curve.metric,
                "value": p.mean,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "n": p.n,
                "chance": None,
                "level": "corpus",
            }
            rows.append(((curve.task, curve.setting, order.get(p.rung, 99), curve.metric), row))
    shots = {(c.task, c.setting): c.shots for c in analysis.curves}
    for note in analysis.corpus_notes:
        row = {
            "rung": note.rung,
            "task": note.task,
            "setting": note.setting,
            "shots": shots.get((note.task, note.setting), 0),
            "metric": note.metric,
            "value": None,
            "ci_low": None,
            "ci_high": None,
            "n": note.n,
            "chance": None,
            "level": "corpus",
            "note": note.note,
        }
        rows.append(((note.task, note.setting, order.get(note.rung, 99), note.metric), row))
    return clean_json([row for _, row in sorted(rows, key=lambda kv: kv[0])])
