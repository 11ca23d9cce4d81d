"""Comparing series: overlay data per axis, the cross-family line, paired variant effects.

Everything here is read off the per-series analyses (:mod:`emergetui.analysis.series`);
nothing is refitted across series, because a curve through two ladders' rungs
would mix what is being compared.

* **Overlay**: per shared task setting, each series' headline curve on the chosen
  axis (rungs without a value on it left out, with a note) and its verdict.
* **Cross-family line**: do the fitted midpoints agree? Each series' midpoint (log10
  params, with its likelihood-ratio interval) is carried to the axis through that
  series' own rungs (:func:`~emergetui.analysis.axes.map_log_params`); the
  midpoints agree when all intervals share a point.
* **Quantization effect** (and base vs instruct): the same items were scored by
  both files of one size, so the difference is *paired*: per rung, the mean of
  the per-item differences with a percentile interval from resampling items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.axes import check_axis, map_log_params, missing_note
from emergetui.analysis.bootstrap import diff_ci, rng_for, wilson_interval
from emergetui.analysis.curves import Curve
from emergetui.analysis.jsonable import clean_json
from emergetui.analysis.series import (
    Series,
    check_series,
    quant_pairs,
    shared_settings,
    variant_pairs,
)


@dataclass
class OverlayPoint:
    rung: str
    x: float
    mean: float
    ci_low: float
    ci_high: float


@dataclass
class OverlayCurve:
    """One series' curve on one axis, with its own verdict and midpoint there."""

    series: str
    metric: str
    points: list[OverlayPoint]
    verdict: str
    #: the fitted midpoint on the axis and its interval (``None``: no fit or not mappable)
    midpoint: float | None = None
    midpoint_ci: tuple[float, float] | None = None
    left_out: list[str] = field(default_factory=list)


@dataclass
class CrossFamily:
    """Whether the series' midpoints on one axis agree within their intervals."""

    agree: bool | None
    text: str
    #: the verdict of the line without the per-series numbers
    summary: str = ""


@dataclass
class Overlay:
    task: str
    setting: str
    metric: str
    axis: str
    curves: list[OverlayCurve]
    cross: CrossFamily
    chance: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class PairedRow:
    rung: str
    params: int
    diff: float
    ci_low: float
    ci_high: float
    n: int
    #: items whose value differs between the two series
    changed: int = 0


@dataclass
class PairedEffect:
    """``b - a`` per rung on shared items: a quant against another, instruct against base."""

    kind: str  # "quant" or "variant"
    task: str
    setting: str
    metric: str
    a: str
    b: str
    rows: list[PairedRow]


@dataclass
class Comparison:
    axis: str
    series: list[Series]
    overlays: list[Overlay]
    effects: list[PairedEffect]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def overlay(o: Overlay) -> dict[str, Any]:
            return {
                "task": o.task,
                "setting": o.setting,
                "metric": o.metric,
                "axis": o.axis,
                "chance": o.chance,
                "curves": [vars(c) | {"points": [vars(p) for p in c.points]} for c in o.curves],
                "cross_family": vars(o.cross),
                "notes": list(o.notes),
            }

        doc = {
            "axis": self.axis,
            "series": [s.to_dict() for s in self.series],
            "overlays": [overlay(o) for o in self.overlays],
            "effects": [vars(e) | {"rows": [vars(r) for r in e.rows]} for e in self.effects],
            "notes": list(self.notes),
        }
        return clean_json(doc)


def _curve_of(s: Series, task: str, setting: str, metric: str) -> Curve | None:
    c = s.analysis.curve(task, setting, metric)
    return c if c is not None and c.points else None


def overlay_curve(s: Series, curve: Curve, axis: str) -> OverlayCurve:
    points, left_out = [], []
    for p in curve.points:
        r = s.rung(p.rung)
        x = r.value(axis) if r is not None else None
        if x is None:
            left_out.append(p.rung)
        else:
            points.append(OverlayPoint(p.rung, x, p.mean, p.ci_low, p.ci_high))
    scores = s.analysis.scores_for(curve.key)
    verdict = scores.verdict.label if scores else "not judged"
    t = scores.verdict.transition if scores else None
    mid: float | None = None
    ci: tuple[float, float] | None = None
    if t is not None:
        mid, ci = _mapped_midpoint(t.midpoint, t.midpoint_ci, s, axis)
    return OverlayCurve(s.name, curve.metric, points, verdict, mid, ci, left_out)


