"""What the analysis needs to know about rungs and metrics, and nothing more.

The analysis runs on stored rows alone (no model, no database), so everything
it cannot read off an :class:`~emergetui.tasks.records.ItemRecord` comes in through
the small types defined here: a rung's size and held-out loss, and whether a
metric is discrete (the kind that makes "emergence" look sudden, Schaeffer et
al. 2023) and in which direction it improves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

#: Metrics whose per-item value is a pass/fail or a pick among choices. Their
#: curves are the ones Schaeffer et al. (2023) argue can look emergent purely
#: because the metric is discontinuous.
DISCRETE_PRIORITY: tuple[str, ...] = ("exact_match", "multiple_choice_grade", "mc_grade_norm")


@dataclass
class RungInfo:
    """One model of a ladder: its label, size and held-out numbers.

    ``heldout`` holds the rung's scores on the reference corpus, e.g.
    ``{"loss": per-token nll, "ppl": ..., "bpb": bits per byte, "tokens": n}``.
    Du et al. (2024) argue abilities are better predicted by this pre-training
    loss than by size, which is why it travels with the rung.
    """

    label: str
    params: int
    heldout: dict[str, float] | None = None
    train_tokens: float | None = None

    @property
    def heldout_loss(self) -> float | None:
        """Per-token held-out loss, or ``None`` when not measured."""
        if not self.heldout:
            return None
        value = self.heldout.get("loss")
        if value is None or not math.isfinite(float(value)):
            return None
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "params": int(self.params),
            "heldout": dict(self.heldout) if self.heldout else None,
            "train_tokens": self.train_tokens,
        }


@dataclass(frozen=True)
class MetricKind:
    """How to read a metric: discrete or continuous, and which way is better."""

    name: str
    discrete: bool
    higher_is_better: bool


#: Used only when ``emergetui.tasks.metrics`` is not importable (or does not
#: know a metric), so that the analysis keeps working on rows produced by any
#: version of the tasks package.
FALLBACK_METRICS: dict[str, MetricKind] = {
    "exact_match": MetricKind("exact_match", True, True),
    "multiple_choice_grade": MetricKind("multiple_choice_grade", True, True),
    "mc_grade_norm": MetricKind("mc_grade_norm", True, True),
    "logprob_correct": MetricKind("logprob_correct", False, True),
    "logprob_correct_mean": MetricKind("logprob_correct_mean", False, True),
    "prob_correct": MetricKind("prob_correct", False, True),
    "brier": MetricKind("brier", False, False),
    "token_edit_distance": MetricKind("token_edit_distance", False, False),
}

_LOWER_IS_BETTER_HINTS = ("distance", "brier", "loss", "error", "nll", "ppl", "perplexity")


def _from_tasks_module(name: str) -> MetricKind | None:
    try:
        from emergetui.tasks import metrics as task_metrics  # type: ignore[attr-defined]
    except ImportError:
        return None
    table = getattr(task_metrics, "METRICS", None)
    info = table.get(name) if isinstance(table, Mapping) else None
    if info is None:
        return None
    discrete = getattr(info, "discrete", None)
    if discrete is None:
        kind = getattr(info, "kind", None)
        if isinstance(kind, str):
            discrete = kind.lower().startswith("disc")
    higher = getattr(info, "higher_is_better", None)
    if discrete is None or higher is None:
        return None
    return MetricKind(name, bool(discrete), bool(higher))


def metric_kind(name: str) -> MetricKind:
    """Describe ``name``, preferring the tasks package's own table.

    Unknown metrics are treated as continuous; the direction is guessed from
    the name (``*distance``, ``brier``, ``loss`` ... are lower-is-better).
    """
    found = _from_tasks_module(name)
    if found is not None:
        return found
    if name in FALLBACK_METRICS:
        return FALLBACK_METRICS[name]
    lowered = name.lower()
    higher = not any(hint in lowered for hint in _LOWER_IS_BETTER_HINTS)
    return MetricKind(name, False, higher)


def _fallback_chance(record: Any, metric: str) -> float | None:
    choices = list(getattr(record, "choices", None) or [])
    scores = [float(s) for s in (getattr(record, "target_scores", None) or [])]
    if metric in ("multiple_choice_grade", "mc_grade_norm"):
        # BIG-bench's grade is the target score of the picked choice, so a
        # uniformly random pick earns the mean target score.
        if scores:
            return sum(scores) / len(scores)
        return 1.0 / len(choices) if choices else None
    if metric == "exact_match":
        return 0.0
    return None


def _as_item(record: Any) -> Any:
    """The fields ``chance_levels`` reads, from a stored row.

    A row does not say whether its item was generative; one with a stored
    generation or an exact-match score was.
    """
    raw = getattr(record, "raw", None)
    metrics = getattr(record, "metrics", None) or {}
    generate = getattr(record, "generate", None)
    if generate is None:
        generate = "exact_match" in metrics or getattr(raw, "generated_text", None) is not None
    return SimpleNamespace(
        item_id=getattr(record, "item_id", ""),
        prompt=getattr(record, "prompt", ""),
        choices=tuple(getattr(record, "choices", None) or ()),
        target_scores=tuple(getattr(record, "target_scores", None) or ()),
        targets=tuple(getattr(record, "targets", None) or ()),
        generate=bool(generate),
        meta=(),
        shots=getattr(record, "shots", 0),
    )


def _tasks_chance(record: Any, metric: str) -> float | None:
    try:
        from emergetui.tasks import metrics as task_metrics  # type: ignore[attr-defined]
    except ImportError:
        return None
    fn = getattr(task_metrics, "chance_levels", None)
    if fn is None:
        return None
    try:
        levels = fn(_as_item(record))
    except (TypeError, AttributeError, KeyError, ValueError):
        return None
    if not isinstance(levels, Mapping) or levels.get(metric) is None:
        return None
    value = float(levels[metric])
    return value if math.isfinite(value) else None


def chance_from_records(records: Iterable[Any], metric: str) -> float | None:
    """Mean per-item chance level of ``metric`` over ``records``.

    Chance differs per item (4 vs 5 choices), so the curve's chance is the
    mean over the items actually scored. ``None`` when no level is known for
    any item (continuous metrics usually have none).
    """
    values: list[float] = []
    for record in records:
        level = _tasks_chance(record, metric)
        if level is None:
            level = _fallback_chance(record, metric)
        if level is not None:
            values.append(level)
    if not values:
        return None
    return float(sum(values) / len(values))
