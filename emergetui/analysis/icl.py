"""In-context learning curves: ability against the number of shots, per rung.

Few-shot prompting is itself reported as emergent (Brown et al. 2020; Wei
et al. 2022): small models gain nothing from examples, larger ones do. That
claim is about the gain curve ``Delta(k, N)`` growing with size, so it is
decided by the fitted trend of the gain (:mod:`emergetui.analysis.icl_trend`:
a one-sided, item-paired test of the slope of the gain on log size at
alpha / 2, i.e. the slope's printed 95% interval above 0, Holm over the shot
counts), reported with the mean gain and its interval. Per
rung, each ``k > 0`` is also compared with zero shots (a bootstrap CI of the
difference in means whose lower bound must exceed 0, oriented, and an exact
McNemar / bootstrap p-value, Holm over the family); ``first_rung`` is the
smallest rung where that comparison holds -- shown in tables, never the
headline, because it moves with the item count. The difference is paired
over items when both settings scored the same item ids, which removes item
difficulty from the noise.

Settings are grouped into families by removing the shot count from their
name (``"shots=3"``, ``"3-shot"``, ``"k=3"``), so ``"shots=0,cot"`` and
``"shots=5,cot"`` are compared with each other but not with ``"shots=5"``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import (
    binom_sf_at_least,
    diff_boot,
    holm,
    percentile_interval,
    rng_for,
)
from emergetui.analysis.curves import Curve
from emergetui.analysis.icl_trend import IclTrend, gain_trend

_SHOT_TOKEN = re.compile(
    r"(?:\bshots?\s*[=:]\s*\d+\b|\bk\s*=\s*\d+\b|\b\d+\s*[-_ ]?\s*shots?\b)", re.IGNORECASE
)


def setting_family(setting: str) -> str:
    """``setting`` without its shot count; ``"default"`` if nothing else is left."""
    rest = _SHOT_TOKEN.sub("", setting)
    rest = re.sub(r"[,;|/ ]{2,}", ",", rest).strip(",;|/ ")
    return rest or "default"


@dataclass
class IclCell:
    rung: str
    shots: int
    mean: float
    ci_low: float
    ci_high: float
    n: int


@dataclass
class IclComparison:
    """``k``-shot minus zero-shot at one rung (metric's own units and sign)."""

    rung: str
    shots: int
    diff: float
    ci_low: float
    ci_high: float
    paired: bool
    beats: bool
    #: one-sided p-value of "k shots better than 0" before Holm's correction
    p_value: float = 1.0


@dataclass
class IclResult:
    task: str
    family: str
    metric: str
    shots: list[int]
    cells: list[IclCell] = field(default_factory=list)
    comparisons: list[IclComparison] = field(default_factory=list)
    first_rung: str | None = None
    first_shots: int | None = None
    #: the gain's trend with size, per shot count > 0 (see :mod:`emergetui.analysis.icl_trend`)
    trends: list[IclTrend] = field(default_factory=list)

    @property
    def grows(self) -> bool:
        """Some shot count's gain grows with size (one-sided trend test, Holm over shots)."""
        return any(t.grows for t in self.trends)

    @property
    def trend(self) -> IclTrend | None:
        """The trend a headline quotes: the most significant growing one, else the largest
        shot count's."""
        growing = [t for t in self.trends if t.grows]
        if growing:
            return min(growing, key=lambda t: (t.p_value, -t.shots))
        return max(self.trends, key=lambda t: t.shots) if self.trends else None

    @property
    def p_value(self) -> float | None:
        """Holm-adjusted p-value of "the gain grows with size" (the smallest over the shot
        counts), for a correction across the run's claims."""
        if not self.trends:
            return None
        m = len(self.trends)
        return min(1.0, m * min(t.p_value for t in self.trends))

    def summary(self) -> str:
        """The fitted answer in one line -- the gain from examples (mean over the rungs) and
        its trend in size, each with its 95% interval -- for the tables and the lab, which
        must not lead with the first significant rung (it moves with the item count)."""
        t = self.trend
        if t is None:
            return "no items scored both with and without examples"
        bounded = all(0.0 <= c.mean <= 1.0 for c in self.cells)
        f = "{:+.2f}" if bounded else "{:+.3g}"

        def ci(v: float, lo: float, hi: float) -> str:
            return f"{f.format(v)} [{f.format(lo)}, {f.format(hi)}]"

        verdict = (
            "grows with size"
            if self.grows
            else ("helps at every size" if t.mean_ci[0] > 0 else "no gain beyond the noise")
        )
        return (
            f"{t.shots} shots over 0: gain {ci(t.mean_gain, *t.mean_ci)} (mean over the rungs), "
            f"slope {ci(t.slope, *t.slope_ci)} per decade of params -- {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "family": self.family,
            "metric": self.metric,
            "shots": list(self.shots),
            "cells": [vars(c).copy() for c in self.cells],
            "comparisons": [vars(c).copy() for c in self.comparisons],
            "first_rung": self.first_rung,
            "first_shots": self.first_shots,
            "trends": [t.to_dict() for t in self.trends],
            "grows": self.grows,
            "p_value": self.p_value,
        }


def _aligned(
    ids_a: list[str], a: np.ndarray, ids_b: list[str], b: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Values of the common items, in one order, when most items are shared."""
    pos_a = {x: i for i, x in enumerate(ids_a)}
    pos_b = {x: i for i, x in enumerate(ids_b)}
    common = [x for x in ids_a if x in pos_b]
    if len(common) < 2 or len(common) < 0.5 * max(len(ids_a), len(ids_b)):
        return None
    return (
        np.array([a[pos_a[x]] for x in common]),
        np.array([b[pos_b[x]] for x in common]),
    )


def _p_better(a: np.ndarray, b: np.ndarray, paired: bool, sign: float, boot: np.ndarray) -> float:
    """One-sided p-value that ``a`` is better than ``b`` (``sign`` orients the metric): exact
    McNemar for paired pass/fail values, else the share of the difference's bootstrap
    replicates ``boot`` on the wrong side of 0."""
    if paired and set(np.unique(np.concatenate([a, b]))) <= {0.0, 1.0}:
        up = int(np.sum(sign * (a - b) > 0))
        down = int(np.sum(sign * (a - b) < 0))
        # exact McNemar: scipy's binomtest(up, up + down, 0.5, "greater").pvalue
        return 1.0 if up + down == 0 else binom_sf_at_least(up, up + down, 0.5)
    oriented = sign * boot[np.isfinite(boot)]
    return float((1 + np.sum(oriented <= 0.0)) / (oriented.size + 1))


def icl_curves(
    curves: Sequence[Curve],
    *,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
    alpha: float = 0.05,
) -> list[IclResult]:
    """One result per (task, setting family, metric) having 0-shot and k-shot curves."""
    groups: dict[tuple[str, str, str], list[Curve]] = defaultdict(list)
    for curve in curves:
        groups[(curve.task, setting_family(curve.setting), curve.metric)].append(curve)
    results: list[IclResult] = []
    for (task, family, metric), group in sorted(groups.items()):
        by_shots: dict[int, Curve] = {}
        for curve in sorted(group, key=lambda c: c.setting):
            by_shots.setdefault(curve.shots, curve)
        if 0 not in by_shots or len(by_shots) < 2:
            continue
        result = IclResult(task, family, metric, sorted(by_shots))
        for k in result.shots:
            for p in by_shots[k].points:
                result.cells.append(IclCell(p.rung, k, p.mean, p.ci_low, p.ci_high, p.n))
        zero = by_shots[0]
        zero_at = {p.rung: i for i, p in enumerate(zero.points)}
        order = sorted(zero.points, key=lambda p: (p.params, p.rung))
        for point in order:
            i0 = zero_at[point.rung]
            for k in result.shots:
                if k == 0:
                    continue
                other = by_shots[k]
                labels = [p.rung for p in other.points]
                if point.rung not in labels:
                    continue
                ik = labels.index(point.rung)
                a, b = other.samples[ik], zero.samples[i0]
                pair = _aligned(other.item_ids[ik], a, zero.item_ids[i0], b)
                rng = rng_for(seed, "icl", task, family, metric, point.rung, k)
                xa, xb = pair if pair is not None else (a, b)
                boot = diff_boot(xa, xb, rng, paired=pair is not None, n_boot=n_boot)
                d = float(np.mean(xa) - np.mean(xb))
                lo, hi = percentile_interval(boot, level)
                p_value = _p_better(xa, xb, pair is not None, zero.sign, boot)
                ci_above = (lo > 0) if zero.higher_is_better else (hi < 0)
                result.comparisons.append(
                    IclComparison(
                        point.rung, k, d, lo, hi, pair is not None, bool(ci_above), p_value
                    )
                )
        rejected = holm(np.array([c.p_value for c in result.comparisons]), alpha)
        for c, r in zip(result.comparisons, rejected, strict=True):
            c.beats = bool(c.beats and r)
            if c.beats and result.first_rung is None:
                result.first_rung, result.first_shots = c.rung, c.shots
        for k in result.shots:
            if k == 0:
                continue
            trend = gain_trend(zero, by_shots[k], seed=seed, n_boot=n_boot, level=level)
            if trend is not None:
                result.trends.append(trend)
        # one-sided at alpha / 2: the claim is made when the printed (1 - alpha) interval of
        # the slope lies above 0, so the line never claims what its own interval does not show
        grown = holm(np.array([t.p_value for t in result.trends]), alpha / 2)
        for t, g in zip(result.trends, grown, strict=True):
            t.grows = bool(g and t.slope > 0)
        results.append(result)
    return results
