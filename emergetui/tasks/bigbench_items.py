"""BIG-bench's per-item metrics for one item, under BIG-bench's names.

The mean of each value over a task's items is the number BIG-bench's
``evaluate_fixed_shot`` reports for that metric (ROUGE: up to BIG-bench's own
bootstrap noise, see :func:`emergetui.tasks.bigbench_metrics.rouge`). Corpus-level
metrics (BLEU, macro-F1, ECE, BIG-bench's Brier score) are not per-item and are
computed by :mod:`emergetui.analysis.corpus_metrics` from the stored records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from emergetui.tasks import bigbench_metrics as bbm
from emergetui.tasks.base import Item
from emergetui.tasks.records import ItemRaw

#: Declared metric -> the per-item metric names it yields (corpus metrics yield none).
_GENERATIVE_ITEM = {
    "case_insensitive_str_match": ("case_insensitive_str_match",),
    "numeric_match_with_0_1_relative_error": ("numeric_match_with_0_1_relative_error",),
    "sequence_f1": ("sequence_f1",),
    "rouge": bbm.ROUGE_TYPES,
}
_CHOICE_ITEM = {
    "weighted_log_probabilities": ("weighted_log_probabilities",),
    "weighted_probabilities": ("weighted_probabilities",),
}


def bigbench_item_names(item: Item, declared: Sequence[str], multi_target: bool) -> list[str]:
    """The per-item BIG-bench metric names :func:`bigbench_item_metrics` can give this item."""
    names: list[str] = []
    has_choices = bool(item.choices) and len(item.target_scores) == len(item.choices)
    for m in declared:
        if m in _GENERATIVE_ITEM and item.generate and item.targets:
            if m == "numeric_match_with_0_1_relative_error" and len(item.targets) != 1:
                continue
            names += _GENERATIVE_ITEM[m]
        elif m in _CHOICE_ITEM and has_choices:
            names += _CHOICE_ITEM[m]
        elif m == "log_likelihood" and item.targets:
            names.append("log_likelihood")
            if not multi_target:
                names += ["log_likelihood_per_word", "log_likelihood_per_char"]
    return names


def bigbench_item_metrics(
    item: Item,
    raw: ItemRaw,
    response: str | None,
    choice_sums: list[float] | None,
    declared: Sequence[str],
    *,
    multi_target: bool,
) -> dict[str, float]:
    """BIG-bench's per-item metrics that ``declared`` asks for and the raw data allow.

    ``response`` is the post-processed answer (None: nothing generated),
    ``choice_sums`` the summed log-likelihood of each choice (None: not scored).
    """
    out: dict[str, float] = {}
    targets = list(item.targets)
    if response is not None and targets:
        if "case_insensitive_str_match" in declared:
            out["case_insensitive_str_match"] = bbm.case_insensitive_match(targets, response)
        if "numeric_match_with_0_1_relative_error" in declared:
            value = bbm.numeric_match(targets, response)
            if value is not None:
                out["numeric_match_with_0_1_relative_error"] = value
        if "sequence_f1" in declared:
            out["sequence_f1"] = bbm.sequence_f1(targets, response)
        if "rouge" in declared:
            out.update(bbm.rouge(targets, response))
    if choice_sums is not None:
        scores = list(item.target_scores)
        if "weighted_log_probabilities" in declared:
            out["weighted_log_probabilities"] = bbm.weighted_log_probability(scores, choice_sums)
        if "weighted_probabilities" in declared:
            out["weighted_probabilities"] = bbm.weighted_probability(scores, choice_sums)
    if "log_likelihood" in declared and targets:
        lps = raw.target_logprobs
        if len(lps) == len(targets) and all(lps):
            sums = [math.fsum(x) for x in lps]
            out.update(bbm.log_likelihood(sums, targets, multi_target))
    return out
