"""What the analysis needs to know about rungs and metrics, and nothing more.

The analysis runs on stored rows alone (no model, no database), so everything
it cannot read off an :class:`~emergetui.tasks.records.ItemRecord` comes in through
the small types defined here: a rung's size and held-out loss, and whether a
metric is discrete (the kind that makes "emergence" look sudden, Schaeffer et
al. 2023) and in which direction it improves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emergetui.tasks.base import Item
from emergetui.tasks.metrics import METRICS, chance_levels

#: Metrics whose per-item value is a pass/fail or a pick among choices. Their
#: curves are the ones Schaeffer et al. (2023) argue can look emergent purely
#: because the metric is discontinuous.
DISCRETE_PRIORITY: tuple[str, ...] = ("exact_match", "multiple_choice_grade", "mc_grade_norm")
#: The metric that headlines a task setting when the task names none: a discrete one first,
#: then the per-item probability of the answer.
HEADLINE_ORDER: tuple[str, ...] = (*DISCRETE_PRIORITY, "prob_correct", "logprob_correct")


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
    #: described by the tasks package's table (else guessed from the name: rows of another tool)
    known: bool = True


_LOWER_IS_BETTER_HINTS = ("distance", "brier", "loss", "error", "nll", "ppl", "perplexity")


def metric_kind(name: str) -> MetricKind:
    """Describe ``name`` from the tasks package's table (:data:`emergetui.tasks.metrics.METRICS`).

    Metrics it does not know (rows from another tool, read by ``emergetui
    analyze FILE.jsonl``) are treated as continuous; the direction is guessed
    from the name (``*distance``, ``brier``, ``loss`` ... are lower-is-better).
    """
    info = METRICS.get(name)
    if info is not None:
        return MetricKind(name, info.discrete, info.higher_is_better)
    lowered = name.lower()
    higher = not any(hint in lowered for hint in _LOWER_IS_BETTER_HINTS)
    return MetricKind(name, False, higher, known=False)


def _as_item(record: Any) -> Item:
    """The fields :func:`~emergetui.tasks.metrics.chance_levels` reads, from a stored row.

    A row does not say whether its item was generative; one with a stored
    generation or an exact-match score was.
    """
    raw = getattr(record, "raw", None)
    metrics = getattr(record, "metrics", None) or {}
    generate = getattr(record, "generate", None)
    if generate is None:
        generate = "exact_match" in metrics or getattr(raw, "generated_text", None) is not None
    return Item(
        item_id=str(getattr(record, "item_id", "")),
        prompt=str(getattr(record, "prompt", "")),
        choices=tuple(getattr(record, "choices", None) or ()),
        target_scores=tuple(float(s) for s in getattr(record, "target_scores", None) or ()),
        targets=tuple(getattr(record, "targets", None) or ()),
        generate=bool(generate),
        shots=int(getattr(record, "shots", 0) or 0),
    )


def chance_from_records(records: Iterable[Any], metric: str) -> float | None:
    """Mean per-item chance level of ``metric`` over ``records``.

    Chance differs per item (4 vs 5 choices), so the curve's chance is the
    mean over the items actually scored. ``None`` when no level is known for
    any item (continuous metrics usually have none).
    """
    values: list[float] = []
    for record in records:
        level = chance_levels(_as_item(record)).get(metric)
        if level is not None and math.isfinite(level):
            values.append(float(level))
    if not values:
        return None
    return float(sum(values) / len(values))
