"""The verdict on one scaling curve: flat, non-monotone, emergent, smooth or inconclusive.

The rule (its plain-words version, :func:`verdict_rule_text`, goes into
``--help`` and docs/measurement.md) judges the whole curve with its uncertainty, so
it does not depend on where the rungs happen to sit:

1. Orient the metric so that up is better. Every cross-rung statement uses
   the task setting's shared item bootstrap (one resample of item ids per
   replicate, applied to every rung), i.e. it is paired.
2. ``flat``: no rung is above chance, one-sided tests with Holm's
   correction over the rungs (family-wise error 5%). Binary metrics use the
   exact binomial test; others the bootstrap. With no chance level, "above
   chance" means better than the smallest rung (paired).
3. ``non-monotone``: some rung is worse than an earlier one by at least
   20% of the curve's range, the paired drop significant after Holm over
   all rung pairs. A curve that falls back is not emergent, however sharp
   its rise.
4. Fit ``floor + (ceiling - floor) * sigmoid((log10 N - midpoint) / scale)``
   and a power law in N (:mod:`emergetui.analysis.transition`), and take the
   likelihood-ratio range of the 10%-90% span in units of the rung gap at
   the midpoint over the shapes of either family the data accept. The range
   is the ``1 - 2 alpha`` (90%) one: each verdict below is a one-sided claim
   ("at most 2 gaps" or "more than 2 gaps"), tested at ``alpha``; the two
   claims exclude each other, so between them lies ``inconclusive``, never a
   knife edge from one to the other.
5. ``emergent``: the whole range is at most ``sharp_gaps`` (2) gaps, and
   some accepted shape puts at least ``min_plateau`` (2) rungs before its
   10% point: a plateau the data allow, then a rise the ladder cannot see
   happening. (Whether the best fit puts the last plateau rung just before
   or just after its 10% point is a knife edge of noise, so the plateau is
   judged over the accepted shapes.)
6. ``smooth``: the whole range is above ``sharp_gaps`` gaps: the ladder
   resolves the rise as gradual. Or: the best fit is wider than
   ``sharp_gaps`` gaps and no accepted sharp shape has a plateau of
   ``min_plateau`` rungs: the shape of emergence (plateau, then a sharp
   rise) is rejected, and the only sharp shapes left rise from the first
   rungs, which no ladder could call emergent.
7. ``inconclusive``: anything else (the range straddles the bound and still
   admits a plateau and a sharp rise, or a sharp rise with fewer than 2
   rungs before it, or under 3 rungs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import binom_sf_at_least, holm, percentile_interval
from emergetui.analysis.curves import Curve
from emergetui.analysis.scores import breakthroughness, linear_fit, linearity, signed_range
from emergetui.analysis.shape import rung_covariance
from emergetui.analysis.transition import Transition, assess

__all__ = [
    "LABELS",
    "Step",
    "Verdict",
    "VerdictParams",
    "breakthroughness",
    "linear_fit",
    "linearity",
    "signed_range",
    "verdict",
]

LABELS = ("flat", "non-monotone", "emergent", "smooth", "inconclusive")


@dataclass(frozen=True)
class VerdictParams:
    """The knobs of the rule; the defaults are what ``--help`` and docs/measurement.md document."""

    alpha: float = 0.05
    level: float = 0.95
    sharp_gaps: float = 2.0
    min_plateau: int = 2
    fall_share: float = 0.2
    min_rungs: int = 3


@dataclass
class Step:
    """A paired difference between two rungs (oriented: positive = better)."""

    from_rung: str
    to_rung: str
    diff: float
    ci_low: float
    ci_high: float

    def text(self) -> str:
        return (
            f"{self.from_rung}->{self.to_rung} {self.diff:+.3g} "
            f"[{self.ci_low:+.3g}, {self.ci_high:+.3g}] paired"
        )


@dataclass
class Verdict:
    """The label, its one-line evidence and the numbers behind it."""

    label: str
    reason: str
    baseline: float | None = None
    above: list[bool] = field(default_factory=list)
    p_above: list[float] = field(default_factory=list)
    transition: Transition | None = None
    jump: Step | None = None
    fall: Step | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "reason": self.reason,
            "baseline": self.baseline,
            "above": list(self.above),
            "p_above": list(self.p_above),
            "transition": self.transition.to_dict() if self.transition else None,
            "jump": vars(self.jump).copy() if self.jump else None,
            "fall": vars(self.fall).copy() if self.fall else None,
        }


def _boot_p(diff: np.ndarray) -> float:
    """One-sided bootstrap p-value that ``diff`` (replicates) is not above 0."""
    d = diff[np.isfinite(diff)]
    return float((1 + np.sum(d <= 0.0)) / (d.size + 1))


def above_chance(curve: Curve, alpha: float) -> tuple[float | None, list[float], np.ndarray]:
    """``(baseline, p-values, Holm rejections)`` of "rung is above chance".

    Binary higher-is-better metrics with a chance level use the exact
    binomial test (0 hits out of 100 is not "exactly 0"); the rest use the
    shared bootstrap. Without a chance level each rung is compared, paired,
    with the smallest one, which is then never "above".
    """
    y = curve.oriented_means()
    boot = curve.oriented_boot()
    chance = curve.oriented_chance()
    r = y.size
    p = np.ones(r)
    if chance is not None:
        for i, point in enumerate(curve.points):
            if curve.binary and curve.higher_is_better:
                k = int(round(point.mean * point.n))
                level = min(max(chance, 0.0), 1.0)
                p[i] = binom_sf_at_least(k, point.n, level) if level > 0 else float(k == 0)
            else:
                p[i] = _boot_p(boot[:, i] - chance)
        return chance, p.tolist(), holm(p, alpha)
    for i in range(1, r):
        p[i] = _boot_p(boot[:, i] - boot[:, 0])
    reject = np.zeros(r, dtype=bool)
    reject[1:] = holm(p[1:], alpha) if r > 1 else reject[1:]
    return float(y[0]) if r else None, p.tolist(), reject


def _step(curve: Curve, i: int, j: int, level: float) -> Step:
    boot = curve.oriented_boot()
    y = curve.oriented_means()
    lo, hi = percentile_interval(boot[:, j] - boot[:, i], level)
    return Step(curve.points[i].rung, curve.points[j].rung, float(y[j] - y[i]), lo, hi)


def fall_back(curve: Curve, p: VerdictParams) -> Step | None:
    """The largest significant fall from an earlier rung to a later one, if any."""
    y = curve.oriented_means()
    boot = curve.oriented_boot()
    rise = float(y.max() - y.min())
    pairs = [(i, j) for i in range(y.size) for j in range(i + 1, y.size)]
    pv = np.ones(len(pairs))
    for k, (i, j) in enumerate(pairs):
        drop = float(y[i] - y[j])
        if drop > 0 and drop >= p.fall_share * rise:
            pv[k] = _boot_p(boot[:, i] - boot[:, j])
    hits = [pairs[k] for k in np.flatnonzero(holm(pv, p.alpha))]
    if not hits:
        return None
    i, j = max(hits, key=lambda ij: y[ij[0]] - y[ij[1]])
    return _step(curve, i, j, p.level)


def transition_of(curve: Curve, level: float = 0.95, sharp_gaps: float = 2.0) -> Transition | None:
    """The logistic fit of ``curve`` (oriented), with the shared-bootstrap covariance."""
    y = curve.oriented_means()
    counts = np.array([pt.n for pt in curve.points])
    cov = rung_covariance(curve.oriented_boot(), y, counts, curve.binary)
    lo, hi = curve.oriented_bounds()
    chance = curve.oriented_chance()
    if chance is not None:  # an ability's floor is chance, not below (unless the data are)
        lo = max(lo, min(chance, float(y.min())))
    return assess(curve.log_params, y, cov, (lo, hi), level, sharp_gaps)


def _fmt(v: float) -> str:
    return f"{v:.2g}" if abs(v) < 10 else f"{v:.0f}"


def _shape_text(t: Transition) -> str:
    return (
        f"10-90% rise over {_fmt(t.span_ci[0])}-{_fmt(t.span_ci[1])} decades = "
        f"{_fmt(t.gaps_ci[0])}-{_fmt(t.gaps_ci[1])} rung gaps (gap there "
        f"{t.gap:.2g} decades)"
    )


def verdict(curve: Curve, params: VerdictParams | None = None) -> Verdict:
    """Apply the rule in this module's docstring to ``curve``."""
    p = params or VerdictParams()
    n = len(curve.points)
    if n < 2:
        return Verdict("inconclusive", "fewer than 2 rungs")
    baseline, pvals, above = above_chance(curve, p.alpha)
    base = {"baseline": baseline, "above": above.tolist(), "p_above": pvals}
    if not above.any():
        y = curve.oriented_means()
        best = int(np.argmax(y))
        pt = curve.points[best]
        what = (
            "chance" if curve.chance is not None else f"the smallest rung ({curve.points[0].rung})"
        )
        why = (
            f"no rung above {what} (one-sided, Holm over {n} rungs, alpha {p.alpha:g}); "
            f"best {pt.rung} {pt.mean:.3g} [{pt.ci_low:.3g}, {pt.ci_high:.3g}]"
        )
        return Verdict("flat", why, **base)
    if n < p.min_rungs:
        return Verdict("inconclusive", f"only {n} rungs: the shape cannot be judged", **base)
    fall = fall_back(curve, p)
    if fall is not None:
        why = (
            f"falls back: {fall.from_rung} -> {fall.to_rung} drops "
            f"{-fall.diff:.3g} [{-fall.ci_high:.3g}, {-fall.ci_low:.3g}] (paired, Holm over "
            "rung pairs); a rise that does not last is not emergence"
        )
        return Verdict("non-monotone", why, fall=fall, **base)
    t = transition_of(curve, 1.0 - 2.0 * p.alpha, p.sharp_gaps)
    if t is None:
        return Verdict("inconclusive", "no rising logistic fits the curve", **base)
    jump = _step(curve, t.lower, t.upper, p.level)
    shape = _shape_text(t)
    if t.gaps_ci[1] <= p.sharp_gaps and t.plateau_sharp >= p.min_plateau:
        before = max(t.plateau, p.min_plateau)  # the best fit's, or the shortest the rule allows
        why = f"jump {jump.text()}; {shape} <= {p.sharp_gaps:g}; {before} rungs before it"
        return Verdict("emergent", why, transition=t, jump=jump, **base)
    if t.gaps_ci[0] > p.sharp_gaps:
        why = f"{shape} > {p.sharp_gaps:g}: the ladder resolves a gradual rise; step {jump.text()}"
        return Verdict("smooth", why, transition=t, jump=jump, **base)
    if t.gaps_best > p.sharp_gaps and t.plateau_sharp < p.min_plateau:
        why = (
            f"{shape}, best fit {_fmt(t.gaps_best)} gaps > {p.sharp_gaps:g}; the only sharp "
            f"shapes the data allow rise from the first rungs (no {p.min_plateau}-rung plateau "
            f"before a sharp rise fits): gradual, not emergent; step {jump.text()}"
        )
        return Verdict("smooth", why, transition=t, jump=jump, **base)
    if t.gaps_ci[1] <= p.sharp_gaps:
        why = (
            f"sharp ({shape}) but only {max(t.plateau_sharp, 0)} rung(s) before it: "
            f"a plateau needs {p.min_plateau}; jump {jump.text()}"
        )
    else:
        why = f"width not resolved: {shape}, either side of {p.sharp_gaps:g}; jump {jump.text()}"
    return Verdict("inconclusive", why, transition=t, jump=jump, **base)
