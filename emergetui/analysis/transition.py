"""Where a curve rises, how sharply, and whether the ladder can tell.

:func:`assess` fits the logistic of :mod:`emergetui.analysis.shape` and
reads its likelihood-ratio set of accepted shapes. Every quantity is given
as a best value and a range over the shapes the data do not reject:

* ``span``: decades from 10% to 90% of the rise;
* ``gaps``: the span divided by the gap between the two rungs around the
  midpoint (uneven ladders: the gap *there*). Below 1 the transition fits
  between two neighbouring rungs; the verdict calls it sharp when even the
  upper end of the range is at most ``sharp_gaps`` (2) gaps, and resolved as
  gradual when even the lower end is above it;
* ``gaps_best``: the span in gaps of the best fit of either family;
* ``plateau``: how many rungs lie before the best fit's 10% point (the
  floor the ability sits on before it appears); ``plateau_max`` is the most
  over the accepted shapes: how long a plateau the data allow. A rung just
  before a sharp jump may sit a little above the floor by chance or by a
  sliver of the rise; whether the best fit puts it before or after its 10%
  point is a knife edge, so the verdict asks whether a plateau is consistent
  with the data, not whether the point estimate happens to show one.
  ``plateau_sharp`` is the same over the accepted *sharp* shapes only: below
  2, no plateau-then-sharp-rise (the shape of emergence) fits the data.

A second, smooth family competes for the same data: a power law in params
(:class:`~emergetui.analysis.shape.PowerProfile`). Shapes of either family
within the likelihood-ratio cut of the best fit of both are accepted; an
accepted power law has no plateau and widens the span range, so a curve a
power law explains is never called emergent.

The same routine fits ability against held-out loss (x = -loss), where the
midpoint is the loss threshold of Du et al. (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import chdtri  # chi2.ppf without importing scipy.stats (~0.5 s)

from emergetui.analysis.shape import (
    SCALES,
    SPAN_PER_SCALE,
    Profile,
    _solve,
    _whitener,
    fit_power_profile,
    fit_profile,
    lr_cut,
)


@dataclass
class Transition:
    """The fitted logistic (oriented units; ``x`` in log10 params unless stated)."""

    floor: float
    ceiling: float
    midpoint: float
    scale: float
    midpoint_ci: tuple[float, float]
    span: float
    span_ci: tuple[float, float]
    gap: float
    gaps: float
    gaps_ci: tuple[float, float]
    plateau: int
    plateau_min: int
    plateau_max: int
    plateau_sharp: int
    gaps_best: float
    power_law: bool
    lower: int
    chi2: float
    level: float

    @property
    def upper(self) -> int:
        """Index of the rung just after the midpoint."""
        return self.lower + 1

    @property
    def critical_params(self) -> float:
        """The midpoint as a parameter count (the critical scale)."""
        return float(10.0**self.midpoint)

    @property
    def critical_params_ci(self) -> tuple[float, float]:
        return (float(10.0 ** self.midpoint_ci[0]), float(10.0 ** self.midpoint_ci[1]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "floor": self.floor,
            "ceiling": self.ceiling,
            "midpoint_log10": self.midpoint,
            "midpoint_ci_log10": list(self.midpoint_ci),
            "midpoint_params": self.critical_params,
            "midpoint_ci_params": list(self.critical_params_ci),
            "scale": self.scale,
            "span_decades": self.span,
            "span_ci_decades": list(self.span_ci),
            "gap_decades": self.gap,
            "span_in_gaps": self.gaps,
            "span_in_gaps_ci": list(self.gaps_ci),
            "plateau_rungs": self.plateau,
            "plateau_rungs_min": self.plateau_min,
            "plateau_rungs_max": self.plateau_max,
            "plateau_rungs_sharp": self.plateau_sharp,
            "span_in_gaps_best": self.gaps_best,
            "power_law_accepted": self.power_law,
            "chi2": self.chi2,
            "level": self.level,
        }


class _MidpointProfile:
    """The logistic's chi-square profiled over scale (and floor, ceiling) at any midpoint.

    The grid of :mod:`emergetui.analysis.shape` finds the global optimum;
    this refines it off the grid, so the midpoint (the critical scale, and
    the loss threshold when ``x = -loss``) and its likelihood-ratio interval
    are continuous: on a 0.05-decade grid they would collapse to one grid
    point once many items make the interval narrower than the grid.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, cov: np.ndarray, bounds: tuple[float, float]):
        self.x = x
        self.t = _whitener(cov)
        self.yw = self.t @ y
        self.lo, self.hi = bounds
        self.log_s = np.log(SCALES)

    def _chi(self, m: float, scales: np.ndarray) -> np.ndarray:
        g = 1.0 / (1.0 + np.exp(-np.clip((self.x[None, :] - m) / scales[:, None], -60.0, 60.0)))
        f, c, chi = _solve(self.yw, (1.0 - g) @ self.t.T, g @ self.t.T, self.lo, self.hi)
        with np.errstate(invalid="ignore"):
            return np.where((c > f) & np.isfinite(chi), chi, np.inf)

    def __call__(self, m: float) -> float:
        """Profile chi-square at midpoint ``m`` (``inf`` where no rising logistic fits)."""
        value = self._profile(m)
        return value if math.isfinite(value) else math.inf

    def _profile(self, m: float) -> float:
        grid = self._chi(m, SCALES)
        j = int(np.argmin(grid))
        if not np.isfinite(grid[j]):
            return math.inf
        if 0 < j < SCALES.size - 1 and np.isfinite(grid[j - 1]) and np.isfinite(grid[j + 1]):
            # the vertex of the parabola through the three grid points around the minimum
            a, b, c = grid[j - 1], grid[j], grid[j + 1]
            h = self.log_s[j + 1] - self.log_s[j]
            den = a - 2.0 * b + c
            if den > 0:
                off = float(np.clip(0.5 * h * (a - c) / den, -h, h))
                at = self._chi(m, np.array([math.exp(self.log_s[j] + off)]))[0]
                return float(min(b, at))
        return float(grid[j])

    def refine(
        self, m0: float, step: float, cut: float, edges: tuple[float, float], floor_limit: float
    ) -> tuple[float, float, tuple[float, float]]:
        """``(midpoint, chi2, (lower, upper))``: the continuous best midpoint near the grid's
        ``m0`` and the range where the profile stays within ``cut`` of it (at least up to
        ``floor_limit``, the limit both families share)."""
        with np.errstate(invalid="ignore", over="ignore"):  # inf at shapes that cannot rise
            res = minimize_scalar(self, bounds=(m0 - step, m0 + step), method="bounded")
        m_hat, chi_hat = (float(res.x), float(res.fun)) if res.fun <= self(m0) else (m0, self(m0))
        limit = max(floor_limit, chi_hat + cut)
        return (
            m_hat,
            chi_hat,
            (
                self._edge(m_hat, -1.0, step, limit, edges[0]),
                self._edge(m_hat, 1.0, step, limit, edges[1]),
            ),
        )

    def _edge(self, m: float, sign: float, step: float, limit: float, end: float) -> float:
        inner, d = 0.0, step
        while True:
            probe = m + sign * d
            if sign * (probe - end) >= 0:
                if self(end) <= limit:
                    return end
                probe, d = end, abs(end - m)
            if self(probe) > limit:
                break
            inner, d = d, 2.0 * d
        f = lambda dd: self(m + sign * dd) - limit  # noqa: E731
        if f(inner) > 0:
            return m
        try:
            return float(m + sign * brentq(f, inner, d, xtol=1e-4))
        except ValueError:  # a profile that is not finite at one end: keep the last accepted
            return float(m + sign * inner)


