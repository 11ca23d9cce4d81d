"""The text a run ends with, before its plots: findings, the table, the verdicts.

Shared by ``emergetui --batch`` and ``emergetui report`` (its ``summary.txt``) so
that both make the same choice of table: ``compact`` (one ladder table per task
setting, :mod:`emergetui.report.ladder_table`) or ``full`` (the long table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emergetui.report.document import results_table
from emergetui.report.ladder_table import TABLE_CHOICES, compact_tables, compact_verdict_lines
from emergetui.report.rundoc import RunDocument, finding_lines

#: At most this many plots follow the compact output (the rest: ``emergetui report``).
COMPACT_MAX_PLOTS = 6
#: Rows of a plot in the compact output (the full output's are 18).
COMPACT_PLOT_HEIGHT = 14
VERDICT_HEADING = "Emergence verdicts (see `emergetui --help` for the rule)"


def _json(doc: RunDocument | Mapping[str, Any]) -> dict[str, Any]:
    """The document's strict-JSON form, the one the compact tables read."""
    return doc.to_dict() if isinstance(doc, RunDocument) else dict(doc)


def _typed(doc: RunDocument | Mapping[str, Any]) -> RunDocument:
    return doc if isinstance(doc, RunDocument) else RunDocument.from_dict(doc)


def findings_text(doc: RunDocument | Mapping[str, Any]) -> str:
    """The plain-words story first: what happened, where, what the continuous metric says."""
    lines = finding_lines(_typed(doc))
    return "\nFindings\n" + "".join(f"  * {line}\n" for line in lines) if lines else ""


def table_text(
    doc: RunDocument | Mapping[str, Any], table: str = "compact", width: int | None = None
) -> str:
    if table not in TABLE_CHOICES:
        raise ValueError(f"table must be one of {TABLE_CHOICES}, got {table!r}")
    return compact_tables(_json(doc), width) if table == "compact" else results_table(_typed(doc))


def verdicts_text(doc: RunDocument | Mapping[str, Any], table: str = "compact") -> str:
    if table == "compact":
        plain = _json(doc)  # one strict-JSON conversion of the whole document, not two
        claims = plain.get("claims") or {}
        lines = compact_verdict_lines(plain)
        if lines and claims.get("made"):  # how many of the run's claims survive BH
            lines.append(str(claims["summary"]))
    else:
        lines = _typed(doc).verdicts
    return f"\n{VERDICT_HEADING}\n" + "".join(f"  {x}\n" for x in lines) if lines else ""


def summary_text(
    doc: RunDocument | Mapping[str, Any], table: str = "compact", width: int | None = None
) -> str:
    """Findings, then the chosen table, then the verdicts (no plots)."""
    return findings_text(doc) + "\n" + table_text(doc, table, width) + verdicts_text(doc, table)