def _mapped_midpoint(
    mid: float, ends: tuple[float, float], s: Series, axis: str
) -> tuple[float | None, tuple[float, float] | None]:
    """The fitted midpoint and its interval on ``axis``.

    Params and compute extend along the end segments (exact for one token count).
    Held-out loss is read only where rungs measured it: an interval end past the
    ladder becomes an open end (+-inf, toward the side the losses go), so an interval
    that leaves the ladder still overlaps everything on that side, as it should.
    """
    if axis != "loss":
        m = map_log_params(mid, s.rungs, axis)
        e = [map_log_params(v, s.rungs, axis) for v in ends]
        if m is None or e[0] is None or e[1] is None:
            return m, None
        lo, hi = sorted((e[0], e[1]))
        return m, (lo, hi)
    m = map_log_params(mid, s.rungs, axis, extrapolate=False)
    known = sorted((r.params, v) for r in s.rungs if (v := r.bits_per_byte) is not None)
    if m is None or len(known) < 2:
        return m, None
    falling = known[-1][1] <= known[0][1]  # loss goes down as the models grow
    out = []
    for v, small_side in ((ends[0], True), (ends[1], False)):
        mapped = map_log_params(v, s.rungs, axis, extrapolate=False)
        if mapped is None:
            mapped = math.inf if small_side == falling else -math.inf
        out.append(mapped)
    lo, hi = sorted(out)
    return m, (lo, hi)


def cross_family(curves: Sequence[OverlayCurve], axis: str) -> CrossFamily:
    """One line: do the midpoints (or, on the loss axis, the loss onsets) agree?"""
    what = "loss onsets" if axis == "loss" else "midpoints"
    fitted = [c for c in curves if c.midpoint is not None and c.midpoint_ci is not None]
    unit = "bits/byte" if axis == "loss" else f"log10 {axis}"
    parts = [
        f"{c.series} {c.midpoint:.2f} [{c.midpoint_ci[0]:.2f}, {c.midpoint_ci[1]:.2f}]"
        for c in fitted
        if c.midpoint is not None and c.midpoint_ci is not None
    ]
    if len(fitted) < 2:
        have = f" (only {fitted[0].series} has one)" if fitted else ""
        line = f"{what}: fewer than two series have a fitted rise{have}"
        return CrossFamily(None, line, line)
    lo = max(c.midpoint_ci[0] for c in fitted if c.midpoint_ci)
    hi = min(c.midpoint_ci[1] for c in fitted if c.midpoint_ci)
    verb = "agree (intervals overlap)" if lo <= hi else "differ (intervals do not overlap)"
    summary = f"{what} {verb}, {unit}, 95%"
    return CrossFamily(lo <= hi, f"{summary}: " + "; ".join(parts), summary)


def metric_overlay(
    series: Sequence[Series], task: str, setting: str, metric: str, axis: str
) -> Overlay:
    """The curves of one metric of every series that has it, on ``axis`` (the lab's chart)."""
    check_axis(axis)
    curves, notes, chance = [], [], None
    for s in series:
        c = _curve_of(s, task, setting, metric)
        if c is None:
            continue
        chance = c.chance if chance is None else chance
        oc = overlay_curve(s, c, axis)
        if note := missing_note(s.name, axis, oc.left_out):
            notes.append(note)
        curves.append(oc)
    return Overlay(task, setting, metric, axis, curves, cross_family(curves, axis), chance, notes)


