"""The mirage test: is a jump made by the metric or by the model?

Schaeffer, Miranda and Koyejo (2023, "Are Emergent Abilities of Large
Language Models a Mirage?") show that *nonlinear or discontinuous* metrics
manufacture jumps from smoothly improving per-token probabilities: if the
per-token probability ``p`` of the right answer improves steadily with
size, exact match on an ``L``-token answer is about ``p^L``, which sits at 0
and then shoots up. So the test compares, on the very same stored outputs:

* nonlinear metrics: exact match, multiple-choice grade (and its
  length-normalised form), ``prob_correct`` = exp(sum of token log-probs)
  = p^L (the same transform, so it is *not* a continuous witness);
* linear ones: per-token (or summed) target log-likelihood, token edit
  distance, Brier scores; any other continuous metric by default.

For each task setting whose first nonlinear metric (in that order) is
``emergent``, every linear curve is classed:

* ``jumps``: its own verdict is emergent, or its shape test finds a sharp
  rise (at most ``sharp_gaps`` gaps) whose midpoint range meets the
  nonlinear metric's jump -- the same transition, even if a small earlier
  gain keeps it from a plateau of its own;
* ``smooth``: otherwise, its verdict is smooth, or it improves
  significantly from the first to the last plateau rung (one-sided paired
  bootstrap, Holm over the linear metrics) -- the steady progress the
  discrete metric hides;
* otherwise its own verdict.

When teacher-forced per-token metrics are stored (:data:`PER_TOKEN`), they
alone decide the outcome and the others (token edit distance, which scores
free generation where errors compound) are reported beside it; otherwise
every linear metric decides.

Corpus statistics (BLEU, macro-F1, ...) are left out: they are not a
per-item transform of the token probabilities, so they neither trigger nor
witness the test (:func:`~emergetui.analysis.analyze.analyze` passes only
per-item curves).

Outcome: ``mirage`` (some smooth, none jumps), ``survives`` (some jump, none
smooth), ``mixed``, ``inconclusive``, or ``n/a``. The mechanism is shown
next to it, beside the observed exact match: Schaeffer et al.'s prediction
``a^L`` from the rung's per-token accuracy ``a`` (``token_accuracy``,
teacher-forced argmax, the counterpart of greedy decoding) and the mean
answer length ``L`` in tokens, i.e. exact match if every token were an
independent draw; and mean ``prob_correct`` (``p_token^L`` per item), the
exact match a sampler would get.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import holm
from emergetui.analysis.curves import Curve, CurveKey
from emergetui.analysis.emergence import Verdict, VerdictParams

OUTCOMES = ("survives", "mirage", "mixed", "inconclusive", "n/a")
#: Nonlinear metrics, in the order the test looks for an emergent one.
NONLINEAR: tuple[str, ...] = (
    "exact_match",
    "multiple_choice_grade",
    "mc_grade_norm",
    "prob_correct",
)
#: The continuous metric that is itself p^L: the mechanism's prediction of exact match.
PREDICTOR = "prob_correct"
#: Teacher-forced per-token metrics: each answer token scored given the right ones before it,
#: so they measure the per-token ability itself. They decide the test when stored; a linear
#: metric of free generation (token edit distance) is reported beside them, because in greedy
#: decoding one wrong token can put the rest of the answer on another path (errors compound),
#: which makes it step with exact match although nothing per token did.
PER_TOKEN = ("logprob_correct_mean", "logprob_correct", "token_accuracy")
#: The per-token accuracy whose L-th power is Schaeffer et al.'s prediction of exact match.
ACCURACY = "token_accuracy"


def is_nonlinear(curve: Curve) -> bool:
    """Discrete metrics and p^L are nonlinear; everything else counts as linear."""
    return curve.discrete or curve.metric in NONLINEAR


@dataclass
class MirageResult:
    """The outcome for one task setting and how each linear metric behaved."""

    task: str
    setting: str
    outcome: str
    reason: str
    discrete_metric: str | None = None
    jump: tuple[str, str] | None = None
    continuous: dict[str, str] = field(default_factory=dict)
    early_gain: dict[str, list[float]] = field(default_factory=dict)
    observed: list[float] | None = None
    predicted: list[float] | None = None
    rungs: list[str] | None = None
    #: ``a^L`` per rung from the per-token accuracy, and the ``L`` used (mean answer tokens)
    predicted_accuracy: list[float] | None = None
    answer_tokens: float | None = None

    @property
    def mechanism(self) -> str | None:
        """One line: observed exact match beside its predictions from the per-token numbers."""
        if self.observed is None or self.predicted is None or not self.rungs:
            return None
        obs = " ".join(f"{v:.2f}" for v in self.observed)
        pred = " ".join(f"{v:.2f}" for v in self.predicted)
        acc = ""
        if self.predicted_accuracy is not None and self.answer_tokens is not None:
            values = " ".join(f"{v:.2f}" for v in self.predicted_accuracy)
            acc = (
                f"; predicted from per-token accuracy (a^L, L = {self.answer_tokens:.3g} tokens) "
                f"{values}"
            )
        return (
            f"{self.discrete_metric} observed {obs}{acc}; predicted from per-token probability "
            f"(mean p_token^L = {PREDICTOR}) {pred}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "outcome": self.outcome,
            "reason": self.reason,
            "discrete_metric": self.discrete_metric,
            "jump": list(self.jump) if self.jump else None,
            "continuous": dict(self.continuous),
            "early_gain": {k: list(v) for k, v in self.early_gain.items()},
            "mechanism": {
                "rungs": self.rungs,
                "observed": self.observed,
                "predicted": self.predicted,
                "predicted_accuracy": self.predicted_accuracy,
                "answer_tokens": self.answer_tokens,
                "line": self.mechanism,
            }
            if self.observed is not None
            else None,
        }


def _early_gain(curve: Curve, first: str, last: str) -> tuple[float, float, float] | None:
    """Paired oriented gain from rung ``first`` to ``last``: (diff, p-value, ci_low)."""
    labels = [p.rung for p in curve.points]
    if first not in labels or last not in labels:
        return None
    i, j = labels.index(first), labels.index(last)
    boot = curve.oriented_boot()
    d = boot[:, j] - boot[:, i]
    d = d[np.isfinite(d)]
    y = curve.oriented_means()
    pval = float((1 + np.sum(d <= 0.0)) / (d.size + 1))
    lo = float(np.quantile(d, 0.05)) if d.size else float("nan")
    return float(y[j] - y[i]), pval, lo


def _sharp_at(v: Verdict, x_jump: tuple[float, float], sharp_gaps: float) -> bool:
    """The linear curve rises sharply (by the shape test) within the nonlinear jump's gap,
    even if a small earlier gain keeps it from a plateau of its own."""
    t = v.transition
    if v.label == "non-monotone" or t is None or t.gaps_ci[1] > sharp_gaps:
        return False
    return t.midpoint_ci[0] <= x_jump[1] and t.midpoint_ci[1] >= x_jump[0]


def _mechanism(
    dcurve: Curve, by_metric: Mapping[str, Curve], answer_tokens: float | None
) -> dict[str, Any] | None:
    pred = by_metric.get(PREDICTOR)
    if dcurve.metric != "exact_match" or pred is None:
        return None
    at = {p.rung: p.mean for p in pred.points}
    rungs = [p.rung for p in dcurve.points if p.rung in at]
    out: dict[str, Any] = {
        "rungs": rungs,
        "observed": [p.mean for p in dcurve.points if p.rung in at],
        "predicted": [at[r] for r in rungs],
    }
    acc = by_metric.get(ACCURACY)
    if acc is not None and answer_tokens:
        a = {p.rung: p.mean for p in acc.points}
        if all(r in a for r in rungs):
            out["predicted_accuracy"] = [a[r] ** answer_tokens for r in rungs]
            out["answer_tokens"] = answer_tokens
    return out


def mirage_test(
    curves: Sequence[Curve],
    verdicts: Mapping[CurveKey, Verdict],
    params: VerdictParams | None = None,
    answer_tokens: Mapping[tuple[str, str], float] | None = None,
) -> list[MirageResult]:
    """One :class:`MirageResult` per task setting found in ``curves``; ``answer_tokens``
    (mean tokens of the scored answer per task setting) gives the mechanism its ``L``."""
    p = params or VerdictParams()
    groups: dict[tuple[str, str], list[Curve]] = defaultdict(list)
    for curve in curves:
        groups[(curve.task, curve.setting)].append(curve)
    results: list[MirageResult] = []
    for (task, setting), group in sorted(groups.items()):
        by_metric = {c.metric: c for c in group}
        names = [m for m in NONLINEAR if m in by_metric]
        names += sorted(c.metric for c in group if is_nonlinear(c) and c.metric not in names)
        emergent = [m for m in names if verdicts[by_metric[m].key].label == "emergent"]
        linear = sorted((c for c in group if not is_nonlinear(c)), key=lambda c: c.metric)
        if not emergent:
            why = "no nonlinear metric is emergent" if names else "no nonlinear metric stored"
            results.append(MirageResult(task, setting, "n/a", why))
            continue
        dcurve = by_metric[emergent[0]]
        t = verdicts[dcurve.key].transition
        assert t is not None  # emergent verdicts always carry their transition
        pair = (dcurve.points[t.lower].rung, dcurve.points[t.upper].rung)
        plateau = (dcurve.points[0].rung, dcurve.points[max(t.plateau, p.min_plateau) - 1].rung)
        mech = _mechanism(dcurve, by_metric, (answer_tokens or {}).get((task, setting)))
        extra: dict[str, Any] = mech or {}
        if not linear:
            results.append(
                MirageResult(
                    task, setting, "n/a", "no linear metric stored", dcurve.metric, pair, **extra
                )
            )
            continue
        gains = {c.metric: _early_gain(c, *plateau) for c in linear}
        tested = {m: g for m, g in gains.items() if g is not None}
        rejected = holm(np.array([g[1] for g in tested.values()], dtype=float), p.alpha)
        rises = {m for m, r in zip(tested, rejected, strict=True) if r}
        labels: dict[str, str] = {}
        x_jump = (dcurve.log_params[t.lower], dcurve.log_params[t.upper])
        for c in linear:
            v = verdicts[c.key]
            if v.label == "emergent" or _sharp_at(v, x_jump, p.sharp_gaps):
                labels[c.metric] = "jumps"
            elif v.label == "smooth" or (c.metric in rises and v.label != "non-monotone"):
                labels[c.metric] = "smooth"
            else:
                labels[c.metric] = v.label
        witnesses = [m for m in labels if m in PER_TOKEN] or list(labels)
        jumps = [m for m in witnesses if labels[m] == "jumps"]
        smooth = [m for m in witnesses if labels[m] == "smooth"]
        where = (
            f"{dcurve.metric} jumps {pair[0]}->{pair[1]} after a plateau {plateau[0]}..{plateau[1]}"
        )
        aside = [f"{m} {labels[m]}" for m in labels if m not in witnesses]
        note = (
            f"; free generation: {', '.join(aside)} (a wrong token can derail the rest)"
            if aside
            else ""
        )
        early = [m for m in smooth if m in rises]
        if jumps and not smooth:
            outcome, reason = "survives", f"{where}; {', '.join(jumps)} jump there too{note}"
        elif smooth and not jumps:
            gain = f" ({', '.join(early)} already improve across the plateau)" if early else ""
            outcome, reason = "mirage", f"{where}; {', '.join(smooth)} rise smoothly{gain}{note}"
        elif jumps and smooth:
            outcome = "mixed"
            reason = f"{where}; {', '.join(jumps)} jump, {', '.join(smooth)} smooth{note}"
        else:
            outcome = "inconclusive"
            reason = f"{where}; linear metrics neither smooth nor jumping{note}"
        early_gain = {m: [g[0], g[1]] for m, g in tested.items()}
        results.append(
            MirageResult(
                task,
                setting,
                outcome,
                reason,
                dcurve.metric,
                pair,
                labels,
                early_gain,
                **extra,
            )
        )
    return results
