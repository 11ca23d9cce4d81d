"""The numerics of a forecast: a line in a transformed space, refitted on every item replicate.

Every route of :mod:`emergetui.analysis.forecast` reduces to the same step: a
quantity measured on the rungs below (a discrete score, a per-token accuracy,
an ability against loss) is mapped to a space where smooth scaling is close to
a straight line in the predictor (``logit`` of the share of the way from chance
to the ceiling for bounded metrics), a weighted line is fitted there and read
off at the held-out rung.

Uncertainty has three parts, all kept:

* the items: the line is refitted on every replicate of the task setting's
  shared item bootstrap (paired over rungs, so an easy draw lifts every rung
  together and only the slope's own noise moves the forecast);
* the fit: where the rungs scatter about the line more than their item noise
  allows (a curve that bends), the replicate spread is inflated by the Birge
  ratio ``sqrt(chi2 / dof)``, and a bend term that grows with the distance
  extrapolated is added (:data:`BEND_PER_DECADE`);
* the held-out rung's own measurement: the band is for the *observed* mean on
  its items, so binomial noise of ``n`` items is drawn around each predicted mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Standard deviation (in logit units per decade extrapolated) of the bend a straight line
#: misses: real curves (mixtures of item difficulties, power laws seen in logit space) are not
#: straight, and three rungs cannot measure how much they bend.
BEND_PER_DECADE = 0.6


@dataclass(frozen=True)
class Scale:
    """A map between a metric's units and the space where its scaling is fitted as a line.

    ``floor`` and ``ceiling`` bound a metric (chance and 1 for an accuracy); with
    both finite the space is ``logit((y - floor) / (ceiling - floor))``, clipped at
    ``0.5 / (n + 1)`` from either end (a rung with no hit is not minus infinity),
    otherwise the identity.
    """

    floor: float = -math.inf
    ceiling: float = math.inf

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.floor) and math.isfinite(self.ceiling)

    def to_z(self, y: np.ndarray, n: np.ndarray | float) -> np.ndarray:
        arr = np.asarray(y, dtype=float)
        if not self.bounded:
            return arr
        eps = 0.5 / (np.asarray(n, dtype=float) + 1.0)
        u = np.clip((arr - self.floor) / (self.ceiling - self.floor), eps, 1.0 - eps)
        return np.log(u / (1.0 - u))

    def from_z(self, z: np.ndarray) -> np.ndarray:
        arr = np.asarray(z, dtype=float)
        if not self.bounded:
            return arr
        u = 1.0 / (1.0 + np.exp(-np.clip(arr, -50.0, 50.0)))
        return self.floor + (self.ceiling - self.floor) * u

    def z_variance_floor(self, y: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The least variance a rung's z can have: the binomial delta method at its clipped
        value."""
        if not self.bounded:
            return np.zeros(np.shape(y))
        nn = np.asarray(n, dtype=float)
        eps = 0.5 / (nn + 1.0)
        span = self.ceiling - self.floor
        u = np.clip((np.asarray(y, dtype=float) - self.floor) / span, eps, 1.0 - eps)
        return 1.0 / ((nn + 1.0) * u * (1.0 - u))


@dataclass
class LineFit:
    """A weighted line ``z = a + b x`` on the point values and on every item replicate.

    ``birge`` (at least 1) is ``sqrt(chi2 / dof)`` of the point fit: how much more the
    rungs scatter about the line than their item noise allows.
    """

    a: float
    b: float
    a_boot: np.ndarray
    b_boot: np.ndarray
    birge: float

    def at(self, x_new: float | np.ndarray) -> np.ndarray:
        """Replicate forecasts at ``x_new`` (a number, or one value per replicate): the point
        line plus each replicate line's deviation from it, spread by the Birge ratio."""
        xn = np.asarray(x_new, dtype=float)
        if xn.ndim:
            xn = np.resize(xn, self.a_boot.shape)
        centre = self.a + self.b * xn
        rep = self.a_boot + self.b_boot * xn
        return np.asarray(centre + self.birge * (rep - centre), dtype=float)


