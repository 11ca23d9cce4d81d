"""Per-item metrics, recomputable at any time from an :class:`Item` and its :class:`ItemRaw`.

Emergence claims depend heavily on the metric: a discrete metric (exact match,
multiple-choice grade) can jump where a continuous one (log-probability of the
right answer, token edit distance) rises smoothly. So every metric here carries
``discrete`` and ``higher_is_better``, and every item a chance level, so the
analysis can show both kinds side by side and say what "above chance" means.

Conventions expected from the runner (documented here because the numbers
depend on them):

* ``ItemRaw.generated_text`` is the continuation of ``Item.prompt`` exactly as
  given, without the matched stop string (llama.cpp / OpenAI convention);
  ``stop_reason`` is ``"stop"`` when a stop string ended generation.
* A BIG-bench ``stop_string`` is part of the response in BIG-bench (its
  post-processing keeps the text up to and including the stop string), so the
  loader records it in ``Item.meta`` under ``"stop_string"`` and
  :func:`response_text` puts it back before BIG-bench's truncation and regex.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from emergetui.tasks.base import Item
from emergetui.tasks.bigbench_metrics import bb_argmax, mc_log_probs
from emergetui.tasks.records import ItemRaw

#: BIG-bench's regex for generative tasks that set neither output_regex nor stop_string.
BIGBENCH_DEFAULT_REGEX = r"[^\.\?\!\;\n]+"
#: ``Item.meta`` key holding a BIG-bench stop string that belongs to the response.
META_STOP_STRING = "stop_string"
#: ``ItemRaw.stop_reason`` values meaning "a stop string ended the generation".
STOP_STRING_REASONS = frozenset({"stop", "stop_string"})
#: ``Item.meta`` key: the BIG-bench metrics the task declares, comma-separated. Items
#: without it (arithmetic, MMLU) get emergetui's own metrics only.
META_BIGBENCH_METRICS = "bigbench_metrics"
#: ``Item.meta`` key, "1" when some example of the task has several targets
#: (BIG-bench's log_likelihood then sums their probabilities and drops per word/char).
META_MULTI_TARGET = "bigbench_multi_target"
#: Item meta key: the expected exact match of a guess made without the prompt, for tasks whose
#: answer is drawn uniformly from a known set (see :func:`chance_levels`).
META_CHANCE = "chance"
#: ``Item.meta`` key, "1" for a task with ``absolute_normalization`` (choices scored
#: by unnormalised log-likelihood).
META_ABSOLUTE_NORMALIZATION = "absolute_normalization"


@dataclass(frozen=True)
class MetricInfo:
    """What a metric means, for tables, plots and the emergence analysis."""

    name: str
    description: str
    discrete: bool
    higher_is_better: bool
    #: "choices", "generation", "answer" (a target or a correct choice), or "corpus"
    #: (computed over a set of items, see emergetui.analysis.corpus_metrics)
    needs: str


_BB = "BIG-bench's "
#: BIG-bench's metrics under BIG-bench's names (see emergetui.tasks.bigbench_metrics).
BIGBENCH_METRIC_INFOS = (
    MetricInfo(
        "case_insensitive_str_match",
        _BB + "case-insensitive, stripped string match",
        True,
        True,
        "generation",
    ),
    MetricInfo(
        "numeric_match_with_0_1_relative_error",
        _BB + "numeric answer within 10% relative error of the target",
        True,
        True,
        "generation",
    ),
    MetricInfo(
        "sequence_f1",
        _BB + "per-position label accuracy (x100) of a space-separated label sequence",
        False,
        True,
        "generation",
    ),
    MetricInfo(
        "rouge1",
        _BB + "ROUGE-1 F (x100), best reference, rouge-score as T5 calls it",
        False,
        True,
        "generation",
    ),
    MetricInfo("rouge2", _BB + "ROUGE-2 F (x100), best reference", False, True, "generation"),
    MetricInfo("rougeLsum", _BB + "ROUGE-Lsum F (x100), best reference", False, True, "generation"),
    MetricInfo(
        "log_likelihood",
        _BB + "log P(target | prompt) (targets' probabilities summed "
        "when the task has several targets)",
        False,
        True,
        "answer",
    ),
    MetricInfo(
        "log_likelihood_per_word",
        _BB + "log_likelihood / words in the target",
        False,
        True,
        "answer",
    ),
    MetricInfo(
        "log_likelihood_per_char",
        _BB + "log_likelihood / characters in the target",
        False,
        True,
        "answer",
    ),
    MetricInfo(
        "weighted_log_probabilities",
        _BB + "sum of choice log-likelihoods weighted by target scores",
        False,
        True,
        "choices",
    ),
    MetricInfo(
        "weighted_probabilities",
        _BB + "sum of choice probabilities weighted by target scores",
        False,
        True,
        "choices",
    ),
    MetricInfo(
        "bleu",
        _BB + "corpus BLEU (sacrebleu, T5 settings); a corpus-level metric",
        False,
        True,
        "corpus",
    ),
    MetricInfo(
        "macro_f1",
        _BB + "macro-averaged F1 of the argmax choice; corpus-level",
        True,
        True,
        "corpus",
    ),
    MetricInfo(
        "calibration_multiple_choice_brier_score",
        _BB + "Brier score averaged over every (item, choice) pair; corpus-level",
        False,
        False,
        "corpus",
    ),
    MetricInfo(
        "expected_calibration_error",
        _BB + "expected calibration error, 15 buckets; corpus-level",
        False,
        False,
        "corpus",
    ),
)

_CORE = (
    MetricInfo(
        "exact_match",
        "generated answer equals a target after BIG-bench "
        "post-processing (stop string, output regex): BIG-bench's exact_str_match",
        True,
        True,
        "generation",
    ),
    MetricInfo(
        "multiple_choice_grade",
        "target score of the choice BIG-bench's argmax picks "
        "(highest normalised log-likelihood, ties broken by SHA-256 of the scores)",
        True,
        True,
        "choices",
    ),
    MetricInfo(
        "mc_grade_norm",
        "emergetui variant: multiple-choice grade with log-likelihood "
        "divided by the choice's length in characters (lm-eval acc_norm, first maximum "
        "wins)",
        True,
        True,
        "choices",
    ),
    MetricInfo(
        "logprob_correct",
        "log P(correct answer | prompt), summed over its tokens",
        False,
        True,
        "answer",
    ),
    MetricInfo("logprob_correct_mean", "per-token mean of logprob_correct", False, True, "answer"),
    MetricInfo(
        "token_accuracy",
        "fraction of the first target's tokens that are the model's most likely token given "
        "the correct ones before them (teacher-forced): the per-token accuracy of Schaeffer "
        "et al. (2023), whose L-th power predicts exact match if tokens were independent",
        False,
        True,
        "answer",
    ),
    MetricInfo(
        "prob_correct", "P(correct answer | prompt) = exp(logprob_correct)", False, True, "answer"
    ),
    MetricInfo(
        "brier_sum",
        "emergetui variant: per-item Brier score summed over the choices "
        "(softmax over choice log-likelihoods against the target scores normalised to "
        "sum 1); BIG-bench's calibration_multiple_choice_brier_score averages over "
        "(item, choice) pairs instead",
        False,
        False,
        "choices",
    ),
    MetricInfo(
        "token_edit_distance",
        "Levenshtein distance between the tokens of the "
        "post-processed answer and of the closest target, both tokenized alone by the "
        "same tokenizer",
        False,
        False,
        "generation",
    ),
)

METRICS: Mapping[str, MetricInfo] = MappingProxyType(
    {m.name: m for m in (*_CORE, *BIGBENCH_METRIC_INFOS)}
)


# --------------------------------------------------------------------------- helpers


def _meta(item: Item) -> dict[str, str]:
    return dict(item.meta)


def postprocess_output(text: str, stop_string: str | None, output_regex: str | None) -> str:
    """BIG-bench's ``postprocess_output``: cut after the first stop string, then take the
    first regex match ("" if none).

    A stop string at position 0 is ignored, exactly as BIG-bench does (``index > 0``).
    """
    if stop_string:
        index = text.find(stop_string)
        if index > 0:
            text = text[: index + len(stop_string)]
    if output_regex:
        try:
            pattern = re.compile(output_regex)
        except re.error:
            return ""
        found = pattern.findall(text)
        if not found:
            return ""
        first = found[0]
        if isinstance(first, tuple):  # several groups: fall back to the whole match
            match = pattern.search(text)
            return match.group(0) if match else ""
        text = first
    return text


def response_text(item: Item, raw: ItemRaw) -> str | None:
    """The model's answer as BIG-bench would score it, or None when nothing was generated."""
    text = raw.generated_text
    if text is None:
        return None
    stop_string = _meta(item).get(META_STOP_STRING) or None
    if stop_string and raw.stop_reason in STOP_STRING_REASONS and not text.endswith(stop_string):
        text += stop_string  # the engine dropped the stop string; BIG-bench keeps it
    return postprocess_output(text, stop_string, item.output_regex)


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def softmax(values: Sequence[float]) -> list[float]:
    """Normalised probabilities; all -inf (every choice impossible) gives a uniform vector."""
    lse = _logsumexp(values)
    if lse == -math.inf:
        return [1.0 / len(values)] * len(values)
    return [math.exp(v - lse) for v in values]


