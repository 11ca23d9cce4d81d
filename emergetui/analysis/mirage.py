"""The mirage test: is a jump made by the metric or by the model?

Schaeffer, Miranda and Koyejo (2023, "Are Emergent Abilities of Large
Language Models a Mirage?") show that *nonlinear or discontinuous* metrics
manufacture jumps from smoothly improving per-token probabilities: if the
per-token probability ``p`` of the right answer improves steadily with
size, exact match on an ``L``-token answer is about ``p^L``, which sits at 0
and then shoots up. So the test compares, on the very same stored outputs, the nonlinear
metrics (exact match, multiple-choice grade, ``prob_correct`` = p^L) with
linear ones. For each task setting whose first nonlinear metric is
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

Which linear metrics are evidence depends on the discrete metric:

* exact match: the teacher-forced per-token log-likelihoods (:data:`PER_TOKEN`) decide.
  Per-token accuracy (an argmax per token) and token edit distance (free generation, where
  one wrong token puts the rest of a greedy answer on another path) can step with exact
  match although nothing per token did, and are reported beside them.
* multiple-choice grade: only the choice-normalised quantities
  (:mod:`emergetui.analysis.choice_level`: probability of the right option after the softmax
  over the options, its log, the margin to the best wrong option, BIG-bench's Brier score).
  The raw log-likelihood of the right option rises with fluency for *every* option, so it
  never decides; of the four, the probability of the right option is the one fluency cannot
  move at chance, so it decides whether the model improves across the grade's plateau.

Corpus statistics (BLEU, macro-F1, ...) neither trigger nor witness the test (not a per-item
transform of the token probabilities).

The mechanism is tested, not only shown (:mod:`emergetui.analysis.mechanism`): the discrete
curve predicted from the continuous one (``a^L`` and mean ``p^L`` for exact match; for the
grade, the argmax of the options' log-likelihoods fitted as power laws in size, item by
item) against the observed one; its p-value is :attr:`MirageResult.p_value`.

Outcome: ``survives`` -- for the grade, the fitted smooth log-likelihoods miss the observed
grade (p < alpha and by at least :data:`MIN_MISS`); for exact match, the per-token
log-likelihoods jump where it jumps and none rises smoothly. ``mirage`` -- the deciding
continuous metric rises smoothly or across the plateau, none jumps, and the prediction from
it is not rejected. ``mixed`` (exact match: some jump, some smooth), ``inconclusive``, or
``n/a``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import holm
from emergetui.analysis.choice_level import CHOICE_METRICS, MARGIN_OF, OptionTable
from emergetui.analysis.curves import Curve, CurveKey
from emergetui.analysis.emergence import Verdict, VerdictParams, verdict
from emergetui.analysis.mechanism import MechanismFit, generation_mechanism, mc_mechanism
from emergetui.analysis.mirage_result import ACCURACY, PREDICTOR, MirageResult, mechanism_lines

__all__ = ["ACCURACY", "OUTCOMES", "PREDICTOR", "MirageResult", "is_nonlinear", "mirage_test"]

OUTCOMES = ("survives", "mirage", "mixed", "inconclusive", "n/a")
#: Nonlinear metrics, in the order the test looks for an emergent one.
NONLINEAR: tuple[str, ...] = (
    "exact_match",
    "multiple_choice_grade",
    "mc_grade_norm",
    "prob_correct",
)
#: Teacher-forced per-token log-likelihoods: each answer token scored given the right ones
#: before it, so they measure the per-token ability itself, linearly. They decide the test for
#: exact match. Per-token accuracy (an argmax per token, itself a threshold on the token's
#: probability, so it can turn over as sharply as exact match when the loss falls fast) is
#: the mechanism's ``a`` and reported beside them.
PER_TOKEN = ("logprob_correct_mean", "logprob_correct")
#: The multiple-choice grades (their witnesses are the choice-level quantities).
GRADES = tuple(MARGIN_OF)
#: Witnesses of a grade: the choice-normalised quantities, stored Brier score included.
CHOICE_WITNESSES = (*CHOICE_METRICS, "brier_sum")
#: The choice-level quantity fluency cannot move at chance: it decides "improves across the
#: plateau" for a grade (the Brier score decides when the raw material is not stored).
CHOICE_DECIDES = ("choice_prob_correct", "brier_sum")
#: A rejected mechanism counts only when the prediction misses the observed grade by this much
#: at some rung: with thousands of items any misfit of the straight-line margins is
#: "significant", and a 1-point miss does not make a jump.
MIN_MISS = 0.05
#: For exact match the predictions are approximations (tokens independent; ``a^L`` from the
#: mean accuracy and length ignores how items differ), so only a miss this large counts.
GEN_MIN_MISS = 0.1


def is_nonlinear(curve: Curve) -> bool:
    """Discrete metrics and p^L are nonlinear; everything else counts as linear."""
    return curve.discrete or curve.metric in NONLINEAR


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


@dataclass
class _Witnesses:
    """How each linear metric behaved across the discrete metric's plateau and jump."""

    labels: dict[str, str]
    rises: set[str]
    gains: dict[str, list[float]]


