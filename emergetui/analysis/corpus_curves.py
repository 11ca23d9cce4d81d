"""Corpus metrics (BLEU, macro-F1, BIG-bench's Brier score and ECE) as scaling curves.

A BIG-bench task whose ``preferred_score`` is ``bleu`` has its headline in a
statistic of the whole item set, not a mean of per-item values, so it cannot
be built like the other curves. Here each rung's point is BIG-bench's own
function on that rung's items (:mod:`emergetui.analysis.corpus_metrics`) and
``boot[b, i]`` is the same function on replicate ``b`` of the task setting's
*shared* item bootstrap -- the very item draws behind the mean curves -- so
the verdict, the paired jump, the fall-back test and the shape fit read a
BLEU curve exactly as they read an accuracy curve.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergetui.analysis.corpus_metrics import CORPUS_METRICS, CorpusItem, corpus_metric_values
from emergetui.analysis.curves import Curve, CurvePoint, dedupe, setting_items, shared_draws
from emergetui.analysis.data import RungInfo, metric_kind

#: The range each corpus statistic can take (BLEU in BIG-bench's 0-100 units).
CORPUS_RANGE: dict[str, tuple[float, float]] = {
    "bleu": (0.0, 100.0),
    "macro_f1": (0.0, 1.0),
    "calibration_multiple_choice_brier_score": (0.0, 1.0),
    "expected_calibration_error": (0.0, 1.0),
}


@dataclass(frozen=True)
class CorpusNote:
    """A rung where a listed corpus metric has no value, and why (e.g. no stored answers)."""

    task: str
    setting: str
    metric: str
    rung: str
    note: str
    n: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "rung": self.rung,
            "note": self.note,
            "n": self.n,
        }


def corpus_curves(
    task: str,
    setting: str,
    records: Sequence[Any],
    rungs: Sequence[RungInfo],
    item_ids: Sequence[str],
    draws: np.ndarray,
    metrics: Sequence[str],
    *,
    shots: int,
    level: float,
    n_errors: Mapping[str, int],
) -> tuple[list[Curve], list[CorpusNote]]:
    """One curve per corpus metric in ``metrics`` for one task setting.

    ``records`` are the task setting's stored rows (failed items give empty
    items and are left out of the statistic); ``draws`` the shared item
    bootstrap as indices into ``item_ids``. Rungs where a metric has no
    value become :class:`CorpusNote` entries instead of points.
    """
    wanted = [m for m in dict.fromkeys(metrics) if m in CORPUS_METRICS]
    if not wanted:
        return [], []
    by_rung: dict[str, list[CorpusItem]] = {}
    for rec in records:
        by_rung.setdefault(rec.rung, []).append(CorpusItem.from_record(rec))
    values = corpus_metric_values(by_rung, wanted, replicates=draws, item_ids=item_ids, level=level)
    curves: list[Curve] = []
    notes: list[CorpusNote] = []
    for metric in wanted:
        points: list[CurvePoint] = []
        columns: list[np.ndarray] = []
        for rung in rungs:
            v = values.get(rung.label, {}).get(metric)
            if v is None:
                continue
            if v.n == 0 or not math.isfinite(v.value):
                notes.append(
                    CorpusNote(task, setting, metric, rung.label, v.note or "undefined", v.n)
                )
                continue
            points.append(
                CurvePoint(
                    rung=rung.label,
                    params=int(rung.params),
                    mean=float(v.value),
                    ci_low=float(v.ci_low),
                    ci_high=float(v.ci_high),
                    n=int(v.n),
                    n_errors=int(n_errors.get(rung.label, 0)),
                    heldout_loss=rung.heldout_loss,
                    train_tokens=rung.train_tokens,
                )
            )
            columns.append(np.asarray(v.replicates, dtype=float))
        if not points:
            continue
        kind = metric_kind(metric)
        boot = np.column_stack(columns) if columns[0].size else np.zeros((0, len(points)))
        curves.append(
            Curve(
                task=task,
                setting=setting,
                metric=metric,
                shots=shots,
                discrete=kind.discrete,
                higher_is_better=kind.higher_is_better,
                chance=None,
                points=points,
                boot=boot,
                corpus=True,
                value_range=CORPUS_RANGE.get(metric),
            )
        )
    return curves, notes


def build_corpus_curves(
    records: Iterable[Any],
    rungs: Sequence[RungInfo],
    listed: Mapping[tuple[str, str], Sequence[str]],
    *,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> tuple[list[Curve], list[CorpusNote]]:
    """Corpus curves of every task setting that lists corpus metrics (``listed``: the
    metrics each (task, setting) declares, as the store and ``export`` keep them).

    Rows are grouped, deduplicated and resampled exactly as
    :func:`~emergetui.analysis.curves.build_curves` does, so the replicates are
    the ones behind that task setting's mean curves.
    """
    order = {r.label: i for i, r in enumerate(rungs)}
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for rec in dedupe(records):
        if rec.rung in order:
            groups[(rec.task, rec.setting)].append(rec)
    curves: list[Curve] = []
    notes: list[CorpusNote] = []
    for (task, setting), recs in sorted(groups.items()):
        metrics = [m for m in listed.get((task, setting), ()) if m in CORPUS_METRICS]
        if not metrics:
            continue
        ids = setting_items(recs)
        draws = shared_draws(seed, task, setting, len(ids), n_boot)
        errors = Counter(r.rung for r in recs if r.error is not None)
        shots = Counter(r.shots for r in recs).most_common(1)[0][0]
        got, why = corpus_curves(
            task,
            setting,
            recs,
            rungs,
            ids,
            draws,
            metrics,
            shots=int(shots),
            level=level,
            n_errors=errors,
        )
        curves.extend(got)
        notes.extend(why)
    return curves, notes
