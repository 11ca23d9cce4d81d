"""The data every task family produces and every later stage consumes.

A task loader (BIG-bench JSON, MMLU, arithmetic, ...) turns its source into an
:class:`ItemSet`: a list of fully built prompts plus what to score. The runner
never looks inside a task format; it only sees :class:`Item` objects, so a new
task family needs no change in the runner, the store or the analysis.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from emergetui.errors import EmergetuiError


class TaskError(EmergetuiError, ValueError):
    """Bad task input: the message names the file and the line, item or field.

    Control characters in the message (a key or value read from the file may
    hold a newline) are escaped, so that the CLI's error stays one line.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__("".join(c if c.isprintable() else ascii(c)[1:-1] for c in message))


@dataclass(frozen=True)
class Item:
    """One test item with its prompt already built (few-shot examples included).

    ``choices`` are continuations scored by log-likelihood (multiple choice);
    ``target_scores`` gives BIG-bench's score of each choice (1.0 = correct).
    ``targets`` are the acceptable answers of a generative item: they are both
    scored by log-likelihood (continuous metrics) and compared with the greedy
    generation (exact match) when ``generate`` is true.
    """

    item_id: str
    prompt: str
    choices: tuple[str, ...] = ()
    target_scores: tuple[float, ...] = ()
    targets: tuple[str, ...] = ()
    generate: bool = False
    stop: tuple[str, ...] = ("\n",)
    max_tokens: int = 32
    output_regex: str | None = None
    shots: int = 0
    meta: tuple[tuple[str, str], ...] = ()

    def content_hash(self) -> str:
        """A digest of everything that affects the model's work on this item.

        Stored next to each result so a resumed run recomputes an item whose
        prompt or targets changed instead of silently reusing a stale row.
        """
        blob = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass
class ItemSet:
    """All items of one task under one setting (shot count, prompt variant)."""

    task: str
    setting: str
    items: list[Item]
    metrics: tuple[str, ...] = ()
    preferred_metric: str = ""
    shots: int = 0
    description: str = ""
    not_computed: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
