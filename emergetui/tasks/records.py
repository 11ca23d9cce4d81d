"""The raw material stored for every item, from which every metric is recomputable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ItemRaw:
    """What the model did on one item: log-probabilities and the greedy output.

    Lists are indexed like ``Item.choices`` / ``Item.targets``. Per-token lists
    keep the raw numbers so that a metric added later (or a different
    normalisation) can be computed from the store without rerunning a model.
    """

    choice_tokens: list[list[int]] = field(default_factory=list)
    choice_logprobs: list[list[float]] = field(default_factory=list)
    choice_greedy: list[list[bool]] = field(default_factory=list)
    target_tokens: list[list[int]] = field(default_factory=list)
    target_logprobs: list[list[float]] = field(default_factory=list)
    target_greedy: list[list[bool]] = field(default_factory=list)
    generated_text: str | None = None
    generated_tokens: list[int] = field(default_factory=list)
    generated_logprobs: list[float] = field(default_factory=list)
    stop_reason: str | None = None
    # The answer after BIG-bench's post-processing (stop string, output regex), kept
    # because the store does not keep the task's regex; and the answer's and each
    # target's tokens, each tokenized alone, for token_edit_distance.
    response: str | None = None
    edit_response_tokens: list[int] = field(default_factory=list)
    edit_target_tokens: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ItemRaw:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class ItemRecord:
    """One stored row: an item's raw result and the metrics derived from it."""

    run_id: str
    rung: str
    task: str
    setting: str
    item_id: str
    item_hash: str
    model_sha256: str
    prompt: str
    choices: list[str]
    target_scores: list[float]
    targets: list[str]
    raw: ItemRaw
    metrics: dict[str, float]
    error: str | None = None
    shots: int = 0
