"""CSV and JSON files of an analysis.

CSV has one row per curve point so a spreadsheet or pandas can re-plot any
curve; JSON is :meth:`Analysis.to_json`, strict (no NaN), so any parser
reads it. The batch CLI's own document is extended with
:func:`augment_results` and :func:`emergence_json`, re-exported here.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.export import augment_results, emergence_json, points_rows

__all__ = ["augment_results", "emergence_json", "write_csv", "write_emergence_csv", "write_json"]


def _write_rows(rows: Sequence[dict[str, Any]], path: Path, fields: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fields))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in fields})
    return path


POINT_FIELDS = (
    "task",
    "setting",
    "shots",
    "metric",
    "rung",
    "params",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "n_errors",
    "chance",
    "heldout_loss",
    "verdict",
)


def write_csv(analysis: Analysis, path: str | Path) -> Path:
    """One row per point (rung x task x setting x metric) with its CI."""
    return _write_rows(points_rows(analysis), Path(path), POINT_FIELDS)


def write_emergence_csv(analysis: Analysis, path: str | Path) -> Path:
    """One row per curve: verdict, scores, critical scale, mirage, loss threshold."""
    rows = []
    for entry in emergence_json(analysis):
        flat = dict(entry)
        for key in ("sigmoid_midpoint_ci", "loss_threshold_ci", "loss_onset_ci"):
            ci = flat.pop(key, None)
            flat[f"{key}_low"] = ci[0] if ci else None
            flat[f"{key}_high"] = ci[1] if ci else None
        rows.append(flat)
    fields = list(rows[0]) if rows else ["task", "setting", "metric", "verdict"]
    return _write_rows(rows, Path(path), fields)


def write_json(analysis: Analysis, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(analysis.to_json() + "\n", encoding="utf-8")
    return out
