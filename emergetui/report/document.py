"""The run document (:class:`~emergetui.report.rundoc.RunDocument`, the `--json` output) built
from a stored run or exported rows and their one analysis, and the rung × task × metric table.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emergetui.report.rundoc import SHORT, RunDocument, verdict_lines

if TYPE_CHECKING:
    from emergetui.analysis.analyze import Analysis
    from emergetui.store.rows import StoredRung
    from emergetui.store.stored_run import StoredRun

# the metrics shown in the terminal table, in this order
TABLE_METRICS = (
    "exact_match",
    "multiple_choice_grade",
    "logprob_correct_mean",
    "prob_correct",
    "token_edit_distance",
)


def rung_row(g: StoredRung) -> dict[str, Any]:
    """A stored rung as the document lists it."""
    return {
        "label": g.label,
        "params": g.params,
        "path": g.path,
        "sha256": g.sha256,
        "n_gpu_layers": g.n_gpu_layers,
        "status": g.status,
        "error": g.error,
        "heldout": g.heldout,
        "provenance": g.provenance,
    }


def run_document(run: StoredRun, analysis: Analysis | None) -> RunDocument:
    """``{"run_id", "ladder", "rungs", "results", "emergence", ...}`` for a stored run.

    Results are means over the items stored for each (rung, task, setting,
    metric); items that failed carry no metrics and are counted in ``errors``.
    ``analysis`` (:func:`~emergetui.report.from_store.analyse_run` of the same run; None: rows
    only) is the one the caller also plots and reports, so every output shows the same numbers.
    """
    heads = headlines(run.tasksets)
    doc = document_from_records(
        run.run_id,
        run.ladder,
        [rung_row(g) for g in run.rungs],
        run.records,
        run.chance,
        run.not_computed,
        analysis=analysis,
        preferred={(h["task"], h["setting"]): h["metric"] for h in heads if h.get("metric")},
    )
    doc.headline = heads
    return doc


def document_from_records(
    run_id: str | None,
    ladder: str | None,
    rungs: list[dict[str, Any]],
    records: list[Any],
    chance: dict[tuple[str, str, str], float],
    not_computed: list[str],
    *,
    analysis: Analysis | None = None,
    preferred: Mapping[tuple[str, str], str] | None = None,
) -> RunDocument:
    """The run document from rows and their analysis: shared by a stored run and
    ``emergetui analyze FILE.jsonl``, so an exported run analysed elsewhere gives the same
    document.

    ``analysis`` (of these rows; None leaves the verdicts out) adds the intervals, the corpus
    rows, the verdicts and the findings; ``preferred`` names each task setting's headline
    metric, which the plain-words findings report."""
    sums: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    errors: dict[tuple[str, str, str], int] = defaultdict(int)
    shots: dict[tuple[str, str], int] = {}
    for r in records:
        shots[(r.task, r.setting)] = r.shots
        if r.error:
            errors[(r.rung, r.task, r.setting)] += 1
        for m, v in r.metrics.items():
            if v is not None and math.isfinite(v):
                sums[(r.rung, r.task, r.setting, m)].append(v)
    order = {g["label"]: i for i, g in enumerate(rungs)}
    results = []
    for (rung, task, setting, metric), vals in sorted(
        sums.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1:])
    ):
        results.append(
            {
                "rung": rung,
                "task": task,
                "setting": setting,
                "shots": shots.get((task, setting), 0),
                "metric": metric,
                "value": sum(vals) / len(vals),
                "n": len(vals),
                "chance": chance.get((task, setting, metric)),
            }
        )
    doc = RunDocument(
        run_id=run_id,
        ladder=ladder,
        rungs=rungs,
        results=results,
        errors=[
            {"rung": k[0], "task": k[1], "setting": k[2], "n": v} for k, v in sorted(errors.items())
        ],
        not_computed=not_computed,
        not_computed_reasons=not_computed_reasons(not_computed),
        calibration=calibration(records, order),
    )
    if analysis is not None and results:
        from emergetui.analysis.export import augment_results, corpus_results, emergence_json
        from emergetui.analysis.findings import findings

        augment_results(doc.results, analysis)
        doc.results.extend(corpus_results(analysis))
        doc.emergence = emergence_json(analysis)
        doc.findings = [f.to_dict() for f in findings(analysis, preferred)]
        doc.claims = analysis.claims.to_dict() if analysis.claims is not None else None
        doc.icl = [r.to_dict() for r in analysis.icl]
        doc.mirage = [m.to_dict() for m in analysis.mirage]
        doc.forecast = [f.to_dict() for f in analysis.forecast]
        doc.warnings = list(analysis.warnings)
        doc.verdicts = verdict_lines(analysis, preferred)
    return doc


def headlines(tasksets: Any) -> list[dict[str, Any]]:
    """Each task setting's headline metric with BIG-bench's low/high score."""
    from emergetui.tasks.bigbench_sets import headline

    return [
        {"task": t.task, "setting": t.setting, **headline(t.preferred, t.chance)} for t in tasksets
    ]


def not_computed_reasons(names: list[str]) -> dict[str, str]:
    from emergetui.tasks.bigbench_metrics import NOT_COMPUTED_REASONS

    return {m: NOT_COMPUTED_REASONS.get(m, "not a BIG-bench JSON metric") for m in names}


def calibration(records: list[Any], order: dict[str, int]) -> list[dict[str, Any]]:
    """Calibration per (rung, task, setting) of multiple-choice items: BIG-bench's
    ``expected_calibration_error`` (15 buckets) and Brier score, and emergetui's 10-bin ECE."""
    from emergetui.analysis.corpus_metrics import CorpusItem, corpus_metric_values
    from emergetui.tasks.calibration import ece_10_bins

    names = ("expected_calibration_error", "calibration_multiple_choice_brier_score")

    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in records:
        if r.choices and not r.error:
            groups[(r.rung, r.task, r.setting)].append(r)
    rows = []
    for (rung, task, setting), recs in sorted(
        groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1:])
    ):
        items = [CorpusItem.from_record(r) for r in recs]
        got = corpus_metric_values({rung: items}, names, n_boot=0)[rung]
        rows.append(
            {
                "rung": rung,
                "task": task,
                "setting": setting,
                "n": len(recs),
                **{m: got[m].value for m in names},
                "ece_10_bins": ece_10_bins(recs),
            }
        )
    return rows