def argmax_first(values: Sequence[float]) -> int:
    """Index of the first maximum, like ``np.argmax`` (BIG-bench's multiple_choice_grade)."""
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance (insert, delete, substitute all cost 1) between two sequences."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _choice_sums(item: Item, raw: ItemRaw) -> list[float] | None:
    """Summed log-likelihood per choice, or None when the raw data do not cover every choice."""
    if not item.choices or len(raw.choice_logprobs) != len(item.choices):
        return None
    if len(item.target_scores) != len(item.choices):
        return None
    return [math.fsum(lps) for lps in raw.choice_logprobs]


def _correct_choices(item: Item) -> list[int]:
    """Choices with the best target score (BIG-bench's notion of "the" answer); none if all 0."""
    if not item.target_scores:
        return []
    best = max(item.target_scores)
    if best <= 0:
        return []
    return [i for i, s in enumerate(item.target_scores) if s == best]


def _outcome(scores: Sequence[float]) -> list[float]:
    """The Brier outcome vector: target scores normalised to sum 1 (one-hot for ordinary
    multiple choice). Normalising keeps items with several right answers in [0, 2]
    and rewards spreading probability over the right answers."""
    pos = [max(float(s), 0.0) for s in scores]
    total = math.fsum(pos)
    return [s / total for s in pos] if total > 0 else pos


