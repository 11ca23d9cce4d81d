"""BIG-bench's JSON-task metrics with BIG-bench's own definitions.

Source of every definition: the ``bigbench`` 1.0.0 package (PyPI sdist, the
release the BIG-bench paper's numbers come from), ``bigbench/api/task_metrics.py``
and ``bigbench/api/json_task.py``, which call T5's ``t5.evaluation.metrics``
(t5 0.9.1) for BLEU, ROUGE and ``sequence_accuracy``. Why not just import them:
BIG-bench imports TensorFlow, T5 and ``datasets`` at module level; the metric
arithmetic itself is small, so it is restated here, and the two real libraries
underneath (sacrebleu for BLEU, rouge-score for ROUGE) are called exactly as T5
calls them; nothing of theirs is re-implemented.

Per-item metrics (mean over items = BIG-bench's value) live in functions taking
one item's data; corpus-level metrics (BLEU, macro-F1, ECE, BIG-bench's Brier
score, whose value is not a mean of per-item values) take one list per corpus
and are recomputed on bootstrap replicates in
:mod:`emergetui.analysis.corpus_metrics`.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

#: json_task.GENERATIVE_METRICS / SCORING_METRICS / MULTIPLE_CHOICE_METRICS.
GENERATIVE_METRICS = (
    "bleu",
    "bleurt",
    "exact_str_match",
    "case_insensitive_str_match",
    "sequence_f1",
    "numeric_match_with_0_1_relative_error",
    "rouge",
)
SCORING_METRICS = ("log_likelihood",)
MULTIPLE_CHOICE_METRICS = (
    "multiple_choice_grade",
    "calibration_multiple_choice_brier_score",
    "expected_calibration_error",
    "weighted_log_probabilities",
    "weighted_probabilities",
    "macro_f1",
)
ALL_METRICS = GENERATIVE_METRICS + SCORING_METRICS + MULTIPLE_CHOICE_METRICS

#: json_task.SCORE_RANGES: BIG-bench's [low_score, high_score] per preferred score.
SCORE_RANGES: Mapping[str, tuple[float, float]] = {
    "bleu": (0.0, 100.0),
    "sequence_f1": (0.0, 100.0),
    "bleurt": (-0.1, 1.1),
    "calibration_multiple_choice_brier_score": (0.0, 1.0),
    "expected_calibration_error": (0.0, 1.0),
    "exact_str_match": (0.0, 1.0),
    "case_insensitive_str_match": (0.0, 1.0),
    "log_likelihood": (-10.0, 0.0),
    "multiple_choice_grade": (0.0, 1.0),
    "numeric_match_with_0_1_relative_error": (0.0, 1.0),
    "rouge1": (0.0, 100.0),
    "rouge2": (0.0, 100.0),
    "rougeLsum": (0.0, 100.0),
    "weighted_log_probabilities": (-10.0, 0.0),
    "weighted_probabilities": (-1.0, 1.0),
    "macro_f1": (0.0, 1.0),
}

#: Metrics a task may declare that emergetui does not compute, and why.
NOT_COMPUTED_REASONS: Mapping[str, str] = {
    "bleurt": "BLEURT needs the BLEURT-20 checkpoint (a large model download) and TensorFlow",
}

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
#: Metric names a declared BIG-bench metric expands to in the results.
EXPANDS: Mapping[str, tuple[str, ...]] = {
    "rouge": ROUGE_TYPES,
    "log_likelihood": ("log_likelihood", "log_likelihood_per_word", "log_likelihood_per_char"),
}
#: Corpus-level metrics: the value over a set of items is not the mean of per-item values.
CORPUS_METRICS = (
    "bleu",
    "macro_f1",
    "calibration_multiple_choice_brier_score",
    "expected_calibration_error",
)
ECE_BUCKETS = 15


# --------------------------------------------------------------------------- multiple choice


def bb_argmax(values: Sequence[float]) -> int:
    """task_metrics.argmax: the maximum, ties broken by SHA-256 of the float64 array.

    Why not the first maximum: a model that gives every choice the same score
    would otherwise always pick the first listed choice, which on many task
    files is the right one.
    """
    array = np.asarray(values, dtype=np.float64)
    max_indices = np.arange(len(array))[array == np.max(array)]
    if not len(max_indices):  # a NaN (BIG-bench would divide by zero): NaN never wins
        clean = np.where(np.isnan(array), -np.inf, array)
        max_indices = np.arange(len(array))[clean == np.max(clean)]
    idx = int(hashlib.sha256(array.tobytes()).hexdigest(), 16) % len(max_indices)
    return int(max_indices[idx])


def mc_log_probs(absolute: Sequence[float], absolute_normalization: bool = False) -> list[float]:
    """The ``log_prob`` BIG-bench scores choices by: log-likelihoods normalised over the
    choices (``x - logsumexp(x)``) unless the task sets ``absolute_normalization``."""
    from scipy.special import logsumexp

    if absolute_normalization or logsumexp(absolute) == -np.inf:
        # every choice impossible: -inf - -inf would be NaN; all stay tied at -inf
        return [float(x) for x in absolute]
    return [float(x) for x in np.array(absolute, dtype=np.float64) - logsumexp(absolute)]


def mc_probabilities(log_prob: Sequence[float], scores: Sequence[float]) -> tuple[Any, list[float]]:
    """task_metrics._probability_from_sample: softmax of ``log_prob`` and the target
    scores normalised to sum 1 (all zeros when they sum to 0)."""
    total = sum(scores)
    target_probs = [0.0] * len(scores) if total == 0 else [s / total for s in scores]
    lp = np.array(log_prob, dtype=np.float64)
    lp -= np.max(lp)
    probs = np.exp(lp) / np.sum(np.exp(lp))
    return probs, target_probs


def brier_parts(log_prob: Sequence[float], scores: Sequence[float]) -> tuple[float, int]:
    """One item's summand and count for calibration_multiple_choice_brier_score.

    BIG-bench divides the sum over every (item, choice) pair by the number of
    pairs, so the corpus value is ``sum(parts) / sum(counts)``.
    """
    probs, target_probs = mc_probabilities(log_prob, scores)
    total = 0.0
    for t, p in zip(target_probs, probs, strict=True):
        total += t * (p - 1) ** 2 + (1 - t) * (p - 0) ** 2
    return float(total), len(scores)


def ece_inputs(log_prob: Sequence[float], scores: Sequence[float]) -> tuple[float, bool]:
    """One item's (confidence, correct) for BIG-bench's expected calibration error.

    Correct means ``np.argmax`` (first maximum) of the target probabilities equals
    ``np.argmax`` of the predicted ones, exactly as ``_compute_bucket_accuracy``.
    """
    probs, target_probs = mc_probabilities(log_prob, scores)
    return float(np.max(probs)), bool(np.argmax(target_probs) == np.argmax(probs))


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], num_buckets: int = ECE_BUCKETS
) -> float:
    """measure_expected_calibration_error: equal-width buckets, a confidence on a
    bucket's upper edge going to the next one (the top bucket takes 1.0)."""
    if not confidences:
        return math.nan
    values: list[list[float]] = [[] for _ in range(num_buckets)]
    hits: list[list[int]] = [[] for _ in range(num_buckets)]
    for conf, ok in zip(confidences, correct, strict=True):
        j = 0
        for j in range(num_buckets):
            if conf < float((j + 1) / num_buckets):
                break
        values[j].append(conf)
        hits[j].append(int(ok))
    n = len(confidences)
    ece = 0.0
    for bucket, bucket_hits in zip(values, hits, strict=True):
        if bucket:
            ece += (len(bucket) / n) * abs(float(np.mean(bucket_hits)) - float(np.mean(bucket)))
    return float(ece)


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """sklearn ``f1_score(average="macro")`` as macro_f1_fn calls it: F1 per label over
    the sorted union of true and predicted labels (0 where undefined), then the mean."""
    if not y_true:
        return math.nan
    f1s = []
    for label in sorted(set(y_true) | set(y_pred)):
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p != label)
        denom = 2 * tp + fp + fn
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s))