def _classify(
    linear: Sequence[Curve],
    verdicts: Mapping[CurveKey, Verdict],
    plateau: tuple[str, str],
    x_jump: tuple[float, float],
    p: VerdictParams,
) -> _Witnesses:
    gains = {c.metric: _early_gain(c, *plateau) for c in linear}
    tested = {m: g for m, g in gains.items() if g is not None}
    rejected = holm(np.array([g[1] for g in tested.values()], dtype=float), p.alpha)
    rises = {m for m, r in zip(tested, rejected, strict=True) if r}
    labels: dict[str, str] = {}
    for c in linear:
        v = verdicts[c.key]
        if v.label == "emergent" or _sharp_at(v, x_jump, p.sharp_gaps):
            labels[c.metric] = "jumps"
        elif v.label == "smooth" or (c.metric in rises and v.label != "non-monotone"):
            labels[c.metric] = "smooth"
        else:
            labels[c.metric] = v.label
    kept = {m: [g[0], g[1]] for m, g in gains.items() if g is not None}
    return _Witnesses(labels, rises, kept)


def _rejects(fit: MechanismFit | None, alpha: float, miss: float = MIN_MISS) -> bool:
    return fit is not None and fit.p_value < alpha and fit.max_miss >= miss


def _grade_outcome(
    where: str, w: _Witnesses, fit: MechanismFit | None, alpha: float, raw: bool
) -> tuple[str, str]:
    """Outcome for a multiple-choice grade: the fitted mechanism decides a jump, the
    probability of the right option (else Brier) decides smooth progress."""
    decider = next((m for m in CHOICE_DECIDES if m in w.labels), None)
    how = w.labels.get(decider or "", "")
    test = f"; {fit.line()}" if fit is not None else ""
    beside = ", ".join(f"{m} {w.labels[m]}" for m in w.labels if m != decider)
    beside = f"; beside it: {beside}" if beside else ""
    beside += (
        "; the right option's raw log-likelihood is not evidence (fluency raises every option)"
        if raw
        else ""
    )
    if _rejects(fit, alpha):
        return "survives", (
            f"{where}; margins rising smoothly with log size do not predict it{test}{beside}"
        )
    early = decider in w.rises
    if fit is None and how == "jumps" and not early:
        return "survives", f"{where}; {decider} jumps there too{beside}"
    if early or how == "smooth":
        gain = " already across the plateau" if early else ""
        holds = " and the grade is what the smooth margins predict" if fit is not None else ""
        return "mirage", f"{where}; {decider} rises{gain}{holds}{test}{beside}"
    return "inconclusive", (
        f"{where}; {decider or 'no choice-level metric'} {how or 'missing'}, and the "
        f"mechanism is not rejected{test}{beside}"
    )


def _generation_outcome(
    where: str, w: _Witnesses, witnesses: list[str], fit: MechanismFit | None, alpha: float
) -> tuple[str, str]:
    jumps = [m for m in witnesses if w.labels[m] == "jumps"]
    smooth = [m for m in witnesses if w.labels[m] == "smooth"]
    free = [f"{m} {w.labels[m]}" for m in w.labels if m not in witnesses and m != ACCURACY]
    note = f"; {ACCURACY} {w.labels[ACCURACY]}" if ACCURACY in w.labels and witnesses else ""
    if free:
        note += f"; free generation: {', '.join(free)} (a wrong token can derail the rest)"
    test = f"; {fit.line()}" if fit is not None else ""
    early = [m for m in smooth if m in w.rises]
    if jumps and not smooth:
        return "survives", f"{where}; {', '.join(jumps)} jump there too{note}"
    if smooth and not jumps:
        gain = f" ({', '.join(early)} already improve across the plateau)" if early else ""
        if _rejects(fit, alpha, GEN_MIN_MISS):
            return "inconclusive", (
                f"{where}; {', '.join(smooth)} rise smoothly{gain} but do not predict it{test}"
                f"{note}"
            )
        return "mirage", f"{where}; {', '.join(smooth)} rise smoothly{gain}{test}{note}"
    if jumps and smooth:
        return "mixed", f"{where}; {', '.join(jumps)} jump, {', '.join(smooth)} smooth{note}"
    return "inconclusive", f"{where}; linear metrics neither smooth nor jumping{note}"


