"""How a BIG-bench task's declared metrics become an ItemSet's metrics, headline and meta.

Split from :mod:`emergetui.tasks.bigbench` (parsing and prompts) so that the
metric bookkeeping, which follows BIG-bench's json_task.py, reads in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emergetui.tasks.base import Item, ItemSet
from emergetui.tasks.bigbench_metrics import (
    CORPUS_METRICS,
    EXPANDS,
    NOT_COMPUTED_REASONS,
    SCORE_RANGES,
)
from emergetui.tasks.fewshot import setting_name
from emergetui.tasks.metrics import (
    META_ABSOLUTE_NORMALIZATION,
    META_BIGBENCH_METRICS,
    META_MULTI_TARGET,
    applicable_metrics,
)

if TYPE_CHECKING:
    from emergetui.tasks.bigbench import BigBenchTask

#: BIG-bench metric name -> the result names it is reported under (emergetui's own
#: name only for exact_str_match, whose value is the same as exact_match's).
SUPPORTED_METRICS: dict[str, tuple[str, ...]] = {
    "exact_str_match": ("exact_match",),
    "multiple_choice_grade": ("multiple_choice_grade",),
    "case_insensitive_str_match": ("case_insensitive_str_match",),
    "numeric_match_with_0_1_relative_error": ("numeric_match_with_0_1_relative_error",),
    "sequence_f1": ("sequence_f1",),
    "rouge": EXPANDS["rouge"],
    "bleu": ("bleu",),
    "log_likelihood": EXPANDS["log_likelihood"],
    "weighted_log_probabilities": ("weighted_log_probabilities",),
    "weighted_probabilities": ("weighted_probabilities",),
    "macro_f1": ("macro_f1",),
    "calibration_multiple_choice_brier_score": ("calibration_multiple_choice_brier_score",),
    "expected_calibration_error": ("expected_calibration_error",),
}
#: BIG-bench preferred_score -> the result name of the headline metric.
PREFERRED_NAME = {"exact_str_match": "exact_match"}


def bigbench_meta(task: BigBenchTask, count: int) -> tuple[tuple[str, str], ...]:
    """Item meta telling the metrics what the task declares (see emergetui.tasks.metrics)."""
    meta: list[tuple[str, str]] = []
    if task.metrics:
        meta.append((META_BIGBENCH_METRICS, ",".join(task.metrics)))
    # BIG-bench decides "several targets" over the examples it evaluates.
    if any(len(ex.target) > 1 for ex in task.examples[:count]):
        meta.append((META_MULTI_TARGET, "1"))
    if task.absolute_normalization:
        meta.append((META_ABSOLUTE_NORMALIZATION, "1"))
    return tuple(meta)


def _declared_results(task: BigBenchTask, items: list[Item]) -> list[str]:
    """Result names for the task's declared metrics, in the task's order.

    BIG-bench adds its Brier score and ECE to every task scored by
    multiple_choice_grade; corpus metrics are kept when the items can feed them.
    """
    declared = list(task.metrics)
    if "multiple_choice_grade" in declared:
        declared += ["calibration_multiple_choice_brier_score", "expected_calibration_error"]
    applicable: set[str] = set()
    for item in items:
        applicable.update(applicable_metrics(item))
    has_choices = any(it.choices for it in items)
    has_generation = any(it.generate for it in items)
    names: list[str] = []
    for m in declared:
        for name in SUPPORTED_METRICS.get(m, ()):
            corpus_ok = name in CORPUS_METRICS and (
                has_generation if name == "bleu" else has_choices
            )
            if (name in applicable or corpus_ok) and name not in names:
                names.append(name)
    return names


def item_set(task: BigBenchTask, k: int, items: list[Item], seed: int, sampling: str) -> ItemSet:
    ours = _declared_results(task, items)
    applicable: list[str] = []
    for item in items:
        applicable += [m for m in applicable_metrics(item) if m not in applicable]
    metrics = tuple(ours + [m for m in applicable if m not in ours])
    preferred = PREFERRED_NAME.get(task.preferred_score, task.preferred_score)
    if preferred not in metrics:
        preferred = metrics[0] if metrics else ""
    score_range = task.score_range()
    not_computed = tuple(m for m in task.metrics if m not in SUPPORTED_METRICS)
    return ItemSet(
        task=task.name,
        setting=setting_name(k),
        items=items,
        metrics=metrics,
        preferred_metric=preferred,
        shots=k,
        description=task.description,
        not_computed=not_computed,
        extra={
            "source": "bigbench",
            "path": task.source,
            "seed": str(seed),
            "shot_sampling": sampling,
            "duplicates_removed": str(task.duplicates_removed),
            "bigbench_preferred_score": task.preferred_score,
            **(
                {
                    "bigbench_low_score": repr(score_range[0]),
                    "bigbench_high_score": repr(score_range[1]),
                }
                if score_range
                else {}
            ),
            **{
                f"not_computed:{m}": NOT_COMPUTED_REASONS.get(m, "not a BIG-bench JSON metric")
                for m in not_computed
            },
        },
    )


# --------------------------------------------------------------------------- headline

#: emergetui result name -> BIG-bench metric name, where they differ.
_BIGBENCH_NAME = {"exact_match": "exact_str_match"}


def headline(metric: str, chance: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The headline metric with BIG-bench's ``low_score``/``high_score`` (json_task).

    ``low_score`` of multiple_choice_grade is the random-guess score (the mean
    target score, here over the items run); otherwise the ends of BIG-bench's
    SCORE_RANGES. ``higher_is_better`` gives the orientation (BIG-bench's ranges
    put the Brier score and ECE "low" at 0 although lower is better there).
    """
    name = _BIGBENCH_NAME.get(metric, metric)
    out: dict[str, Any] = {"metric": metric, "bigbench_name": name}
    rng = SCORE_RANGES.get(name)
    if rng is not None:
        low, high = rng
        if name == "multiple_choice_grade" and chance and metric in chance:
            low = chance[metric]
        out.update(low_score=low, high_score=high)
    out["higher_is_better"] = name not in (
        "calibration_multiple_choice_brier_score",
        "expected_calibration_error",
    )
    return out