def macro_f1_label(choices: Sequence[str], scores: Sequence[float]) -> str | None:
    """The true label for macro_f1, or None where BIG-bench refuses the item
    (it needs exactly one choice scored 1 and scores summing to 1)."""
    if list(scores).count(1) != 1 or sum(scores) != 1:
        return None
    return next(c for c, s in zip(choices, scores, strict=True) if s == 1)


def weighted_log_probability(scores: Sequence[float], absolute: Sequence[float]) -> float:
    """measure_weighted_log_probabilities for one item (absolute log-likelihoods)."""
    return float(np.sum(np.array(scores, dtype=np.float64) * np.array(absolute, dtype=np.float64)))


def weighted_probability(scores: Sequence[float], absolute: Sequence[float]) -> float:
    """measure_weighted_probabilities for one item."""
    return float(
        np.sum(np.array(scores, dtype=np.float64) * np.exp(np.array(absolute, dtype=np.float64)))
    )


# --------------------------------------------------------------------------- generative


def case_insensitive_match(targets: Sequence[str], response: str) -> float:
    """case_insensitive_str_match_fn for one item."""
    return 1.0 if response.strip().lower() in [t.strip().lower() for t in targets] else 0.0


def numeric_match(targets: Sequence[str], response: str, rel_error: float = 0.1) -> float | None:
    """numeric_match_with_0_1_relative_error for one item; None when the item has more
    than one target (BIG-bench asserts a single one).

    Faithful to BIG-bench, including its corners: Python's ``float()`` decides what
    is numeric (" 12 ", "1e3", "1_000" are; "12 apples" is not), and the error is
    divided by the signed target, so any number matches a negative target.
    """
    if len(targets) != 1:
        return None
    try:
        ftarget = float(targets[0])
    except ValueError:
        return 0.0
    try:
        fvalue = float(response)
    except ValueError:
        return 0.0
    relative = abs(fvalue - ftarget) / (ftarget if ftarget != 0 else 1)
    return 1.0 if relative <= rel_error else 0.0


