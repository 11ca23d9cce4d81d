"""The mirage test: does the jump survive a continuous metric of the same outputs?

Schaeffer, Miranda and Koyejo (2023, "Are Emergent Abilities of Large
Language Models a Mirage?") show that a discontinuous metric (exact match,
multiple-choice grade) can turn a smooth improvement in per-token
probability into an apparent jump. Because every stored row carries both
kinds of metric for the very same model outputs, the test here is direct:
put the discrete curve next to the continuous ones and ask whether the
continuous ones also jump where the discrete one does.

For each task and setting:

* the discrete curve is the first emergent one among exact_match,
  multiple_choice_grade, mc_grade_norm; none emergent -> ``n/a``;
* no continuous metric stored -> ``n/a``;
* each continuous curve is classed ``jumps`` when its own verdict is
  emergent, or when its largest step lies at the discrete jump (the same
  pair of neighbouring rungs), is at least ``jump_share`` of its total
  range, and the two rungs' CIs do not overlap; ``smooth`` when its verdict
  is smooth; otherwise its verdict (``flat``/``inconclusive``);
* outcome: ``survives`` when some continuous metric jumps and none is
  smooth, ``mirage`` when some is smooth and none jumps, ``mixed`` when
  both happen, ``inconclusive`` otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.curves import Curve, CurveKey
from emergetui.analysis.data import DISCRETE_PRIORITY
from emergetui.analysis.emergence import Verdict, VerdictParams

OUTCOMES = ("survives", "mirage", "mixed", "inconclusive", "n/a")


@dataclass
class MirageResult:
    """The outcome for one task/setting and how each continuous metric behaved."""

    task: str
    setting: str
    outcome: str
    reason: str
    discrete_metric: str | None = None
    jump: tuple[str, str] | None = None
    continuous: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "outcome": self.outcome,
            "reason": self.reason,
            "discrete_metric": self.discrete_metric,
            "jump": list(self.jump) if self.jump else None,
            "continuous": dict(self.continuous),
        }


def _jumps_at(curve: Curve, pair: tuple[str, str], jump_share: float) -> bool:
    labels = [p.rung for p in curve.points]
    if pair[0] not in labels or pair[1] not in labels:
        return False
    i, j = labels.index(pair[0]), labels.index(pair[1])
    y = curve.oriented_means()
    lo, hi = curve.oriented_ci()
    steps = np.diff(y)
    if steps.size == 0 or j != i + 1:
        return False
    span = float(y.max() - y.min())
    step = float(steps[i])
    return int(np.argmax(steps)) == i and span > 0 and step >= jump_share * span and lo[j] > hi[i]


def classify_continuous(
    curve: Curve, verdict: Verdict, pair: tuple[str, str], jump_share: float
) -> str:
    """``jumps``, ``smooth``, ``flat`` or ``inconclusive`` for one continuous curve."""
    if verdict.label == "emergent" or _jumps_at(curve, pair, jump_share):
        return "jumps"
    return verdict.label


def mirage_test(
    curves: Sequence[Curve],
    verdicts: Mapping[CurveKey, Verdict],
    params: VerdictParams | None = None,
) -> list[MirageResult]:
    """One :class:`MirageResult` per task/setting found in ``curves``."""
    p = params or VerdictParams()
    groups: dict[tuple[str, str], list[Curve]] = defaultdict(list)
    for curve in curves:
        groups[(curve.task, curve.setting)].append(curve)
    results: list[MirageResult] = []
    for (task, setting), group in sorted(groups.items()):
        by_metric = {c.metric: c for c in group}
        discrete_names = [m for m in DISCRETE_PRIORITY if m in by_metric]
        discrete_names += sorted(
            c.metric for c in group if c.discrete and c.metric not in DISCRETE_PRIORITY
        )
        emergent = [m for m in discrete_names if verdicts[by_metric[m].key].label == "emergent"]
        continuous = [c for c in group if not c.discrete]
        if not emergent:
            results.append(MirageResult(task, setting, "n/a", "no discrete metric is emergent"))
            continue
        metric = emergent[0]
        dcurve = by_metric[metric]
        dverdict = verdicts[dcurve.key]
        at = dverdict.jump_at if dverdict.jump_at is not None else dverdict.plateau_end
        pair = (dcurve.points[at].rung, dcurve.points[at + 1].rung)
        if not continuous:
            results.append(
                MirageResult(task, setting, "n/a", "no continuous metric stored", metric, pair)
            )
            continue
        labels = {
            c.metric: classify_continuous(c, verdicts[c.key], pair, p.jump_share)
            for c in sorted(continuous, key=lambda c: c.metric)
        }
        jumps = [m for m, v in labels.items() if v == "jumps"]
        smooth = [m for m, v in labels.items() if v == "smooth"]
        where = f"{metric} jumps between {pair[0]} and {pair[1]}"
        if jumps and not smooth:
            outcome, reason = "survives", f"{where}; so does {', '.join(jumps)}"
        elif smooth and not jumps:
            outcome, reason = "mirage", f"{where}; {', '.join(smooth)} rise smoothly"
        elif jumps and smooth:
            outcome = "mixed"
            reason = f"{where}; {', '.join(jumps)} jump, {', '.join(smooth)} smooth"
        else:
            outcome = "inconclusive"
            reason = f"{where}; continuous metrics are neither smooth nor jumping"
        results.append(MirageResult(task, setting, outcome, reason, metric, pair, labels))
    return results
