"""The Markdown report: every table a reader needs to judge a claim of emergence.

The verdict table alone would invite over-reading, so the report puts next
to it the per-rung means with their intervals, the mirage test, the loss
view and the rule the verdicts were made by, all from the same
:class:`~emergetui.analysis.Analysis`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.rule_text import verdict_rule_text
from emergetui.fmt import fmt_params


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table cell; missing and non-finite values show as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞" if v > 0 else "-∞"
        return f"{v:.{digits}g}"
    return str(value)


def fmt_ci(mean: Any, lo: Any, hi: Any, digits: int = 3) -> str:
    if mean is None:
        return "–"
    return f"{fmt(mean, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        lines.append("| " + " | ".join(_cell(str(c)) for c in row) + " |")
    return "\n".join(lines)


def _rungs_section(analysis: Analysis) -> str:
    rows = []
    for r in analysis.rungs:
        h = r.heldout or {}
        rows.append(
            [
                r.label,
                fmt_params(r.params),
                fmt(h.get("loss"), 4),
                fmt(h.get("bpb"), 4),
                fmt(h.get("ppl"), 4),
            ]
        )
    return "## Rungs\n\n" + table(["rung", "params", "held-out loss", "bits/byte", "ppl"], rows)


def _curves_section(analysis: Analysis) -> str:
    parts = ["## Scaling curves (mean [95% CI] per rung)"]
    groups: dict[tuple[str, str], list] = {}
    for c in analysis.curves:
        groups.setdefault((c.task, c.setting), []).append(c)
    for (task, setting), curves in groups.items():
        labels = [
            r.label
            for r in analysis.rungs
            if any(p.rung == r.label for c in curves for p in c.points)
        ]
        rows = []
        for label in labels:
            row: list[Any] = [label]
            for c in curves:
                p = next((p for p in c.points if p.rung == label), None)
                row.append(fmt_ci(p.mean, p.ci_low, p.ci_high) + f" (n={p.n})" if p else "–")
            rows.append(row)
        rows.append(["chance", *[fmt(c.chance) for c in curves]])
        parts.append(
            f"### {task} / {setting}\n\n" + table(["rung", *[c.metric for c in curves]], rows)
        )
    return "\n\n".join(parts)


def _verdict_section(analysis: Analysis) -> str:
    rows = []
    for s in analysis.scores:
        t = s.transition
        if t is not None:
            ci = t.critical_params_ci
            crit = fmt_params(t.critical_params)
            crit += f" [{fmt_params(ci[0])}, {fmt_params(ci[1])}]"
            width = f"{fmt(t.span_ci[0], 2)}-{fmt(t.span_ci[1], 2)} dec / gap {fmt(t.gap, 2)}"
        else:
            crit, width = "–", "–"
        jump = s.verdict.jump.text() if s.verdict.jump is not None else "–"
        rows.append(
            [
                s.task,
                s.setting,
                s.metric,
                f"**{s.verdict.label}**",
                jump,
                width,
                crit,
                fmt(s.breakthroughness),
                s.verdict.reason,
            ]
        )
    headers = [
        "task",
        "setting",
        "metric",
        "verdict",
        "jump at the transition [95% CI]",
        "10-90% rise vs rung gap",
        "critical scale [95% CI]",
        "breakthroughness",
        "evidence",
    ]
    return "## Verdicts\n\n" + table(headers, rows)


def _mirage_section(analysis: Analysis) -> str:
    rows = []
    for m in analysis.mirage:
        cont = ", ".join(f"{k}: {v}" for k, v in m.continuous.items()) or "–"
        jump = f"{m.jump[0]} → {m.jump[1]}" if m.jump else "–"
        rows.append(
            [
                m.task,
                m.setting,
                m.discrete_metric or "–",
                jump,
                f"**{m.outcome}**",
                cont,
                m.reason,
                m.mechanism or "–",
            ]
        )
    intro = (
        "Same stored outputs, nonlinear metric next to linear ones "
        "(Schaeffer et al. 2023): *mirage* means the linear metrics rise "
        "smoothly (or already improve across the plateau) where the nonlinear one "
        "jumps. The mechanism column puts the observed exact match beside the one "
        "predicted from per-token probabilities, mean p_token^L."
    )
    headers = [
        "task",
        "setting",
        "nonlinear metric",
        "jump",
        "outcome",
        "linear metrics",
        "why",
        "mechanism",
    ]
    return "## Mirage test\n\n" + intro + "\n\n" + table(headers, rows)


def _loss_section(analysis: Analysis) -> str:
    rows = []
    for x in analysis.loss_ability:
        thr = fmt(x.threshold, 4)
        if x.threshold_ci:
            thr += f" [{fmt(x.threshold_ci[0], 4)}, {fmt(x.threshold_ci[1], 4)}]"
        onset = "–"
        if x.onset is not None:
            onset = (">= " if x.onset.open_above else "") + fmt(x.onset.value, 4)
            onset += f" [{fmt(x.onset.ci[0], 4)}, {fmt(x.onset.ci[1], 4)}]"
        rows.append(
            [
                x.task,
                x.setting,
                x.metric,
                onset,
                thr,
                x.threshold_note,
                fmt(x.loss_spearman, 2),
                fmt(x.loss_breakthroughness),
                fmt(x.ability_breakthroughness),
                fmt(x.loss_smooth_ability_jumps),
            ]
        )
    if not rows:
        return (
            "## Loss to ability\n\n"
            "No rung has a held-out loss; run the reference corpus to get one."
        )
    headers = [
        "task",
        "setting",
        "metric",
        "onset: leaves the plateau at loss [95% CI]",
        "loss threshold [95% CI]",
        "note",
        "Spearman(params, loss)",
        "B(loss)",
        "B(ability)",
        "loss smooth, ability jumps",
    ]
    intro = (
        "Ability against held-out pre-training loss (Du et al. 2024); the threshold "
        "is the midpoint of a logistic fitted in -loss, with its likelihood-ratio CI. "
        "With one checkpoint per size, loss and size are confounded and the "
        "threshold restates the critical scale."
    )
    return "## Loss to ability\n\n" + intro + "\n\n" + table(headers, rows)


def _icl_section(analysis: Analysis) -> str:
    if not analysis.icl:
        return "## In-context learning\n\nNo task was run with both 0 and k > 0 shots."
    rows = []
    for r in analysis.icl:
        first = next(
            (c for c in r.comparisons if c.rung == r.first_rung and c.shots == r.first_shots),
            None,
        )
        diff = fmt_ci(first.diff, first.ci_low, first.ci_high) if first else "–"
        where = f"{r.first_rung} ({r.first_shots}-shot)" if r.first_rung else "never"
        rows.append(
            [r.task, r.family, r.metric, ", ".join(map(str, r.shots)), r.summary(), where, diff]
        )
    headers = [
        "task",
        "setting family",
        "metric",
        "shots",
        "gain from examples and its trend in size [95% CI]",
        "per rung: first where k-shot beats 0-shot (moves with n)",
        "that rung's difference [95% CI]",
    ]
    return "## In-context learning\n\n" + table(headers, rows)


def render_markdown(
    analysis: Analysis,
    *,
    title: str = "Emergence report",
    plots: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
    extra: Sequence[str] = (),
    preferred: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """The whole report, led by the findings in plain words. ``plots`` maps a heading to
    relative file links; ``extra`` sections (the BIG-bench corpus metrics) follow the scaling
    curves; ``preferred`` names each task setting's headline metric."""
    cfg = analysis.config
    head = [
        f"# {title}",
        "",
        f"{len(analysis.rungs)} rungs, {len(analysis.curves)} curves; bootstrap: "
        f"{cfg.n_boot} resamples of item ids shared by all rungs of a task setting; "
        f"seed {analysis.seed}; {cfg.level:.0%} intervals (Wilson for pass/fail metrics).",
    ]
    for warning in [*analysis.warnings, *notes]:
        head.append(f"\n> {warning}")
    from emergetui.analysis.findings import findings

    lines = [f"* {f.text}" for f in findings(analysis, preferred)]
    sections = [
        "\n".join(head),
        *(["## Findings\n\n" + "\n".join(lines)] if lines else []),
        _rungs_section(analysis),
        _verdict_section(analysis),
        _mirage_section(analysis),
        _loss_section(analysis),
        _icl_section(analysis),
        _curves_section(analysis),
        *extra,
        "## How verdicts are decided\n\n```text\n" + verdict_rule_text(cfg.verdict) + "\n```",
    ]
    if plots:
        lines = ["## Plots"]
        for heading, links in plots.items():
            lines.append(f"\n### {heading}\n")
            lines.extend(f"- [{link}]({link})" for link in links)
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"
