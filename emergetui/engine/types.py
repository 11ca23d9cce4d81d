"""Results returned by the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Scored:
    """Log-likelihood of one continuation given its context.

    ``greedy[i]`` is true when the continuation's i-th token is the argmax of
    the model's distribution at that position (lm-eval's ``is_greedy`` is the
    conjunction of these flags). ``error`` is set instead of the numbers when
    the request could not be served.
    """

    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    greedy: list[bool] = field(default_factory=list)
    context_tokens: int = 0
    error: str | None = None

    @property
    def logprob(self) -> float:
        return float(sum(self.logprobs))

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def is_greedy(self) -> bool:
        return bool(self.greedy) and all(self.greedy)


@dataclass
class Generated:
    """A greedy generation. ``stop_reason`` is "stop", "eos", "length" or "error"."""

    text: str = ""
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    stop_reason: str = "length"
    prompt_tokens: int = 0
    error: str | None = None


@dataclass
class RollingLoss:
    """Per-token log-probabilities over a long text, scored in overlapping windows.

    Bits per byte is reported alongside per-token loss because ladders with
    different tokenizers can only be compared per byte.
    """

    tokens: list[int]
    logprobs: list[float]
    n_bytes: int
    window: int
    stride: int

    @property
    def n_tokens(self) -> int:
        return len(self.logprobs)

    @property
    def nll(self) -> float:
        return -float(sum(self.logprobs))

    @property
    def mean_nll(self) -> float:
        return self.nll / max(1, self.n_tokens)

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)

    @property
    def bits_per_byte(self) -> float:
        return self.nll / math.log(2) / max(1, self.n_bytes)
