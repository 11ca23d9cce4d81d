"""Same-size rungs: two files of one size are never two rungs of one curve.

Two quantisations of one model, or a base and an instruct model of one
size, share a parameter count: a ladder has no gap between them, so a
shape fitted through both sees an infinitely steep step (or a quant's
degradation as a fall), and a duplicate would count twice towards a
plateau. The analysis keeps one file per size for every curve's verdict,
fit and mirage test, and says which (:func:`one_per_size`); the rest stay in
the store and in the run's warnings (:func:`same_size_warnings`), to be
compared as series of their own.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from emergetui.analysis.curves import Curve
from emergetui.analysis.data import RungInfo


def _groups(params: Sequence[int]) -> list[list[int]]:
    by: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(params):
        by[int(n)].append(i)
    return [g for _, g in sorted(by.items())]


def one_per_size(curve: Curve) -> tuple[Curve, list[str]]:
    """``curve`` with one point per parameter count, and a warning per size that had more.

    The point kept is the one scored on the most items (then the first by
    label): the curve's other points are unchanged, so the bootstrap stays
    paired.
    """
    groups = _groups([p.params for p in curve.points])
    if all(len(g) == 1 for g in groups):
        return curve, []
    keep: list[int] = []
    notes: list[str] = []
    for g in groups:
        best = max(g, key=lambda i: (curve.points[i].n, -i))
        keep.append(best)
        if len(g) > 1:
            others = [curve.points[i].rung for i in g if i != best]
            notes.append(
                f"same size ({curve.points[best].params:.3g} params): {', '.join(others)} "
                f"left out of the fit, the curve uses {curve.points[best].rung}"
            )
    keep.sort()
    boot = curve.boot[:, keep] if curve.boot.size else curve.boot
    sub = dataclasses.replace(
        curve,
        points=[curve.points[i] for i in keep],
        samples=[curve.samples[i] for i in keep] if curve.samples else [],
        item_ids=[curve.item_ids[i] for i in keep] if curve.item_ids else [],
        boot=boot,
    )
    return sub, notes


def same_size_warnings(rungs: Sequence[RungInfo]) -> list[str]:
    """One warning per parameter count held by more than one rung."""
    out = []
    for g in _groups([r.params for r in rungs]):
        if len(g) > 1:
            names = ", ".join(rungs[i].label for i in g)
            out.append(
                f"same-size rungs {names} ({rungs[g[0]].params:.3g} params): files of one size "
                "are not rungs of one curve; each curve's verdict uses one of them (see its "
                "evidence) and leaves the others out of the fit"
            )
    return out
