"""The compact ladder tables and verdict lines the batch output leads with.

Why: the long table (one row per task setting x rung, every metric) runs to hundreds of
rows for a real suite (24 BIG-bench Lite tasks x shots x 7 rungs) and buries the findings.
Here each task setting gets one small table whose columns are the rungs and whose rows
are its headline metric and one continuous partner (the metric that shows whether a
jump is a mirage), each cell the mean with its 95% interval; the verdicts shrink to one
line per setting worth reading, the flat ones named together. The long table stays
behind ``--table full`` (:func:`emergetui.report.document.results_table`).
"""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emergetui.analysis.data import HEADLINE_ORDER
from emergetui.analysis.findings import PERCENT, WORDS

TABLE_CHOICES = ("compact", "full")
#: Continuous partners of a headline metric, best first: per-token accuracy reads as the
#: smooth side of exact match, P(correct) of a multiple-choice grade.
PARTNER_ORDER = ("token_accuracy", "prob_correct", "logprob_correct_mean", "logprob_correct")
#: Verdicts whose curves are worth a plot and a line of evidence in the compact output.
WORTH_SEEING = ("emergent", "step", "non-monotone", "inconclusive")
_INDENT = "  "


@dataclass(frozen=True)
class _Row:
    metric: str
    cells: list[tuple[str, str]]  # (mean, interval) per rung, "" where missing


def terminal_width(default: int = 100) -> int:
    """Columns to fit: the terminal's, $COLUMNS, else ``default`` (a pipe, a file)."""
    return shutil.get_terminal_size((default, 24)).columns


def _fmt(metric: str, v: Any) -> str:
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return "–"
    if metric in PERCENT:
        return f"{100 * v:.0f}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


#: Row labels short enough to leave the width to the rungs.
SHORT = {
    "exact_match": "exact match",
    "multiple_choice_grade": "MC grade",
    "token_accuracy": "token acc.",
    "prob_correct": "P(correct)",
    "logprob_correct_mean": "logprob/token",
    "logprob_correct": "logprob",
    "token_edit_distance": "edit dist.",
}


def _label(metric: str) -> str:
    word = SHORT.get(metric, metric.replace("_", " "))
    return f"{word} %" if metric in PERCENT else word


def _interval(metric: str, lo: Any, hi: Any) -> str:
    """``[lo,hi]``; ``[v]`` when both ends print the same (e.g. every item at 100%)."""
    a, b = _fmt(metric, lo), _fmt(metric, hi)
    return f"[{a}]" if a == b else f"[{a},{b}]"


def headline_of(doc: Mapping[str, Any], task: str, setting: str, metrics: Sequence[str]) -> str:
    """The setting's headline metric: the document's (BIG-bench's preferred_score), else the
    first of the analysis' headline order, else the first metric."""
    for h in doc.get("headline") or []:
        if h.get("task") == task and h.get("setting") == setting and h.get("metric") in metrics:
            return str(h["metric"])
    return next((m for m in HEADLINE_ORDER if m in metrics), metrics[0])


def partner_of(doc: Mapping[str, Any], task: str, setting: str, metrics: Sequence[str]) -> str:
    """The continuous metric shown under the headline: one the mirage test used, else the
    first of :data:`PARTNER_ORDER` the setting has."""
    head = headline_of(doc, task, setting, metrics)
    tested: set[str] = set()
    for m in doc.get("mirage") or []:
        if m.get("task") == task and m.get("setting") == setting:
            tested = set(m.get("continuous") or {})
    for pool in (tested, set(metrics)):
        got = next((m for m in PARTNER_ORDER if m in pool and m in metrics and m != head), None)
        if got:
            return got
    return ""


def _verdicts(doc: Mapping[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["task"], r["setting"], r["metric"]): r for r in doc.get("emergence") or []}


