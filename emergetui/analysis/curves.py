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

from emergetui.analysis.bootstrap import (
    draw_counts,
    item_draws,
    percentile_interval,
    rng_for,
    wilson_interval,
)
from emergetui.analysis.data import RungInfo, chance_from_records, metric_kind
from emergetui.tasks.records import ItemRecord

CurveKey = tuple[str, str, str]


@dataclass
class CurvePoint:
    """One rung's mean with its 95% interval over items.

    Wilson score interval for binary metrics (never zero width), percentile
    interval of the shared item bootstrap otherwise.
    """

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
    ``boot[b, i]`` is rung ``i``'s mean in replicate ``b`` of the task
    setting's shared item bootstrap, so ``boot[:, j] - boot[:, i]`` is a
    paired difference. ``binary`` marks pass/fail metrics, whose rung
    intervals are Wilson score intervals instead of percentile ones.
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
    boot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    binary: bool = False
    #: a corpus statistic (BLEU, macro-F1, ...): points are the statistic on the
    #: rung's items, ``boot`` it on each shared replicate, ``samples`` empty
    corpus: bool = False
    #: the metric's possible range in its own units, when known better than the values say
    value_range: tuple[float, float] | None = None

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

    def oriented_boot(self) -> np.ndarray:
        """Replicate means, oriented; shape ``(n_boot, n_points)``."""
        return self.sign * self.boot

    def oriented_bounds(self) -> tuple[float, float]:
        """The metric's possible range, oriented, read off the values.

        Values all in [0, 1] (accuracies, probabilities) bound the curve to
        [0, 1]; all <= 0 (log-probabilities) bound it above by 0; all >= 0
        (distances, Brier) below by 0. A fitted floor or ceiling may not
        leave this range. Unknown sides are infinite.
        """
        if self.value_range is not None:
            lo, hi = self.value_range
            return (lo, hi) if self.higher_is_better else (-hi, -lo)
        vals = np.concatenate(self.samples) if self.samples else np.zeros(0)
        lo, hi = -math.inf, math.inf
        if vals.size:
            if float(vals.min()) >= 0.0:
                lo = 0.0
                if float(vals.max()) <= 1.0:
                    hi = 1.0
            elif float(vals.max()) <= 0.0:
                hi = 0.0
        return (lo, hi) if self.higher_is_better else (-hi, -lo)

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
            "corpus": self.corpus,
            "points": [p.to_dict() for p in self.points],
        }


def is_binary(values: np.ndarray) -> bool:
    """Every finite value is 0 or 1 (a pass/fail metric)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return arr.size > 0 and bool(np.all((arr == 0.0) | (arr == 1.0)))


def _item_order(per_rung: Sequence[Sequence[tuple[str, float]]]) -> list[str]:
    """Every item id of a task setting once, in a fixed (sorted) order."""
    return sorted({item for rows in per_rung for item, _ in rows})


def shared_draws(seed: int, task: str, setting: str, n_items: int, n_boot: int) -> np.ndarray:
    """The task setting's item bootstrap (see :func:`item_draws`): the one set of
    replicates every curve of the task setting, mean or corpus statistic, uses."""
    return item_draws(n_items, n_boot, rng_for(seed, "items", task, setting))


def _shared_weights(seed: int, task: str, setting: str, n_items: int, n_boot: int) -> np.ndarray:
    return draw_counts(shared_draws(seed, task, setting, n_items, n_boot), n_items)


def setting_items(records: Iterable[ItemRecord]) -> list[str]:
    """The item ids a task setting's bootstrap resamples: every item scored without error."""
    return sorted({r.item_id for r in records if r.error is None})


