"""Every claim a run makes, with Benjamini-Hochberg across them all.

A run on a suite (``--suite wei2022-emergent``) makes hundreds of claims,
each tested at 5% on its own: "this curve is emergent", "this one rises
smoothly", "this one falls back", "this jump is a mirage of the metric",
"examples help at this rung". At 5% each, some are false by chance alone.
Benjamini and Hochberg's step-up rule keeps the expected share of false
claims among those made at ``q`` (false discovery rate), across the run's
emergence, mirage and in-context-learning claims together; the per-curve
tests stay as they are, and this is shown beside them.

The p-values are the ones the analysis already has: the verdict's own test
(:attr:`~emergetui.analysis.emergence.Verdict.p_value`), the mirage
result's (its ``p_value`` when it has one, else the smallest early gain of
a continuous metric it calls smooth), and each in-context comparison's
(and a trend test's, when the result carries one). Absence-of-evidence
verdicts (``flat``, ``does-not-scale``, ``inconclusive``) claim no
discovery and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from emergetui.analysis.analyze import Analysis

#: Verdicts that claim a discovery (and carry the p-value of their test).
CLAIMING = ("emergent", "step", "smooth", "non-monotone")
#: Attribute names under which a result may carry its own p-value of a trend.
_TREND = ("p_value", "trend_p", "p_trend", "interaction_p")


def benjamini_hochberg(pvalues: Iterable[float], q: float = 0.05) -> np.ndarray:
    """Benjamini-Hochberg step-up rejections at false discovery rate ``q``, in input order."""
    p = np.asarray(list(pvalues), dtype=float)
    m = p.size
    reject = np.zeros(m, dtype=bool)
    if m == 0:
        return reject
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    below = np.flatnonzero(ranked <= q * np.arange(1, m + 1) / m)
    if below.size:
        reject[order[: below[-1] + 1]] = True
    return reject


@dataclass
class Claim:
    """One claim of the run: what, its p-value, and whether it stands alone and under BH."""

    kind: str
    task: str
    setting: str
    what: str
    label: str
    p_value: float
    alone: bool
    bh: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Claims:
    """All claims of a run, Benjamini-Hochberg applied across them at ``q``."""

    q: float
    claims: list[Claim] = field(default_factory=list)

    @property
    def surviving(self) -> int:
        return sum(c.bh for c in self.claims)

    def summary(self) -> str:
        """One line: how many claims survive, out of how many made."""
        alone = sum(c.alone for c in self.claims)
        kinds = sorted({c.kind for c in self.claims})
        return (
            f"{self.surviving} of {len(self.claims)} claims ({', '.join(kinds) or 'none'}) "
            f"survive Benjamini-Hochberg across the run at q = {self.q:g} "
            f"({alone} pass their own test at {self.q:g})"
        )

    def for_curve(self, task: str, setting: str, metric: str) -> Claim | None:
        return next(
            (
                c
                for c in self.claims
                if c.kind == "emergence" and (c.task, c.setting, c.what) == (task, setting, metric)
            ),
            None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "q": self.q,
            "made": len(self.claims),
            "surviving": self.surviving,
            "summary": self.summary(),
            "claims": [c.to_dict() for c in self.claims],
        }


def _mirage_p(m: Any) -> float | None:
    own = getattr(m, "p_value", None)
    if isinstance(own, (int, float)):
        return float(own)
    if m.outcome != "mirage":
        return None
    smooth = [v[1] for k, v in m.early_gain.items() if m.continuous.get(k) == "smooth"]
    return float(min(smooth)) if smooth else None


def collect(analysis: Analysis, q: float = 0.05) -> Claims:
    """The run's claims from ``analysis`` (verdicts, mirage results, in-context comparisons)."""
    out: list[Claim] = []
    for s in analysis.scores:
        v = s.verdict
        if v.label in CLAIMING and v.p_value is not None:
            out.append(
                Claim("emergence", s.task, s.setting, s.metric, v.label, v.p_value, v.p_value <= q)
            )
    for m in analysis.mirage:
        p = _mirage_p(m)
        if p is not None:
            what = m.discrete_metric or ""
            out.append(Claim("mirage", m.task, m.setting, what, m.outcome, p, p <= q))
    for r in analysis.icl:
        for name in _TREND:
            p = getattr(r, name, None)
            if isinstance(p, (int, float)):
                out.append(Claim("icl", r.task, r.family, r.metric, "grows", float(p), p <= q))
                break
        for cmp in r.comparisons:
            what = f"{r.metric} {cmp.rung} {cmp.shots}-shot"
            out.append(
                Claim("icl", r.task, r.family, what, "gain", float(cmp.p_value), bool(cmp.beats))
            )
    keep = benjamini_hochberg([c.p_value for c in out], q)
    for c, k in zip(out, keep, strict=True):
        c.bh = bool(k)
    return Claims(q, out)
