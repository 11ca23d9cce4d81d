"""The run document (the `--json` output) and the final rung × task × metric table, from the
store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from emergetui.run.store import Store

# the metrics shown in the terminal table, in this order
TABLE_METRICS = (
    "exact_match",
    "multiple_choice_grade",
    "logprob_correct_mean",
    "prob_correct",
    "token_edit_distance",
)
SHORT = {
    "exact_match": "exact match",
    "multiple_choice_grade": "MC grade",
    "logprob_correct_mean": "logprob/token",
    "prob_correct": "P(correct)",
    "token_edit_distance": "edit dist",
}


def run_document(
    store: Store, run_id: str, ladder: str | None = None, *, analyse: bool = True, seed: int = 0
) -> dict[str, Any]:
    """``{"run_id", "ladder", "rungs", "results", "emergence", ...}`` for a stored run.

    Results are means over the items stored for each (rung, task, setting,
    metric); items that failed carry no metrics and are counted in ``errors``.
    """
    cfg = store.run_config(run_id)
    rungs = [
        {
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
        for g in store.rungs(run_id)
    ]
    tasksets = store.tasksets(run_id)
    chance = {(t.task, t.setting, m): c for t in tasksets for m, c in t.chance.items()}
    not_computed = sorted({m for t in tasksets for m in t.not_computed})
    listed = {(t.task, t.setting): list(t.metrics) for t in tasksets}
    heads = headlines(tasksets)
    doc = document_from_records(
        run_id,
        ladder or cfg.get("ladder"),
        rungs,
        store.records(run_id),
        chance,
        not_computed,
        listed=listed,
        analyse=analyse,
        seed=seed,
        preferred={(h["task"], h["setting"]): h["metric"] for h in heads if h.get("metric")},
    )
    doc["headline"] = heads
    return doc


def document_from_records(
    run_id: str | None,
    ladder: str | None,
    rungs: list[dict[str, Any]],
    records: list[Any],
    chance: dict[tuple[str, str, str], float],
    not_computed: list[str],
    *,
    listed: Mapping[tuple[str, str], Sequence[str]] | None = None,
    analyse: bool = True,
    seed: int = 0,
    preferred: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """The run document from rows alone: shared by a stored run and
    ``emergetui analyze FILE.jsonl``, so an exported run analysed elsewhere gives the same
    document.

    ``listed`` names the metrics each (task, setting) declares; corpus-level ones (BLEU, ROUGE,
    calibration) are computed from the stored outputs (``export`` writes it per row);
    ``preferred`` names each one's headline metric, which the plain-words findings report."""
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
    doc: dict[str, Any] = {
        "calibration": calibration(records, order),
        "run_id": run_id,
        "ladder": ladder,
        "rungs": rungs,
        "results": results,
        "errors": [
            {"rung": k[0], "task": k[1], "setting": k[2], "n": v} for k, v in sorted(errors.items())
        ],
        "not_computed": not_computed,
        "not_computed_reasons": not_computed_reasons(not_computed),
    }
    if analyse and results:
        from emergetui.analysis.analyze import analyze
        from emergetui.analysis.data import RungInfo
        from emergetui.analysis.export import augment_results, corpus_results, emergence_json
        from emergetui.analysis.findings import findings

        infos = [
            RungInfo(g["label"], g["params"], g.get("heldout"))
            for g in rungs
            if g.get("status") != "failed"
        ]
        analysis = analyze(records, infos, seed=seed, chance=chance, corpus=listed)
        augment_results(doc["results"], analysis)
        doc["results"].extend(corpus_results(analysis))
        doc["emergence"] = emergence_json(analysis)
        doc["findings"] = [f.to_dict() for f in findings(analysis, preferred)]
        doc["claims"] = analysis.claims.to_dict() if analysis.claims is not None else None
        doc["icl"] = [r.to_dict() for r in analysis.icl]
        doc["mirage"] = [m.to_dict() for m in analysis.mirage]
        doc["warnings"] = list(analysis.warnings)
    return finite(doc)


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