def _wls(x: np.ndarray, z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares intercepts and slopes of the rows of ``z`` (last axis: rungs)."""
    sw = float(w.sum())
    xm = float((w * x).sum()) / sw
    sxx = float((w * (x - xm) ** 2).sum())
    zm = (z * w).sum(axis=-1) / sw
    b = (z * w * (x - xm)).sum(axis=-1) / sxx if sxx > 0.0 else np.zeros_like(zm)
    return np.asarray(zm - b * xm), np.asarray(b)


def fit_line(x: np.ndarray, z: np.ndarray, z_boot: np.ndarray, var_floor: np.ndarray) -> LineFit:
    """Fit ``z`` on ``x`` on the point values and on every replicate (``z_boot[b, j]``).

    Weights are the inverse of each rung's replicate variance (at least ``var_floor``),
    the same for every replicate, so a replicate differs from the point fit only by
    its items.
    """
    xs = np.asarray(x, dtype=float)
    zs = np.asarray(z, dtype=float)
    boot = np.asarray(z_boot, dtype=float).reshape(-1, xs.size)
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    var = np.var(boot, axis=0) if boot.shape[0] > 1 else np.zeros_like(zs)
    var = np.maximum(np.maximum(var, np.asarray(var_floor, dtype=float)), 1e-6)
    w = 1.0 / var
    a, b = _wls(xs, zs, w)
    resid = zs - (a + b * xs)
    dof = xs.size - 2
    chi2 = float((w * resid**2).sum())
    birge = math.sqrt(max(1.0, chi2 / dof)) if dof > 0 else 1.0
    if boot.shape[0] == 0:
        boot = zs[None, :]
    ab, bb = _wls(xs, boot, w)
    return LineFit(float(a), float(b), ab, bb, birge)


def bend(draws: np.ndarray, distance: float, rng: np.random.Generator, per: float) -> np.ndarray:
    """Add the bend a line cannot see: normal noise with sd ``per * distance`` to each draw."""
    if distance <= 0.0 or per <= 0.0:
        return draws
    return draws + rng.normal(0.0, per * distance, size=draws.shape)


def observe(
    means: np.ndarray,
    n: int,
    binary: bool,
    sd_item: float,
    rng: np.random.Generator,
    spread: float = 1.0,
) -> np.ndarray:
    """The observed mean of ``n`` items around each predicted mean: binomial for pass/fail
    metrics (its deviations scaled by ``sqrt(spread)``, the items' heterogeneity factor of
    :func:`heterogeneity`), normal with the items' spread otherwise."""
    m = np.asarray(means, dtype=float)
    if n <= 0:
        return m
    if binary:
        # a forecast at 0 or 1 still leaves room for one item in 2n: a band never collapses
        eps = 0.5 / (n + 1.0)
        p = np.clip(m, eps, 1.0 - eps)
        return p + math.sqrt(spread) * (rng.binomial(n, p) / n - p)
    return m + rng.normal(0.0, sd_item / math.sqrt(n), size=m.shape)


#: the least heterogeneity factor: items are never taken to be more settled than this
MIN_SPREAD = 0.25


def heterogeneity(a: np.ndarray, b: np.ndarray) -> float:
    """How much less a pass/fail mean on *these* items varies than a binomial: from two
    neighbouring rungs' outcomes on the same items (``a[i]``, ``b[i]``).

    An item right with chance ``p_i`` at both rungs disagrees with chance ``2 p_i (1 - p_i)``,
    so half the disagreements estimate ``sum p_i (1 - p_i)``, the variance of the count on
    these items (a Poisson binomial), against ``n p (1 - p)`` for a binomial at the mean. Items
    that are always right or always wrong make it small; a rise between the rungs adds
    disagreements, so the estimate errs wide. In ``[MIN_SPREAD, 1]``.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = x.size
    p = float((x.mean() + y.mean()) / 2.0) if n else 0.0
    binomial = n * p * (1.0 - p)
    if n == 0 or binomial < 2.0:
        return 1.0
    return float(min(1.0, max(MIN_SPREAD, float(np.abs(x - y).sum()) / 2.0 / binomial)))


def band(values: np.ndarray, level: float) -> tuple[float, float, float]:
    """``(low, median, high)``: the central ``level`` interval of ``values``."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    a = (1.0 - level) / 2.0
    lo, med, hi = np.quantile(arr, [a, 0.5, 1.0 - a])
    return (float(lo), float(med), float(hi))
