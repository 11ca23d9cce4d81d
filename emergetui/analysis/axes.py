"""The x axes a comparison can use: parameters, training compute, held-out loss.

Wei et al. (2022) put families on one chart against training FLOPs; Du et al.
(2024) show that against pre-training loss families line up where against size
they do not. So a rung has three positions:

* ``params``: its parameter count (log10), the default;
* ``flops``: training compute ``6·N·D`` (log10), ``D`` the pre-training tokens
  its model card states (``train_tokens`` in models.toml); a rung without it has
  no position on this axis and is left out of it, with a note;
* ``loss``: held-out loss in **bits per byte**, which, unlike nats per token, does
  not depend on the tokenizer, so two families' losses are comparable. The
  runner stores it per rung (``heldout["bpb"]``: the summed negative
  log-likelihood in bits over the UTF-8 bytes of the held-out text); older rows
  with only ``loss`` (nats/token), ``tokens`` and ``bytes`` are converted here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emergetui.analysis.data import RungInfo
from emergetui.errors import EmergetuiError

AXES: tuple[str, ...] = ("params", "flops", "loss")

#: axis labels for charts and tables
AXIS_LABELS: dict[str, str] = {
    "params": "parameters (log10)",
    "flops": "training compute 6·N·D, FLOPs (log10)",
    "loss": "held-out loss, bits/byte (lower is better ->)",
}


class AxisError(EmergetuiError, ValueError):
    """An x axis that does not exist."""


def check_axis(axis: str) -> str:
    if axis not in AXES:
        raise AxisError(f"--x: unknown axis {axis!r}; choose from {', '.join(AXES)}")
    return axis


@dataclass(frozen=True)
class RungAxes:
    """One rung's position on every axis (``None``: not known for this rung)."""

    label: str
    params: int
    train_tokens: float | None = None
    bits_per_byte: float | None = None
    #: parameters outside the token embedding and output head, from the GGUF header
    non_embedding: int | None = None

    @property
    def flops(self) -> float | None:
        """Training compute ``6·N·D`` (Kaplan et al. 2020), or ``None`` without ``D``."""
        if not self.train_tokens:
            return None
        return 6.0 * float(self.params) * float(self.train_tokens)

    def value(self, axis: str) -> float | None:
        """The position on ``axis`` in plotting units: log10 for params and flops."""
        check_axis(axis)
        if axis == "params":
            return math.log10(max(self.params, 1))
        if axis == "flops":
            f = self.flops
            return math.log10(f) if f else None
        return self.bits_per_byte

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "params": int(self.params),
            "non_embedding_params": self.non_embedding,
            "train_tokens": self.train_tokens,
            "flops": self.flops,
            "bits_per_byte": self.bits_per_byte,
        }


def bits_per_byte(heldout: Mapping[str, Any] | None) -> float | None:
    """The stored held-out loss in bits per byte, converting nats/token when only that is there."""
    if not heldout:
        return None
    bpb = heldout.get("bpb")
    if isinstance(bpb, (int, float)) and math.isfinite(bpb):
        return float(bpb)
    loss, tokens, n_bytes = heldout.get("loss"), heldout.get("tokens"), heldout.get("bytes")
    if all(isinstance(v, (int, float)) for v in (loss, tokens, n_bytes)) and n_bytes:
        value = float(loss) * float(tokens) / (float(n_bytes) * math.log(2))  # type: ignore[arg-type]
        return value if math.isfinite(value) else None
    return None


def rung_axes(
    rung: RungInfo, train_tokens: float | None = None, non_embedding: int | None = None
) -> RungAxes:
    return RungAxes(
        rung.label,
        int(rung.params),
        train_tokens if train_tokens is not None else rung.train_tokens,
        bits_per_byte(rung.heldout),
        non_embedding,
    )


def missing_note(series: str, axis: str, labels: Sequence[str]) -> str | None:
    """One line naming the rungs a series loses on ``axis``, and why."""
    if not labels:
        return None
    why = {
        "flops": "no train_tokens (the model card states none; add it in models.toml)",
        "loss": "no held-out loss stored (the run used --no-heldout)",
    }.get(axis, "no value")
    return f"{series}: {', '.join(labels)} left out of the {axis} axis: {why}"


def map_log_params(
    x: float, rungs: Sequence[RungAxes], axis: str, *, extrapolate: bool = True
) -> float | None:
    """A point on the log10-params axis (a fitted midpoint) carried to ``axis``.

    Piecewise linear through the rungs that have a value on ``axis`` (log10
    params against the axis), extended along the end segments; ``None`` with
    fewer than two such rungs. For ``flops`` with one ``D`` per ladder this is
    exact (a shift by log10 6D); for ``loss`` it reads the loss the ladder had
    at that size, the "loss onset" of Du et al. ``extrapolate=False``: ``None`` outside
    the rungs (a loss no rung measured is not read off a straight line).
    """
    if axis == "params":
        return x
    known = sorted(
        (math.log10(max(r.params, 1)), v) for r in rungs if (v := r.value(axis)) is not None
    )
    if len(known) < 2 or not math.isfinite(x):
        return None
    xs = np.array([k for k, _ in known])
    ys = np.array([v for _, v in known])
    if np.any(np.diff(xs) <= 0):
        return None
    if not extrapolate and not xs[0] <= x <= xs[-1]:
        return None
    i = int(np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2))
    t = (x - xs[i]) / (xs[i + 1] - xs[i])
    return float(ys[i] + t * (ys[i + 1] - ys[i]))


__all__ = [
    "AXES",
    "AXIS_LABELS",
    "AxisError",
    "RungAxes",
    "bits_per_byte",
    "check_axis",
    "map_log_params",
    "missing_note",
    "rung_axes",
]