def finite(o: Any) -> Any:
    """NaN/inf become null so the document is strict JSON."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite(v) for v in o]
    return o


def results_table(doc: dict[str, Any]) -> str:
    """Rung × (task, setting) × metric as an aligned text table, with held-out loss per rung."""
    from rich.console import Console
    from rich.table import Table

    rows: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    metrics_seen: set[str] = set()
    for r in doc["results"]:
        rows[(r["task"], r["setting"], r["rung"])][r["metric"]] = r
        metrics_seen.add(r["metric"])
    metrics = [m for m in TABLE_METRICS if m in metrics_seen]
    heldout = {g["label"]: (g.get("heldout") or {}).get("loss") for g in doc["rungs"]}
    params = {g["label"]: g["params"] for g in doc["rungs"]}
    table = Table(title=f"run {doc['run_id']} — ladder {doc['ladder']}", show_lines=False)
    for col in ("task", "setting", "rung", "params", "held-out loss", *[SHORT[m] for m in metrics]):
        table.add_column(
            col, justify="left" if col in ("task", "setting", "rung") else "right", no_wrap=True
        )
    order = {g["label"]: i for i, g in enumerate(doc["rungs"])}
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
    console = Console(width=width, record=True, file=_Null())
    console.print(table)
    text = console.export_text()
    if doc.get("not_computed"):
        text += (
            "not computed (unsupported metrics named by the tasks): "
            f"{', '.join(doc['not_computed'])}\n"
        )
    return text


class _Null:
    def write(self, _s: str) -> int:
        return 0

    def flush(self) -> None:
        pass


def finding_lines(doc: dict[str, Any]) -> list[str]:
    """The run's findings in plain words (see :mod:`emergetui.analysis.findings`)."""
    return [f["text"] for f in doc.get("findings") or []]


def verdict_lines(doc: dict[str, Any]) -> list[str]:
    """Per task setting: the headline verdict (the task's preferred metric, e.g. BIG-bench's
    preferred_score, which may be a corpus statistic such as BLEU; else the discrete one),
    the other metrics' verdicts, the headline's one-line evidence, the mirage outcome and
    its mechanism line."""
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in doc.get("emergence") or []:
        by_key[(r["task"], r["setting"])][r["metric"]] = r
    preferred = {(h["task"], h["setting"]): h.get("metric") for h in doc.get("headline") or []}
    lines = []
    for (task, setting), rows in by_key.items():
        names = (preferred.get((task, setting)), "exact_match", "multiple_choice_grade")
        head = next((rows[m] for m in names if m in rows), None)
        if head is None:
            continue
        text = (
            f"{task} [{setting}] {SHORT.get(head['metric'], head['metric'])}: "
            f"{head['verdict'].upper()}"
        )
        mid = head.get("sigmoid_midpoint")
        if head["verdict"] == "emergent" and isinstance(mid, (int, float)):
            text += f" (critical scale ~{mid:.3g} params)"
        others = [m for m in rows if m != head["metric"]]
        cont = [f"{SHORT.get(m, m)} {rows[m]['verdict']}" for m in others]
        if cont:
            text += "; other metrics: " + ", ".join(cont)
        lines.append(text)
        lines.append(f"    evidence: {head.get('reason', '')}")
        if head.get("bh_survives") is not None:
            fate = "survives" if head["bh_survives"] else "does not survive"
            lines.append(
                f"    across the run: p = {head['p_value']:.2g}, {fate} Benjamini-Hochberg"
            )
        if head.get("mirage") and head["mirage"] != "n/a":
            lines.append(f"    mirage test: {head['mirage']} ({head.get('mirage_reason') or ''})")
            if head.get("mirage_mechanism"):
                lines.append(f"    mechanism: {head['mirage_mechanism']}")
    claims = doc.get("claims")
    if lines and claims and claims.get("made"):
        lines.append(claims["summary"])
    return lines
