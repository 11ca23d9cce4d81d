"""The run document as a type: what ``--json`` prints, ``api.run`` returns and the front ends show.

One :class:`RunDocument` per run, built from the stored rows and the one
:class:`~emergetui.analysis.analyze.Analysis` the command made. Its JSON form
(:meth:`RunDocument.to_dict`) carries ``version``: a reader of saved documents
(:meth:`RunDocument.from_dict`) refuses a version it does not know rather than
misread renamed fields. The verdict lines are computed once, here, with the one
headline rule (:meth:`Analysis.headline`) that the findings and the plots use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from emergetui.analysis.jsonable import clean_json
from emergetui.errors import EmergetuiError

if TYPE_CHECKING:
    from emergetui.analysis.analyze import Analysis

RUN_DOCUMENT_VERSION = 1
"""Version 1: the document as of emergetui 164d968, plus ``version`` and ``verdicts``."""

# the metrics' short names in the terminal table and the verdict lines
SHORT = {
    "exact_match": "exact match",
    "multiple_choice_grade": "MC grade",
    "logprob_correct_mean": "logprob/token",
    "prob_correct": "P(correct)",
    "token_edit_distance": "edit dist",
}

_ANALYSED = ("emergence", "findings", "claims", "icl", "mirage", "forecast", "warnings")


class DocumentError(EmergetuiError, ValueError):
    """A saved run document this emergetui cannot read (unknown version, missing field)."""


@dataclass
class RunDocument:
    """A run's results, rung list and, when analysed, its verdicts and findings.

    The row lists are plain JSON objects (their fields are documented in the README's "The
    run document"); the analysed sections are None when the run has no results to judge.
    """

    run_id: str | None
    ladder: str | None
    rungs: list[dict[str, Any]]
    results: list[dict[str, Any]]
    errors: list[dict[str, Any]] = field(default_factory=list)
    not_computed: list[str] = field(default_factory=list)
    not_computed_reasons: dict[str, str] = field(default_factory=dict)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    headline: list[dict[str, Any]] | None = None
    """Each task setting's headline metric with BIG-bench's low/high score (stored runs)."""
    emergence: list[dict[str, Any]] | None = None
    findings: list[dict[str, Any]] | None = None
    icl: list[dict[str, Any]] | None = None
    mirage: list[dict[str, Any]] | None = None
    claims: dict[str, Any] | None = None
    """Every claim of the run with Benjamini-Hochberg across them (:mod:`.analysis.claims`)."""
    forecast: list[dict[str, Any]] | None = None
    """Leave-the-top-out backtests of each headline curve (:mod:`emergetui.analysis.forecast`)."""
    warnings: list[str] | None = None
    verdicts: list[str] = field(default_factory=list)
    """Per task setting: the headline verdict, its evidence and the mirage test, as lines."""
    axis: dict[str, Any] | None = None
    """``--x flops|loss``: the curves on that axis (:mod:`emergetui.analysis.compare`)."""
    probes: list[dict[str, Any]] | None = None
    """The ``--probe`` pass's results, when the run made one."""
    version: int = RUN_DOCUMENT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Strict JSON (NaN and infinities become null); sections that are None are left out."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return clean_json({k: v for k, v in out.items() if v is not None})

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], where: str = "run document") -> RunDocument:
        version = doc.get("version", RUN_DOCUMENT_VERSION)
        if version != RUN_DOCUMENT_VERSION or isinstance(version, bool):
            raise DocumentError(
                f"{where}: field 'version': run document version {version!r} is not one this "
                f"emergetui reads (it reads version {RUN_DOCUMENT_VERSION})"
            )
        names = {f.name for f in fields(cls)}
        missing = [n for n in ("run_id", "ladder", "rungs", "results") if n not in doc]
        if missing:
            raise DocumentError(f"{where}: field '{missing[0]}' is missing")
        return cls(**{k: v for k, v in doc.items() if k in names})

    @property
    def analysed(self) -> bool:
        return self.emergence is not None


def finding_lines(doc: RunDocument) -> list[str]:
    """The run's findings in plain words (see :mod:`emergetui.analysis.findings`)."""
    return [f["text"] for f in doc.findings or []]


def verdict_lines(analysis: Analysis, preferred: Mapping[tuple[str, str], str] | None) -> list[str]:
    """Per task setting: the headline verdict (the curve :meth:`Analysis.headline` picks: the
    task's preferred metric, e.g. BIG-bench's preferred_score, which may be a corpus statistic
    such as BLEU; else the first of ``HEADLINE_ORDER``), the other metrics' verdicts, the
    headline's one-line evidence, the mirage outcome and its mechanism line."""
    from emergetui.analysis.export import emergence_json

    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in emergence_json(analysis):
        by_key[(r["task"], r["setting"])][r["metric"]] = r
    lines = []
    for (task, setting), rows in by_key.items():
        curve = analysis.headline(task, setting, (preferred or {}).get((task, setting)) or None)
        head = rows.get(curve.metric) if curve is not None else None
        if head is None:
            continue
        text = (
            f"{task} [{setting}] {SHORT.get(head['metric'], head['metric'])}: "
            f"{head['verdict'].upper()}"
        )
        mid = head.get("sigmoid_midpoint")
        if head["verdict"] == "emergent" and isinstance(mid, (int, float)):
            text += f" (critical scale ~{mid:.3g} params)"
        cont = [f"{SHORT.get(m, m)} {rows[m]['verdict']}" for m in rows if m != head["metric"]]
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
    claims = analysis.claims.to_dict() if analysis.claims is not None else None
    if lines and claims and claims.get("made"):
        lines.append(claims["summary"])
    return lines