def compact_tables(doc: Mapping[str, Any], width: int | None = None) -> str:
    """One ladder table per task setting (after one for the rungs' size and held-out loss),
    all on one grid of rung columns so that they read down the page."""
    width = width or terminal_width()
    rungs = [g["label"] for g in doc.get("rungs") or []]
    by_key: dict[tuple[str, str], dict[tuple[str, str], Mapping[str, Any]]] = defaultdict(dict)
    for r in doc.get("results") or []:
        by_key[(r["task"], r["setting"])][(r["metric"], r["rung"])] = r
    present = [g for g in rungs if any(k[1] == g for rows in by_key.values() for k in rows)]
    verdicts = _verdicts(doc)
    tables: list[tuple[str, list[_Row]]] = [("", _ladder_rows(doc, present))]
    for (task, setting), rows in by_key.items():
        metrics = list(dict.fromkeys(m for m, _ in rows))
        head = headline_of(doc, task, setting, metrics)
        table_rows = []
        for m in [m for m in (head, partner_of(doc, task, setting, metrics)) if m]:
            cells = []
            for g in present:
                r = rows.get((m, g))
                lo, hi = (r.get("ci_low"), r.get("ci_high")) if r else (None, None)
                ci = _interval(m, lo, hi) if lo is not None and hi is not None else ""
                cells.append((_fmt(m, r.get("value")), ci) if r else ("", ""))
            table_rows.append(_Row(_label(m), cells))
        verdict = verdicts.get((task, setting, head), {}).get("verdict")
        title = f"{task} [{setting}]" + (f"  {verdict.upper()}" if verdict else "")
        tables.append((title, table_rows))
    grid = _Grid.fit(tables, present, width)
    out = [f"Ladder: {len(present)} rungs; cells are means [95% interval], % where a rate"]
    for title, table_rows in tables:
        out += grid.block(title, table_rows)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class _Grid:
    """Shared column positions: a label column, then one column per rung; ``inline`` puts
    each interval beside its mean, else on the line below it."""

    rungs: tuple[str, ...]
    label_w: int
    col_w: int
    inline: bool

    @classmethod
    def fit(
        cls, tables: Sequence[tuple[str, Sequence[_Row]]], rungs: Sequence[str], width: int
    ) -> _Grid:
        rows = [r for _, t in tables for r in t]
        labels = max([len(_INDENT + r.metric) for r in rows] or [8]) + 1
        joined = [f"{m} {ci}".rstrip() for r in rows for m, ci in r.cells]
        col_w = max([len(g) for g in rungs] + [len(c) for c in joined]) + 1
        inline = labels + col_w * len(rungs) <= width
        if not inline:
            parts = [x for r in rows for cell in r.cells for x in cell]
            col_w = max([len(g) for g in rungs] + [len(x) for x in parts]) + 1
        titles = max([len(t) + 2 for t, _ in tables] or [0])
        label_w = max(labels, min(titles, width - col_w * len(rungs)))
        return cls(tuple(rungs), label_w, col_w, inline)

    def block(self, title: str, rows: Sequence[_Row]) -> list[str]:
        labels = "".join(g.rjust(self.col_w) for g in self.rungs)
        if len(title) + 2 <= self.label_w:
            lines = [title.ljust(self.label_w) + labels]
        else:  # a long task name: its own line (the rung columns are the first table's)
            lines = [title]
        for r in rows:
            name = (_INDENT + r.metric).ljust(self.label_w)
            if self.inline:
                cells = (f"{m} {ci}".rstrip() for m, ci in r.cells)
                lines.append(name + "".join(c.rjust(self.col_w) for c in cells))
                continue
            lines.append(name + "".join(m.rjust(self.col_w) for m, _ in r.cells))
            if any(ci for _, ci in r.cells):
                cis = "".join(ci.rjust(self.col_w) for _, ci in r.cells)
                lines.append(" " * self.label_w + cis)
        return [line.rstrip() for line in lines]


def _ladder_rows(doc: Mapping[str, Any], rungs: Sequence[str]) -> list[_Row]:
    from emergetui.fmt import fmt_params

    info = {g["label"]: g for g in doc.get("rungs") or []}
    rows = [_Row("params", [(fmt_params(info[g].get("params") or 0), "") for g in rungs])]
    losses = [(info[g].get("heldout") or {}).get("loss") for g in rungs]
    if any(v is not None for v in losses):
        rows.append(_Row("held-out loss", [(_fmt("loss", v), "") for v in losses]))
    return rows


def compact_verdict_lines(doc: Mapping[str, Any]) -> list[str]:
    """Per task setting worth reading: the headline verdict, its critical scale and the
    mirage outcome, then its evidence; settings judged flat or smooth share one line each."""
    verdicts = _verdicts(doc)
    keys = list(dict.fromkeys((r["task"], r["setting"]) for r in doc.get("emergence") or []))
    lines: list[str] = []
    quiet: dict[str, list[str]] = defaultdict(list)
    for task, setting in keys:
        metrics = [m for (t, s, m) in verdicts if (t, s) == (task, setting)]
        head = verdicts[(task, setting, headline_of(doc, task, setting, metrics))]
        label = head["verdict"]
        name = f"{task} [{setting}]"
        if label not in WORTH_SEEING:
            quiet[label].append(name)
            continue
        word = WORDS.get(head["metric"], head["metric"].replace("_", " "))
        text = f"{name} {word}: {label.upper()}"
        mid = head.get("sigmoid_midpoint")
        if label == "emergent" and isinstance(mid, (int, float)):
            text += f" (critical scale ~{mid:.3g} params)"
        if head.get("mirage") and head["mirage"] != "n/a":
            text += f"; mirage test: {head['mirage']}"
        lines += [text, f"    evidence: {head.get('reason', '')}"]
    for label, names in quiet.items():
        lines.append(f"{label.upper()} ({len(names)}): {', '.join(names)}")
    return lines