def build_overlays(series: Sequence[Series], axis: str) -> list[Overlay]:
    out = []
    for task, setting in shared_settings(series):
        head = series[0].headline(task, setting)
        if head is None:
            continue
        curves, notes = [], []
        for s in series:
            c = _curve_of(s, task, setting, head.metric)
            if c is None:
                notes.append(f"{s.name}: no {head.metric} curve for {task} [{setting}]")
                continue
            oc = overlay_curve(s, c, axis)
            if note := missing_note(s.name, axis, oc.left_out):
                notes.append(note)
            curves.append(oc)
        out.append(
            Overlay(
                task, setting, head.metric, axis, curves, cross_family(curves, axis), head.chance
            )
        )
        out[-1].notes = notes
    return out


def paired_effect(
    kind: str, a: Series, b: Series, task: str, setting: str, metric: str, seed: int, n_boot: int
) -> PairedEffect | None:
    """``b - a`` at each rung both series have, over the items both scored (paired)."""
    ca, cb = _curve_of(a, task, setting, metric), _curve_of(b, task, setting, metric)
    if ca is None or cb is None or not ca.samples or not cb.samples:
        return None
    rows = []
    for i, p in enumerate(ca.points):
        j = next((k for k, q in enumerate(cb.points) if q.rung == p.rung), None)
        if j is None:
            continue
        va = dict(zip(ca.item_ids[i], ca.samples[i], strict=True))
        vb = dict(zip(cb.item_ids[j], cb.samples[j], strict=True))
        shared = sorted(set(va) & set(vb))
        if not shared:
            continue
        xa = np.array([va[k] for k in shared], dtype=float)
        xb = np.array([vb[k] for k in shared], dtype=float)
        rng = rng_for(seed, "paired", kind, a.name, b.name, task, setting, metric, p.rung)
        d, lo, hi = diff_ci(xb, xa, rng, paired=True, n_boot=n_boot)
        changed = int(np.sum(xa != xb))
        if ca.binary and changed == 0:
            # no item flipped: resampling gives [0, 0]; the Wilson bound on the share of
            # items that could flip either way keeps the interval honest (never zero width)
            bound = wilson_interval(0, len(shared))[1]
            lo, hi = -bound, bound
        rows.append(PairedRow(p.rung, int(p.params), d, lo, hi, len(shared), changed))
    if not rows:
        return None
    return PairedEffect(kind, task, setting, metric, a.name, b.name, rows)


#: continuous metrics that show an effect too small to flip a pass/fail answer
CONTINUOUS_COMPANIONS = ("prob_correct", "logprob_correct")


def effect_metrics(s: Series, o: Overlay) -> list[str]:
    """The headline metric and, when it is discrete, a continuous one on the same outputs:
    a quant may lower the answer's probability long before it flips an answer."""
    out = [o.metric]
    head = _curve_of(s, o.task, o.setting, o.metric)
    if head is not None and head.discrete:
        for name in CONTINUOUS_COMPANIONS:
            if _curve_of(s, o.task, o.setting, name) is not None:
                out.append(name)
                break
    return out


def compare(
    series: Sequence[Series], axis: str = "params", *, seed: int = 0, n_boot: int = 1000
) -> Comparison:
    """Overlay ``series`` on ``axis``: curves, verdicts, cross-family lines, paired effects."""
    check_axis(axis)
    check_series(series)
    overlays = build_overlays(series, axis)
    effects: list[PairedEffect] = []
    pairs = [("quant", a, b) for a, b in quant_pairs(series)]
    pairs += [("variant", a, b) for a, b in variant_pairs(series)]
    for o in overlays:
        for metric in effect_metrics(series[0], o):
            for kind, a, b in pairs:
                e = paired_effect(kind, a, b, o.task, o.setting, metric, seed, n_boot)
                if e is not None:
                    effects.append(e)
    notes = []
    if len(series) < 2 and axis == "params":
        notes.append("one series only: nothing to compare it with")
    return Comparison(axis, list(series), overlays, effects, notes)


__all__ = [
    "Comparison",
    "CrossFamily",
    "Overlay",
    "OverlayCurve",
    "OverlayPoint",
    "PairedEffect",
    "PairedRow",
    "build_overlays",
    "compare",
    "cross_family",
    "metric_overlay",
    "effect_metrics",
    "paired_effect",
]
