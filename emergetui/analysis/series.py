"""Series: one ladder at one quant and one variant, analysed on its own.

A chart that compares families draws one curve per series. Two files of one
size (another quant, base against instruct) are never two rungs of one curve:
each is a point of its own series, so a curve's rungs always differ in size.
Series of one *family* (``qwen2.5-base`` and ``qwen2.5-instruct``, ``qwen3``
and ``qwen3@Q4_K_M``) are told apart by ``variant`` and ``quant``, which is what
pairs them for the quantization-effect and base/instruct lines.

Each series is a stored run with its own :class:`~emergetui.analysis.analyze.Analysis`,
so verdicts are per ladder by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.analysis.axes import RungAxes
from emergetui.analysis.curves import Curve
from emergetui.errors import EmergetuiError


class SeriesError(EmergetuiError, ValueError):
    """Runs that cannot be compared (no shared task, one series twice)."""


@dataclass(frozen=True)
class SeriesKey:
    """What tells one series from another: the ladder as run, its family, variant and quant."""

    ladder: str
    family: str
    variant: str | None = None
    quant: str | None = None

    @property
    def name(self) -> str:
        """The legend label: the ladder's name, plus variant/quant when the name hides them."""
        extra = [
            v for v in (self.variant, self.quant) if v and v.lower() not in self.ladder.lower()
        ]
        return self.ladder + (f" ({', '.join(extra)})" if extra else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "ladder": self.ladder,
            "family": self.family,
            "variant": self.variant,
            "quant": self.quant,
            "name": self.name,
        }


@dataclass
class Series:
    """One curve of a comparison chart per task: a stored run of one ladder, analysed."""

    key: SeriesKey
    run_id: str
    analysis: Analysis
    rungs: list[RungAxes]
    #: the metric each task setting asked to be shown first ("" when none)
    preferred: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key.name

    def rung(self, label: str) -> RungAxes | None:
        return next((r for r in self.rungs if r.label == label), None)

    def settings(self) -> set[tuple[str, str]]:
        return {(c.task, c.setting) for c in self.analysis.curves if c.points}

    def headline(self, task: str, setting: str) -> Curve | None:
        return self.analysis.headline(task, setting, self.preferred.get((task, setting)) or None)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.key.to_dict(),
            "run_id": self.run_id,
            "rungs": [r.to_dict() for r in self.rungs],
        }


def check_series(series: Sequence[Series]) -> None:
    """Refuse one series twice: two runs of one ladder are one curve only once merged."""
    seen: dict[SeriesKey, str] = {}
    for s in series:
        if s.key in seen:
            raise SeriesError(
                f"{s.name} appears twice (runs {seen[s.key]} and {s.run_id}): one ladder is one "
                "series; combine its runs with `emergetui merge` first"
            )
        seen[s.key] = s.run_id


def shared_settings(series: Sequence[Series]) -> list[tuple[str, str]]:
    """The task settings every series measured, in a stable order."""
    if not series:
        return []
    common = set.intersection(*(s.settings() for s in series))
    if not common:
        raise SeriesError(
            "the runs share no task: "
            + "; ".join(
                f"{s.name}: {', '.join(sorted(t for t, _ in s.settings()))}" for s in series
            )
        )
    return sorted(common)


def quant_pairs(series: Sequence[Series]) -> list[tuple[Series, Series]]:
    """Series of one family and variant at two quants (each unordered pair once)."""
    out = []
    for i, a in enumerate(series):
        for b in series[i + 1 :]:
            same = (a.key.family, a.key.variant) == (b.key.family, b.key.variant)
            if same and a.key.quant and b.key.quant and a.key.quant != b.key.quant:
                out.append((a, b))
    return out


def variant_pairs(series: Sequence[Series]) -> list[tuple[Series, Series]]:
    """Series of one family and quant, base and instruct: ``(base, instruct)``."""
    out = []
    for a in series:
        for b in series:
            if (a.key.family, a.key.quant) == (b.key.family, b.key.quant) and (
                a.key.variant,
                b.key.variant,
            ) == ("base", "instruct"):
                out.append((a, b))
    return out


__all__ = [
    "Series",
    "SeriesError",
    "SeriesKey",
    "check_series",
    "quant_pairs",
    "shared_settings",
    "variant_pairs",
]