def _assemble(
    task: str,
    setting: str,
    metric: str,
    rungs: Sequence[RungInfo],
    per_rung: Sequence[Sequence[tuple[str, float]]],
    ids: Sequence[str],
    weights: np.ndarray,
    *,
    chance: float | None,
    shots: int,
    level: float,
    n_errors: Sequence[int] | None,
) -> Curve:
    """One curve from ``per_rung[i]`` = ``[(item_id, value), ...]`` of ``rungs[i]``."""
    kind = metric_kind(metric)
    pos = {item: j for j, item in enumerate(ids)}
    order = sorted(range(len(rungs)), key=lambda i: (rungs[i].params, rungs[i].label))
    columns: list[np.ndarray] = []
    points: list[CurvePoint] = []
    samples: list[np.ndarray] = []
    ids_out: list[list[str]] = []
    for i in order:
        rows = [(item, v) for item, v in per_rung[i] if math.isfinite(v)]
        if not rows:
            continue
        col = np.full(len(ids), np.nan)
        for item, v in rows:
            col[pos[item]] = v
        columns.append(col)
        arr = np.array([v for _, v in rows], dtype=float)
        samples.append(arr)
        ids_out.append([item for item, _ in rows])
        rung = rungs[i]
        points.append(
            CurvePoint(
                rung=rung.label,
                params=int(rung.params),
                mean=float(arr.mean()),
                ci_low=float("nan"),
                ci_high=float("nan"),
                n=int(arr.size),
                n_errors=int(n_errors[i]) if n_errors is not None else 0,
                heldout_loss=rung.heldout_loss,
                train_tokens=rung.train_tokens,
            )
        )
    matrix = np.column_stack(columns) if columns else np.zeros((len(ids), 0))
    present = np.isfinite(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (weights @ np.where(present, matrix, 0.0)) / (weights @ present)
    # Wilson intervals for pass/fail metrics: a metric the tasks package knows is judged by its
    # kind (a continuous score such as ROUGE that happens to be 0 everywhere is not pass/fail);
    # an unknown one (rows from another tool) by its values
    binary = is_binary(matrix) and (kind.discrete or not kind.known)
    for j, point in enumerate(points):
        if binary:
            point.ci_low, point.ci_high = wilson_interval(point.mean * point.n, point.n, level)
        else:
            point.ci_low, point.ci_high = percentile_interval(boot[:, j], level)
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
        boot=boot,
        binary=binary,
    )


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

    Rungs are sorted by parameter count here, whatever order they come in;
    rungs without any value are left out. Without ``item_ids`` the ``j``-th
    value of every rung is taken to be the same item ``j`` (every rung scores
    the same items), which is what makes the bootstrap paired.
    """
    if len(values) != len(rungs):
        raise ValueError("values must have one sequence per rung")
    per_rung: list[list[tuple[str, float]]] = []
    for i, vals in enumerate(values):
        ids = [str(x) for x in item_ids[i]] if item_ids is not None else None
        if ids is None or len(ids) != len(vals):
            ids = [str(j) for j in range(len(vals))]
        per_rung.append([(x, float(v)) for x, v in zip(ids, vals, strict=True)])
    order = _item_order(per_rung)
    weights = _shared_weights(seed, task, setting, len(order), n_boot)
    return _assemble(
        task,
        setting,
        metric,
        rungs,
        per_rung,
        order,
        weights,
        chance=chance,
        shots=shots,
        level=level,
        n_errors=n_errors,
    )


def dedupe(records: Iterable[ItemRecord]) -> list[ItemRecord]:
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
    All metrics of a task setting share one item bootstrap.
    """
    warnings: list[str] = []
    by_label = {r.label: r for r in rungs}
    rows = dedupe(records)
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
        ids = setting_items(ok)
        weights = _shared_weights(seed, task, setting, len(ids), n_boot)
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
            curves.append(
                _assemble(
                    task,
                    setting,
                    metric,
                    used,
                    [per_rung[rg.label] for rg in used],
                    ids,
                    weights,
                    chance=level_,
                    shots=int(shots),
                    level=level,
                    n_errors=[errors.get(rg.label, 0) for rg in used],
                )
            )
    return curves, warnings