def _interval_of(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Index ``i`` of the rung gap ``[x[i], x[i+1]]`` holding ``m`` (ends clamp)."""
    return np.clip(np.searchsorted(x, m, side="right") - 1, 0, x.size - 2)


def assess(
    x: np.ndarray,
    y: np.ndarray,
    cov: np.ndarray,
    bounds: tuple[float, float],
    level: float = 0.95,
    sharp_gaps: float = 2.0,
    inflation: float | None = None,
) -> Transition | None:
    """Fit and read the logistic; ``None`` with fewer than 3 rungs or a flat best fit.

    ``sharp_gaps`` only sets :attr:`Transition.plateau_sharp`: the longest
    plateau among the accepted shapes whose rise spans at most that many gaps.
    ``inflation``, when given, is the misfit ratio found by the parametric
    bootstrap (:mod:`emergetui.analysis.resolution`), which works on every
    ladder; it then replaces the chi-square-table rule of :func:`lr_cut`,
    which has no degrees of freedom to judge a fit on 6 rungs or fewer.
    """
    xa = np.asarray(x, dtype=float)
    if xa.size < 3 or float(np.ptp(xa)) <= 0.0:
        return None
    profile: Profile = fit_profile(xa, y, cov, bounds)
    i = profile.best
    if not profile.ceiling[i] > profile.floor[i]:
        return None
    power = fit_power_profile(xa, y, cov, bounds[1])
    best_chi2 = min(float(profile.chi2.min()), float(power.chi2.min()))
    families = ((float(profile.chi2.min()), xa.size - 4), (float(power.chi2.min()), xa.size - 3))
    if inflation is None:
        limit = best_chi2 + lr_cut(families, level)
    else:
        limit = best_chi2 + float(chdtri(1, 1.0 - level)) * max(inflation, 1.0)
    ok = (profile.chi2 <= limit) & (profile.ceiling > profile.floor)
    ok[i] = True
    span = SPAN_PER_SCALE * profile.scale
    gaps_all = np.diff(xa)
    gap = gaps_all[_interval_of(xa, profile.midpoint)]
    ratio = span / gap
    plateau = np.searchsorted(xa, profile.midpoint - span / 2.0, side="left")
    # power laws the data accept widen the ranges (no plateau; steepest at the first gap)
    pw = power.chi2 <= limit
    p_span = power.span[pw]
    p_ratio = p_span / gaps_all[0]
    if float(power.chi2.min()) < float(profile.chi2[i]):  # a power law is the best fit
        best_ratio = float(power.span[int(np.argmin(power.chi2))] / gaps_all[0])
    else:
        best_ratio = float(ratio[i])
    sharp = ok & (ratio <= sharp_gaps)
    mids = np.unique(profile.midpoint)
    step = float(mids[1] - mids[0]) if mids.size > 1 else 0.05
    mid, _, mid_ci = _MidpointProfile(xa, np.asarray(y, dtype=float), cov, bounds).refine(
        float(profile.midpoint[i]),
        step,
        limit - best_chi2,
        (float(mids[0]), float(mids[-1])),
        limit,
    )
    mid_ci = (min(mid_ci[0], mid), max(mid_ci[1], mid))
    return Transition(
        floor=float(profile.floor[i]),
        ceiling=float(profile.ceiling[i]),
        midpoint=mid,
        scale=float(profile.scale[i]),
        midpoint_ci=mid_ci,
        span=float(span[i]),
        span_ci=(
            float(min(span[ok].min(), p_span.min(initial=np.inf))),
            float(max(span[ok].max(), p_span.max(initial=-np.inf))),
        ),
        gap=float(gap[i]),
        gaps=float(ratio[i]),
        gaps_ci=(
            float(min(ratio[ok].min(), p_ratio.min(initial=np.inf))),
            float(max(ratio[ok].max(), p_ratio.max(initial=-np.inf))),
        ),
        power_law=bool(pw.any()),
        plateau=int(plateau[i]),
        plateau_min=int(plateau[ok].min()),
        plateau_max=int(plateau[ok].max()),
        plateau_sharp=int(plateau[sharp].max()) if sharp.any() else -1,
        gaps_best=best_ratio,
        lower=int(_interval_of(xa, np.array([mid]))[0]),
        chi2=float(profile.chi2[i]),
        level=level,
    )


def fmt_num(v: float, digits: int = 2) -> str:
    """Compact number for evidence lines (``inf`` spelled out)."""
    if not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return (
        f"{v:.{digits}g}"
        if abs(v) >= 10**digits or (v != 0 and abs(v) < 0.01)
        else f"{v:.{digits}f}"
    )