def results_table(doc: RunDocument) -> str:
    """Rung × (task, setting) × metric as an aligned text table, with held-out loss per rung."""
    from rich.console import Console
    from rich.table import Table

    rows: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    metrics_seen: set[str] = set()
    d = doc.to_dict()  # strict JSON: a NaN interval end is None, as in the --json output
    for r in d["results"]:
        rows[(r["task"], r["setting"], r["rung"])][r["metric"]] = r
        metrics_seen.add(r["metric"])
    metrics = [m for m in TABLE_METRICS if m in metrics_seen]
    heldout = {g["label"]: (g.get("heldout") or {}).get("loss") for g in d["rungs"]}
    params = {g["label"]: g["params"] for g in d["rungs"]}
    table = Table(title=f"run {doc.run_id} — ladder {doc.ladder}", show_lines=False)
    for col in ("task", "setting", "rung", "params", "held-out loss", *[SHORT[m] for m in metrics]):
        table.add_column(
            col, justify="left" if col in ("task", "setting", "rung") else "right", no_wrap=True
        )
    order = {g["label"]: i for i, g in enumerate(d["rungs"])}
    for (task, setting, rung), vals in sorted(
        rows.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get(kv[0][2], 99))
    ):
        loss = heldout.get(rung)
        cells = [
            task,
            setting,
            rung,
            f"{params.get(rung, 0):,}",
            "" if loss is None else f"{loss:.3f}",
        ]
        for m in metrics:
            r = vals.get(m)
            if r is None:
                cells.append("")
                continue
            ci = ""
            if r.get("ci_low") is not None and r.get("ci_high") is not None:
                ci = f" [{r['ci_low']:.2f},{r['ci_high']:.2f}]"
            cells.append(f"{r['value']:.2f}{ci}")
        table.add_row(*cells)
    import shutil
    import sys

    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 240
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    text = console.export_text()
    if doc.not_computed:
        text += (
            "not computed (unsupported metrics named by the tasks): "
            f"{', '.join(doc.not_computed)}\n"
        )
    return text
