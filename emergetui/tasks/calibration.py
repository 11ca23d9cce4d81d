"""emergetui's own calibration view of multiple-choice records: a reliability diagram
and a 10-bin ECE (``ece_10_bins``).

BIG-bench's ``expected_calibration_error`` (15 buckets, correct = first
maximum of the target scores) is a different number under BIG-bench's name, in
:mod:`emergetui.tasks.bigbench_metrics`; both are reported so neither is mistaken
for the other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from emergetui.tasks.metrics import argmax_first, softmax
from emergetui.tasks.records import ItemRaw


class _RecordLike(Protocol):
    target_scores: Sequence[float]
    raw: ItemRaw


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram."""

    lo: float
    hi: float
    count: int
    mean_confidence: float
    accuracy: float


def reliability_bins(records: Iterable[_RecordLike], n_bins: int = 10) -> list[CalibrationBin]:
    """Equal-width confidence bins over multiple-choice records.

    Confidence is the largest softmax probability over the choices; an item is
    correct when that argmax choice has the best target score. Records without
    complete choice log-probs (errors, generative items) are skipped.
    """
    counts = [0] * n_bins
    conf_sum = [0.0] * n_bins
    correct_sum = [0.0] * n_bins
    for rec in records:
        if getattr(rec, "error", None):
            continue
        scores = list(rec.target_scores)
        lps = rec.raw.choice_logprobs
        if not scores or len(lps) != len(scores):
            continue
        probs = softmax([math.fsum(x) for x in lps])
        top = argmax_first(probs)
        conf = probs[top]
        b = min(int(conf * n_bins), n_bins - 1)
        counts[b] += 1
        conf_sum[b] += conf
        correct_sum[b] += 1.0 if max(scores) > 0 and scores[top] == max(scores) else 0.0
    return [
        CalibrationBin(
            lo=b / n_bins,
            hi=(b + 1) / n_bins,
            count=counts[b],
            mean_confidence=conf_sum[b] / counts[b] if counts[b] else 0.0,
            accuracy=correct_sum[b] / counts[b] if counts[b] else 0.0,
        )
        for b in range(n_bins)
    ]


def ece_10_bins(records: Iterable[_RecordLike], n_bins: int = 10) -> float:
    """emergetui's own ECE over multiple-choice records (10 equal-width bins, correct =
    any best-scoring choice); NaN when there are none. BIG-bench's 15-bucket
    ``expected_calibration_error`` is in :mod:`emergetui.tasks.bigbench_metrics`."""
    bins = reliability_bins(records, n_bins)
    total = sum(b.count for b in bins)
    if total == 0:
        return math.nan
    return math.fsum(b.count / total * abs(b.accuracy - b.mean_confidence) for b in bins)
