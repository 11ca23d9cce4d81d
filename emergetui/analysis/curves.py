"""Scaling curves: one metric of one task under one setting, across the ladder.

A curve keeps the per-item values behind every point, not just the mean,
because every later question (is this jump real? where is the critical
scale? does few-shot beat zero-shot?) is answered by resampling those items.
Rungs are ordered by parameter count: emergence is a statement about scale,
so the order must come from size, never from the order rows were stored in.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import mean_ci, rng_for
from emergetui.analysis.data import RungInfo, chance_from_records, metric_kind
from emergetui.tasks.records import ItemRecord

CurveKey = tuple[str, str, str]


@dataclass
class CurvePoint:
    """One rung's mean with its 95% percentile-bootstrap interval over items."""

    rung: str
    params: int
    mean: float
    ci_low: float
    ci_high: float
    n: int
    n_errors: int = 0
    heldout_loss: float | None = None
    train_tokens: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "params": int(self.params),
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n": self.n,
            "n_errors": self.n_errors,
            "heldout_loss": self.heldout_loss,
            "train_tokens": self.train_tokens,
        }


@dataclass
class Curve:
    """A scaling curve plus the item values it was computed from.

    ``samples[i]`` and ``item_ids[i]`` belong to ``points[i]``. ``chance`` is
    in the metric's own units (``None`` when no chance level is known).
    """

    task: str
    setting: str
    metric: str
    shots: int
    discrete: bool
    higher_is_better: bool
    chance: float | None
    points: list[CurvePoint]
    samples: list[np.ndarray] = field(default_factory=list, repr=False)
    item_ids: list[list[str]] = field(default_factory=list, repr=False)

    @property
    def key(self) -> CurveKey:
        return (self.task, self.setting, self.metric)

    @property
    def sign(self) -> float:
        """+1 or -1: multiplying by it makes "up" mean "better" for any metric."""
        return 1.0 if self.higher_is_better else -1.0

    @property
    def params(self) -> np.ndarray:
        return np.array([p.params for p in self.points], dtype=float)

    @property
    def log_params(self) -> np.ndarray:
        return np.log10(self.params)

    @property
    def means(self) -> np.ndarray:
        return np.array([p.mean for p in self.points], dtype=float)

    def oriented_means(self) -> np.ndarray:
        """Means with "higher is better" for every metric (brier, edit distance flip)."""
        return self.sign * self.means

    def oriented_ci(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` bounds in the oriented direction."""
        lo = np.array([p.ci_low for p in self.points], dtype=float)
        hi = np.array([p.ci_high for p in self.points], dtype=float)
        if self.higher_is_better:
            return lo, hi
        return -hi, -lo

    def oriented_chance(self) -> float | None:
        return None if self.chance is None else self.sign * self.chance

    def oriented_samples(self) -> list[np.ndarray]:
        return [self.sign * s for s in self.samples]

    def pooled_sd(self) -> float:
        """Root mean within-rung item variance: the scale of item-level noise."""
        variances = [float(np.var(s)) for s in self.samples if s.size > 0]
        return math.sqrt(sum(variances) / len(variances)) if variances else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "shots": self.shots,
            "discrete": self.discrete,
            "higher_is_better": self.higher_is_better,
            "chance": self.chance,
            "points": [p.to_dict() for p in self.points],
        }


def make_curve(
    task: str,
    setting: str,
    metric: str,
    rungs: Sequence[RungInfo],
    values: Sequence[Sequence[float]],
    *,
    chance: float | None = None,
    shots: int = 0,
    item_ids: Sequence[Sequence[str]] | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
    n_errors: Sequence[int] | None = None,
) -> Curve:
    """Build a curve from per-rung item values (``values[i]`` for ``rungs[i]``).

    Rungs are sorted by parameter count here, whatever order they come in.
    Rungs without any value are left out of the curve.
    """
    if len(values) != len(rungs):
        raise ValueError("values must have one sequence per rung")
    kind = metric_kind(metric)
    order = sorted(range(len(rungs)), key=lambda i: (rungs[i].params, rungs[i].label))
    points: list[CurvePoint] = []
    samples: list[np.ndarray] = []
    ids_out: list[list[str]] = []
    for i in order:
        rung = rungs[i]
        raw = np.asarray(values[i], dtype=float)
        keep = np.isfinite(raw)
        arr = raw[keep]
        if arr.size == 0:
            continue
        rng = rng_for(seed, "point", task, setting, metric, rung.label)
        mean, lo, hi = mean_ci(arr, rng, n_boot=n_boot, level=level)
        points.append(
            CurvePoint(
                rung=rung.label,
                params=int(rung.params),
                mean=mean,
                ci_low=lo,
                ci_high=hi,
                n=int(arr.size),
                n_errors=int(n_errors[i]) if n_errors is not None else 0,
                heldout_loss=rung.heldout_loss,
                train_tokens=rung.train_tokens,
            )
        )
        samples.append(arr)
        ids = [str(x) for x in item_ids[i]] if item_ids is not None else None
        if ids is None or len(ids) != raw.size:
            ids = [str(j) for j in range(raw.size)]
        ids_out.append([x for x, k in zip(ids, keep, strict=True) if k])
    return Curve(
        task=task,
        setting=setting,
        metric=metric,
        shots=shots,
        discrete=kind.discrete,
        higher_is_better=kind.higher_is_better,
        chance=chance,
        points=points,
        samples=samples,
        item_ids=ids_out,
    )


def _dedupe(records: Iterable[ItemRecord]) -> list[ItemRecord]:
    """Keep the last row per (rung, task, setting, item): a resumed run may repeat one."""
    latest: dict[tuple[str, str, str, str], ItemRecord] = {}
    for rec in records:
        latest[(rec.rung, rec.task, rec.setting, rec.item_id)] = rec
    return list(latest.values())


def build_curves(
    records: Iterable[ItemRecord],
    rungs: Sequence[RungInfo],
    *,
    chance: Mapping[CurveKey, float] | None = None,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> tuple[list[Curve], list[str]]:
    """All curves found in ``records``, plus warnings about rows left out.

    Rows with an ``error`` are excluded from means (a failed request is not a
    wrong answer) but counted per point in ``n_errors``. ``chance`` maps
    ``(task, setting, metric)`` to the runner's stored chance level; missing
    entries are computed from the items (see :func:`chance_from_records`).
    """
    warnings: list[str] = []
    by_label = {r.label: r for r in rungs}
    rows = _dedupe(records)
    unknown = sorted({r.rung for r in rows if r.rung not in by_label})
    if unknown:
        warnings.append(f"rows of unknown rungs ignored: {', '.join(unknown)}")
    groups: dict[tuple[str, str], list[ItemRecord]] = defaultdict(list)
    for rec in rows:
        if rec.rung in by_label:
            groups[(rec.task, rec.setting)].append(rec)

    curves: list[Curve] = []
    for (task, setting), recs in sorted(groups.items()):
        ok = [r for r in recs if r.error is None]
        errors = Counter(r.rung for r in recs if r.error is not None)
        shots = Counter(r.shots for r in recs).most_common(1)[0][0]
        metrics = sorted({m for r in ok for m in r.metrics})
        for metric in metrics:
            per_rung: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for r in ok:
                value = r.metrics.get(metric)
                if value is not None and math.isfinite(float(value)):
                    per_rung[r.rung].append((r.item_id, float(value)))
            used = [rg for rg in rungs if per_rung.get(rg.label)]
            if not used:
                continue
            level_ = None if chance is None else chance.get((task, setting, metric))
            if level_ is None:
                level_ = chance_from_records(ok, metric)
            curve = make_curve(
                task,
                setting,
                metric,
                used,
                [[v for _, v in per_rung[rg.label]] for rg in used],
                item_ids=[[i for i, _ in per_rung[rg.label]] for rg in used],
                chance=level_,
                shots=int(shots),
                seed=seed,
                n_boot=n_boot,
                level=level,
                n_errors=[errors.get(rg.label, 0) for rg in used],
            )
            curves.append(curve)
    return curves, warnings