def _correct_logprobs(item: Item, raw: ItemRaw) -> list[float] | None:
    """Token log-probs of the correct answer: the first target for generative items,
    else the most likely of the correct choices. Targets win when both exist because
    they are the answer a generative metric compares with."""
    if item.targets and raw.target_logprobs and raw.target_logprobs[0]:
        return list(raw.target_logprobs[0])
    sums = _choice_sums(item, raw)
    correct = _correct_choices(item)
    if sums is None or not correct:
        return None
    best = max(correct, key=lambda i: (sums[i], -i))
    lps = raw.choice_logprobs[best]
    return list(lps) if lps else None


# --------------------------------------------------------------------------- public API


def declared_bigbench(item: Item) -> tuple[str, ...]:
    """The BIG-bench metrics the item's task declares (empty for other task families)."""
    value = _meta(item).get(META_BIGBENCH_METRICS, "")
    return tuple(m for m in value.split(",") if m)


def fill_response(item: Item, raw: ItemRaw, tokenize: Callable[[str], list[int]]) -> None:
    """Store the post-processed answer and the tokens token_edit_distance compares.

    Why here and not from ``generated_tokens``/``target_tokens``: those come from
    two different tokenizations (generation continues a prompt that may end in a
    space; target scoring moves that space into the target), so a correct answer
    could score distance >= 1. The answer and every target are tokenized alone,
    by the same call, after BIG-bench's post-processing.
    """
    response = response_text(item, raw)
    raw.response = response
    if response is None:
        return
    raw.edit_response_tokens = tokenize(response) if response else []
    raw.edit_target_tokens = [tokenize(t) if t else [] for t in item.targets]


