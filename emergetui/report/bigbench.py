"""The BIG-bench part of a report: corpus-level metrics per rung with their CIs.

Why a section of its own: BLEU, macro-F1, BIG-bench's Brier score and its ECE are
statistics of a whole set of outputs, not means over items, so they are not among
the analysis's curves; without this section a report of a run of ``emoji_movie`` or
``conlang_translation`` would show exact match and ROUGE but not the BLEU the task
declares. The values are the run document's (``--json``) corpus rows, computed by the
same function with the same seed, so a report and the run document agree to the last
digit. ROUGE, a per-item score BIG-bench averages, comes from the analysis's curves
(the run document's ROUGE rows, up to float rounding of the mean) and is shown beside
BLEU because BIG-bench tasks declare the two together. Metrics a task declares that emergetui does
not compute (BLEURT) are listed with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.export import corpus_results
from emergetui.tasks.bigbench_metrics import ROUGE_TYPES

if TYPE_CHECKING:
    from emergetui.store.stored_run import StoredRun

#: Metrics shown in the section, in this order: BIG-bench's text metrics, then calibration.
SECTION_METRICS = (
    "bleu",
    *ROUGE_TYPES,
    "macro_f1",
    "calibration_multiple_choice_brier_score",
    "expected_calibration_error",
)
SHORT = {
    "calibration_multiple_choice_brier_score": "Brier score",
    "expected_calibration_error": "ECE (15 buckets)",
}
ROW_FIELDS = (
    "task",
    "setting",
    "metric",
    "rung",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "level",
    "headline",
    "note",
)


@dataclass
class BigBenchSection:
    """Corpus rows, calibration rows and not-computed reasons of one run.

    The corpus rows (``level == "corpus"``) are the analysis's corpus curves, exactly the
    rows of the run document; ``calibration`` its ``calibration`` rows (BIG-bench's Brier
    score and ECE and emergetui's 10-bin ECE per rung); ``not_computed`` maps each
    declared metric that is not computed to the reason; ``headline`` each task setting's
    headline metric.
    """

    #: corpus rows given directly; None (the usual case): the analysis's corpus curves
    corpus: list[dict[str, Any]] | None = None
    calibration: list[dict[str, Any]] = field(default_factory=list)
    not_computed: dict[str, str] = field(default_factory=dict)
    headline: dict[tuple[str, str], str] = field(default_factory=dict)
    rung_order: list[str] = field(default_factory=list)

    @classmethod
    def from_records(
        cls,
        records: Sequence[Any],
        rung_order: Sequence[str],
        *,
        not_computed: Iterable[str] = (),
        headline: Mapping[tuple[str, str], str] | None = None,
    ) -> BigBenchSection:
        """From stored rows, as :func:`~emergetui.report.document.document_from_records`
        computes its calibration rows (same function, hence the same numbers)."""
        from emergetui.report.document import calibration, not_computed_reasons

        order = {label: i for i, label in enumerate(rung_order)}
        return cls(
            calibration=calibration(list(records), order),
            not_computed=not_computed_reasons(sorted(set(not_computed))),
            headline=dict(headline or {}),
            rung_order=list(rung_order),
        )

    @classmethod
    def from_run(cls, run: StoredRun) -> BigBenchSection:
        return cls.from_records(
            run.records, run.rung_order, not_computed=run.not_computed, headline=run.preferred
        )

    def rows(self, analysis: Analysis) -> list[dict[str, Any]]:
        """Every shown value: the corpus rows, then ROUGE from the analysis's curves for
        the task settings that have corpus rows or a ROUGE curve."""
        out = []
        for r in self.corpus if self.corpus is not None else corpus_results(analysis):
            key = (r["task"], r["setting"])
            out.append({**r, "headline": self.headline.get(key) == r["metric"]})
        for curve in analysis.curves:
            if curve.metric not in ROUGE_TYPES:
                continue
            key = (curve.task, curve.setting)
            for p in curve.points:
                out.append(
                    {
                        "task": curve.task,
                        "setting": curve.setting,
                        "metric": curve.metric,
                        "rung": p.rung,
                        "value": p.mean,
                        "ci_low": p.ci_low,
                        "ci_high": p.ci_high,
                        "n": p.n,
                        "level": "item mean",
                        "headline": self.headline.get(key) == curve.metric,
                    }
                )
        order = {label: i for i, label in enumerate(self.rung_order)}
        rank = {m: i for i, m in enumerate(SECTION_METRICS)}
        out.sort(
            key=lambda r: (
                r["task"],
                r["setting"],
                order.get(r["rung"], len(order)),
                rank.get(r["metric"], len(rank)),
            )
        )
        return out

    def markdown(self, analysis: Analysis) -> str:
        """``## BIG-bench metrics``: per task setting, rung x metric, value [95% CI] (n)."""
        from emergetui.report.markdown import fmt, fmt_ci, table

        rows = self.rows(analysis)
        parts = ["## BIG-bench metrics (corpus level and ROUGE, per rung)"]
        if not rows and not self.not_computed:
            return parts[0] + "\n\nNo task of this run declares a corpus-level metric."
        parts.append(
            "BLEU (sacrebleu as T5 calls it), macro-F1, the Brier score and the 15-bucket ECE "
            "are BIG-bench's functions on all of a rung's items; their 95% intervals come "
            "from recomputing the statistic on item-bootstrap replicates shared by every rung "
            "of the task setting. ROUGE is the mean of the per-item F-measures (BIG-bench "
            "reports a bootstrap median of the same mean). ★ marks the task's headline "
            "metric (BIG-bench's preferred_score)."
        )
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault((r["task"], r["setting"]), []).append(r)
        ece10 = {
            (c["rung"], c["task"], c["setting"]): c.get("ece_10_bins") for c in self.calibration
        }
        for (task, setting), group in groups.items():
            metrics = [m for m in SECTION_METRICS if any(r["metric"] == m for r in group)]
            metrics += sorted({r["metric"] for r in group} - set(metrics))
            head = self.headline.get((task, setting))
            names = [("★ " if m == head else "") + SHORT.get(m, m) for m in metrics]
            with_ece10 = any(ece10.get((r["rung"], task, setting)) is not None for r in group)
            rungs = list(dict.fromkeys(r["rung"] for r in group))
            body = []
            notes: list[str] = []
            for rung in rungs:
                cells: list[Any] = [rung]
                for m in metrics:
                    row = next((x for x in group if x["rung"] == rung and x["metric"] == m), None)
                    if row is None or not _finite(row["value"]):
                        cells.append("–")
                    else:
                        ci = fmt_ci(row["value"], row["ci_low"], row["ci_high"])
                        cells.append(f"{ci} (n={row['n']})")
                    if row is not None and row.get("note"):
                        notes.append(f"{rung} {m}: {row['note']}")
                if with_ece10:
                    cells.append(fmt(ece10.get((rung, task, setting))))
                body.append(cells)
            headers = ["rung", *names, *(["ECE (10 bins)"] if with_ece10 else [])]
            text = f"### {task} / {setting}\n\n" + table(headers, body)
            if notes:
                text += "\n\n" + "\n".join(f"- {n}" for n in dict.fromkeys(notes))
            parts.append(text)
        if self.not_computed:
            lines = [f"- `{m}`: {why}" for m, why in sorted(self.not_computed.items())]
            parts.append("### Not computed\n\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def to_json(self, analysis: Analysis) -> dict[str, Any]:
        return {
            "results": self.rows(analysis),
            "calibration": self.calibration,
            "not_computed_reasons": self.not_computed,
        }


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def write_bigbench_csv(section: BigBenchSection, analysis: Analysis, path: Path) -> Path:
    from emergetui.report.csvjson import _write_rows

    return _write_rows(section.rows(analysis), path, ROW_FIELDS)


def write_bigbench_json(section: BigBenchSection, analysis: Analysis, path: Path) -> Path:
    import json

    from emergetui.analysis.jsonable import clean_json

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = clean_json(section.to_json(analysis))
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


__all__ = ["BigBenchSection", "write_bigbench_csv", "write_bigbench_json"]