def sequence_f1(targets: Sequence[str], response: str) -> float:
    """sequence_f1_fn for one item: T5's ``sequence_accuracy`` (x100) over space-split
    labels, the response cut or padded with "O" to the first target's length."""
    predicted = response.split(" ")
    target = targets[0].split(" ")
    if len(predicted) > len(target):
        predicted = predicted[: len(target)]
    elif len(predicted) < len(target):
        predicted.extend(["O"] * (len(target) - len(predicted)))
    return float(100 * np.mean([p == t for p, t in zip(predicted, target, strict=True)]))


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES))


def _prepare_summary(summary: str) -> str:
    # t5.evaluation.metrics.rouge: newlines between sentences for rougeLsum.
    return summary.replace(" . ", " .\n")


def rouge(targets: Sequence[str], response: str) -> dict[str, float]:
    """rouge_fn for one item: per ROUGE type the F-measure (x100) against the best
    reference (the first best on ties, as Python's ``max``).

    BIG-bench then reports rouge-score's BootstrapAggregator median of the mean
    over items, a random estimate of the mean this module's callers compute
    exactly (so values agree within BIG-bench's own bootstrap noise).
    """
    scorer = _rouge_scorer()
    resp = _prepare_summary(response)
    scores = [scorer.score(target=_prepare_summary(t), prediction=resp) for t in targets]
    return {kind: float(max(s[kind].fmeasure for s in scores) * 100) for kind in ROUGE_TYPES}


def bleu_references(targets: Sequence[Sequence[str]]) -> list[list[str]]:
    """bleu_fn's reference streams: every item's target list padded with its first
    target to the longest list, then transposed (one stream per reference slot)."""
    max_refs = max(len(t) for t in targets)
    padded = copy.deepcopy([list(t) for t in targets])
    if len({len(t) for t in targets}) > 1:
        for t in padded:
            if len(t) < max_refs:
                t += [t[0]] * (max_refs - len(t))
    return [[t[i] for t in padded] for i in range(max_refs)]


def bleu(targets: Sequence[Sequence[str]], responses: Sequence[str]) -> float:
    """bleu_fn: T5's corpus BLEU through sacrebleu (exp smoothing, intl tokenizer)."""
    import sacrebleu

    score = sacrebleu.corpus_bleu(
        list(responses),
        bleu_references(targets),
        smooth_method="exp",
        smooth_value=0.0,
        force=False,
        lowercase=False,
        tokenize="intl",
        use_effective_order=False,
    )
    return float(score.score)


@lru_cache(maxsize=1)
def _bleu_metric() -> Any:
    from sacrebleu.metrics import BLEU

    # effective_order only silences sacrebleu's sentence-level advice; the
    # statistics read from it below do not depend on it.
    return BLEU(tokenize="intl", smooth_method="exp", effective_order=True)


def bleu_stats(targets: Sequence[str], response: str) -> list[int]:
    """One item's BLEU sufficient statistics from sacrebleu:
    ``[sys_len, ref_len, correct_1..4, total_1..4]``.

    Why: corpus BLEU is a function of these statistics summed over items, so a
    bootstrap replicate needs a sum, not a re-tokenised corpus.
    """
    s = _bleu_metric().sentence_score(response, list(targets))
    return [int(s.sys_len), int(s.ref_len), *map(int, s.counts), *map(int, s.totals)]


def bleu_from_stats(stats: Sequence[float]) -> float:
    """Corpus BLEU from summed :func:`bleu_stats`, by sacrebleu's own ``compute_bleu``."""
    from sacrebleu.metrics import BLEU

    sys_len, ref_len = int(stats[0]), int(stats[1])
    correct = [int(x) for x in stats[2:6]]
    total = [int(x) for x in stats[6:10]]
    score = BLEU.compute_bleu(
        correct,
        total,
        sys_len,
        ref_len,
        smooth_method="exp",
        smooth_value=0.0,
        effective_order=False,
    )
    return float(score.score)


# --------------------------------------------------------------------------- scoring


def log_likelihood(
    target_logprobs: Sequence[float], targets: Sequence[str], multi_target_task: bool
) -> dict[str, float]:
    """log_likelihood_fn for one item (``target_logprobs``: summed log-probability per target).

    When any item of the task has several targets, BIG-bench sums their
    probabilities (logsumexp) and reports only ``log_likelihood``; otherwise it
    also divides by the target's words and characters. A target with no word
    or character (which would divide by zero in BIG-bench) gets no per-word /
    per-char value.
    """
    from scipy.special import logsumexp

    if multi_target_task:
        return {"log_likelihood": float(logsumexp(list(target_logprobs)))}
    lp, target = float(target_logprobs[0]), targets[0]
    out = {"log_likelihood": lp}
    if target.split():
        out["log_likelihood_per_word"] = lp / len(target.split())
    if target:
        out["log_likelihood_per_char"] = lp / len(target)
    return out