def item_metrics(item: Item, raw: ItemRaw) -> dict[str, float]:
    """Every metric of :data:`METRICS` that the item and its raw data allow
    (BIG-bench's own per-item metrics only where the task declares them)."""
    from emergetui.tasks.bigbench_items import bigbench_item_metrics

    meta = _meta(item)
    declared = declared_bigbench(item)
    out: dict[str, float] = {}
    sums = _choice_sums(item, raw)
    if sums is not None:
        scores = item.target_scores
        absolute = meta.get(META_ABSOLUTE_NORMALIZATION) == "1"
        out["multiple_choice_grade"] = float(scores[bb_argmax(mc_log_probs(sums, absolute))])
        normed = [s / max(len(c), 1) for s, c in zip(sums, item.choices, strict=True)]
        out["mc_grade_norm"] = float(scores[argmax_first(normed)])
        probs = softmax(sums)
        out["brier_sum"] = math.fsum(
            (p - y) ** 2 for p, y in zip(probs, _outcome(scores), strict=True)
        )
    lps = _correct_logprobs(item, raw)
    if lps is not None:
        total = math.fsum(lps)
        out["logprob_correct"] = total
        out["logprob_correct_mean"] = total / len(lps)
        out["prob_correct"] = math.exp(total)
    if item.targets and raw.target_greedy and raw.target_greedy[0]:
        flags = raw.target_greedy[0]
        out["token_accuracy"] = sum(1.0 for f in flags if f) / len(flags)
    response = None
    if item.generate and raw.generated_text is not None:
        response = response_text(item, raw)
        out["exact_match"] = 1.0 if response in item.targets else 0.0
        if raw.edit_target_tokens and len(raw.edit_target_tokens) == len(item.targets):
            gen = list(raw.edit_response_tokens)
            out["token_edit_distance"] = float(
                min(levenshtein(gen, t) for t in raw.edit_target_tokens)
            )
    if declared:
        out.update(
            bigbench_item_metrics(
                item, raw, response, sums, declared, multi_target=meta.get(META_MULTI_TARGET) == "1"
            )
        )
    return out


def chance_levels(item: Item) -> dict[str, float]:
    """Expected value of each metric for a guesser that knows nothing.

    Multiple choice: uniformly random choice (mean target score, BIG-bench's
    low_score); Brier: the uniform prediction. Generative string matches: 0,
    unless the item declares its level (``meta[META_CHANCE]``: a task whose answer
    is drawn uniformly from a known set, independent of the prompt, such as
    :mod:`emergetui.tasks.recall`). Metrics without a model-free chance level
    (log-probabilities, edit distance, ROUGE) are left out.
    """
    out: dict[str, float] = {}
    n = len(item.choices)
    if n and len(item.target_scores) == n:
        mean_score = math.fsum(item.target_scores) / n
        out["multiple_choice_grade"] = mean_score
        out["mc_grade_norm"] = mean_score
        out["brier_sum"] = math.fsum((1.0 / n - y) ** 2 for y in _outcome(item.target_scores))
    if item.generate:
        level = _meta(item).get(META_CHANCE)
        out["exact_match"] = float(level) if level is not None else 0.0
        if "case_insensitive_str_match" in declared_bigbench(item):
            out["case_insensitive_str_match"] = 0.0
    return out


def applicable_metrics(item: Item) -> tuple[str, ...]:
    """The metrics :func:`item_metrics` will produce for this item once the model has run."""
    from emergetui.tasks.bigbench_items import bigbench_item_names

    names: list[str] = []
    has_choices = bool(item.choices) and len(item.target_scores) == len(item.choices)
    if item.generate:
        names.append("exact_match")
    if has_choices:
        names += ["multiple_choice_grade", "mc_grade_norm"]
    if item.targets or _correct_choices(item):
        names += ["logprob_correct", "logprob_correct_mean", "prob_correct"]
    if has_choices:
        names.append("brier_sum")
    if item.generate and item.targets:
        names += ["token_accuracy", "token_edit_distance"]
    declared = declared_bigbench(item)
    if declared:
        multi = _meta(item).get(META_MULTI_TARGET) == "1"
        names += [m for m in bigbench_item_names(item, declared, multi) if m not in names]
    return tuple(names)
