"""Which rung to add: the size whose measurement would most narrow where the rise happens.

A verdict that is ``inconclusive`` (or depends on the gaps between rungs) says
the ladder is too coarse where the curve rises. The rise's midpoint lies in a
likelihood-ratio range (:class:`~emergetui.analysis.transition.Transition`); the
rung that narrows it most is the one that splits the largest stretch of that
range with no rung in it: a measurement there lands either below or above the
midpoint and cuts the stretch in half. Without a fitted rise the stretch is the
gap below the largest rise the forecast judged.

The size is printed as "a rung near 3e9 params would decide this", with the
closest rung of a known ladder (the built-in ``models.toml``) inside that gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emergetui.analysis.curves import Curve

if TYPE_CHECKING:
    from emergetui.analysis.forecast import Backtest

#: verdict labels that ask for a rung in between
UNDECIDED = ("inconclusive", "gap-dependent", "gap_dependent")


@dataclass
class Recommendation:
    """A size to measure (params), the gap it splits, and a known ladder's rung there."""

    params: float
    between: tuple[str, str]
    line: str
    ladder: str | None = None
    rung: str | None = None
    rung_params: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "between": list(self.between),
            "line": self.line,
            "ladder": self.ladder,
            "rung": self.rung,
            "rung_params": self.rung_params,
        }


def params_text(value: float) -> str:
    """``3e9``-style: one or two significant digits and a plain exponent."""
    exp = math.floor(math.log10(value))
    mant = value / 10**exp
    digits = f"{mant:.1f}".rstrip("0").rstrip(".")
    if digits == "10":
        digits, exp = "1", exp + 1
    return f"{digits}e{exp}"


def known_ladder_rungs() -> list[tuple[str, str, int]]:
    """``(ladder, label, params)`` of every rung of the built-in ladders (no user file, so
    the same run gives the same document anywhere)."""
    from emergetui.models.ladders import BUILTIN_FILE, parse_ladder_file

    try:
        ladders = parse_ladder_file(BUILTIN_FILE)
    except Exception:  # a broken ladder file must not break an analysis
        return []
    return [(name, r.label, int(r.params)) for name, ld in ladders.items() for r in ld.rungs]


def _widest_stretch(xs: Sequence[float], lo: float, hi: float) -> tuple[int, float, float] | None:
    """The gap ``i`` (between rungs ``i`` and ``i + 1``) holding the longest part of
    ``[lo, hi]``, and that part's ends."""
    best: tuple[int, float, float] | None = None
    for i in range(len(xs) - 1):
        a, b = max(xs[i], lo), min(xs[i + 1], hi)
        if b > a and (best is None or b - a > best[2] - best[1]):
            best = (i, a, b)
    return best


def recommend(
    curve: Curve,
    verdict: Any,
    focus: Backtest | None,
    known: Sequence[tuple[str, str, int]] = (),
) -> Recommendation | None:
    """The rung to add for an undecided ``verdict`` (None for any other verdict)."""
    label = getattr(verdict, "label", None)
    if label not in UNDECIDED or len(curve.points) < 2:
        return None
    xs = [float(v) for v in curve.log_params]
    t = getattr(verdict, "transition", None)
    stretch = None
    if t is not None and all(math.isfinite(v) for v in t.midpoint_ci):
        stretch = _widest_stretch(xs, float(t.midpoint_ci[0]), float(t.midpoint_ci[1]))
    if stretch is None and focus is not None:
        j = [p.rung for p in curve.points].index(focus.target)
        stretch = (j - 1, xs[j - 1], xs[j])
    if stretch is None:
        y = curve.oriented_means()
        j = int(max(range(1, len(xs)), key=lambda k: y[k] - y[k - 1]))
        stretch = (j - 1, xs[j - 1], xs[j])
    i, a, b = stretch
    size = 10 ** ((a + b) / 2.0)
    lo_p, hi_p = curve.points[i].params, curve.points[i + 1].params
    inside = [k for k in known if lo_p < k[2] < hi_p]
    line = f"a rung near {params_text(size)} params would decide this"
    rec = Recommendation(size, (curve.points[i].rung, curve.points[i + 1].rung), line)
    if inside:
        ladder, rung, p = min(inside, key=lambda k: abs(math.log10(k[2]) - math.log10(size)))
        rec.ladder, rec.rung, rec.rung_params = ladder, rung, p
        rec.line += f" ({ladder} {rung}, {params_text(p)})"
    else:
        rec.line += " (no rung of a known ladder lies in that gap)"
    return rec