def mirage_test(
    curves: Sequence[Curve],
    verdicts: Mapping[CurveKey, Verdict],
    params: VerdictParams | None = None,
    answer_tokens: Mapping[tuple[str, str], float] | None = None,
    choice: Sequence[Curve] = (),
    options: Mapping[tuple[str, str], OptionTable] | None = None,
    *,
    seed: int = 0,
    n_boot: int = 1000,
) -> list[MirageResult]:
    """One :class:`MirageResult` per task setting found in ``curves``; ``answer_tokens``
    (mean tokens of the scored answer per task setting) gives the mechanism its ``L``;
    ``choice`` holds the choice-level curves (:func:`~emergetui.analysis.choice_level.
    choice_curves`), judged here by the same rule as the stored ones; ``options`` the
    options' log-likelihoods per task setting, which the grade's mechanism test fits."""
    p = params or VerdictParams()
    groups: dict[tuple[str, str], list[Curve]] = defaultdict(list)
    for curve in curves:
        groups[(curve.task, curve.setting)].append(curve)
    extra: dict[tuple[str, str], list[Curve]] = defaultdict(list)
    for curve in choice:
        extra[(curve.task, curve.setting)].append(curve)
    results: list[MirageResult] = []
    for (task, setting), group in sorted(groups.items()):
        by_metric = {c.metric: c for c in group}
        names = [m for m in NONLINEAR if m in by_metric]
        names += sorted(c.metric for c in group if is_nonlinear(c) and c.metric not in names)
        # what asks to be explained: a rise that looks sudden at this ladder's resolution
        # (emergent or step, or a plateau then most of the rise within two gaps, which the
        # rule calls inconclusive when a rung lies inside the rise: Verdict.sudden)
        emergent = [
            m
            for m in names
            if verdicts[by_metric[m].key].sudden
            and verdicts[by_metric[m].key].transition is not None
        ]
        if not emergent:
            why = "no nonlinear metric rises suddenly" if names else "no nonlinear metric stored"
            results.append(MirageResult(task, setting, "n/a", why))
            continue
        dcurve = by_metric[emergent[0]]
        t = verdicts[dcurve.key].transition
        assert t is not None  # kept above only with their transition
        pair = (dcurve.points[t.lower].rung, dcurve.points[t.upper].rung)
        plateau = (dcurve.points[0].rung, dcurve.points[max(t.plateau, p.min_plateau) - 1].rung)
        where = (
            f"{dcurve.metric} jumps {pair[0]}->{pair[1]} after a plateau {plateau[0]}..{plateau[1]}"
        )
        x_jump = (dcurve.log_params[t.lower], dcurve.log_params[t.upper])
        grade = dcurve.metric in GRADES
        own = {c.metric: c for c in extra.get((task, setting), [])}
        if grade:
            linear = [own[m] for m in CHOICE_METRICS if m in own]
            linear += [by_metric[m] for m in CHOICE_WITNESSES if m in by_metric]
            judged = dict(verdicts) | {c.key: verdict(c, p) for c in own.values()}
        else:
            linear = sorted((c for c in group if not is_nonlinear(c)), key=lambda c: c.metric)
            judged = dict(verdicts)
        mech = mechanism_lines(dcurve, by_metric, (answer_tokens or {}).get((task, setting)))
        info: dict[str, Any] = mech or {}
        info["choice"] = {m: [q.mean for q in c.points] for m, c in own.items()}
        if not linear:
            why = (
                "no choice-normalised linear metric stored (raw option log-likelihoods rise with "
                "fluency for every option and are not evidence)"
                if grade
                else "no linear metric stored"
            )
            results.append(MirageResult(task, setting, "n/a", why, dcurve.metric, pair, **info))
            continue
        w = _classify(linear, judged, plateau, x_jump, p)
        if grade:
            table = (options or {}).get((task, setting))
            norm = dcurve.metric == "mc_grade_norm"
            fit = mc_mechanism(table, norm, seed=seed, n_boot=n_boot) if table else None
            outcome, reason = _grade_outcome(where, w, fit, p.alpha, PER_TOKEN[1] in by_metric)
        else:
            fit = generation_mechanism(
                dcurve,
                by_metric.get(ACCURACY),
                by_metric.get(PREDICTOR),
                (answer_tokens or {}).get((task, setting)),
                seed=seed,
                n_boot=n_boot,
            )
            witnesses = [m for m in w.labels if m in PER_TOKEN] or list(w.labels)
            outcome, reason = _generation_outcome(where, w, witnesses, fit, p.alpha)
        results.append(
            MirageResult(
                task,
                setting,
                outcome,
                reason,
                dcurve.metric,
                pair,
                w.labels,
                w.gains,
                fit=fit,
                **info,
            )
        )
    return results
