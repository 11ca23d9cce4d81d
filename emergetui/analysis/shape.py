"""A logistic in log10(params), profiled over a grid: the shape behind every verdict.

``y(x) = floor + (ceiling - floor) * sigmoid((x - midpoint) / scale)``,
``x = log10(params)``. The scale says how sharp a transition is: the curve
rises from 10% to 90% of its range over ``SPAN_PER_SCALE * scale`` decades
(2 ln 9 = 4.39). Whether that span is narrower than the gaps between rungs
is the question the verdict asks (:mod:`emergetui.analysis.emergence`).

Why a grid and not a nonlinear optimiser: for a fixed midpoint and scale
the model is linear in floor and ceiling, so their generalised
least-squares values (with ``lo <= floor <= ceiling <= hi``) have a closed
form. Profiling them out over a grid of (midpoint, scale) costs a few
matrix products, finds the global optimum (a sigmoid through a handful of
points has a local minimum on each side of every rung), never fails to
converge, and gives the chi-square of *every* candidate shape at once. The
confidence interval of any derived quantity (width, midpoint, width over
the rung gap) is then its range over the candidates the data do not reject
(a likelihood-ratio interval). Unlike a percentile bootstrap of refits,
this sees shapes a rung with zero hits out of 100 does not rule out: the
binomial variance floor keeps such a rung from pinning the curve to 0.

The covariance of the rung means comes from the task setting's shared item
bootstrap, so rungs scored on the same items are not counted as
independent evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Decades between the 10% and the 90% point per unit of scale: 2 ln 9.
SPAN_PER_SCALE = 2.0 * math.log(9.0)
#: Scales tried, in decades of parameters (about 6% apart).
SCALES = np.geomspace(0.01, 10.0, 121)


def _midpoints(x: np.ndarray) -> np.ndarray:
    """Midpoints tried: the rung range plus two decades either side (a power law
    looks like a logistic whose midpoint lies outside the ladder)."""
    lo, hi = float(x.min()) - 2.0, float(x.max()) + 2.0
    n = int(min(161, max(41, math.ceil((hi - lo) / 0.05) + 1)))
    return np.linspace(lo, hi, n)


def _solve(
    y: np.ndarray,
    a: np.ndarray,
    g: np.ndarray,
    lo: float,
    hi: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best (floor, ceiling, chi2) at every grid row of the whitened ``a``, ``g``.

    The constrained optimum of a convex quadratic over the triangle
    ``lo <= f <= c <= hi`` is the unconstrained one when feasible, else the
    clipped 1-D optimum on one of the edges ``f = lo``, ``c = hi``, ``f = c``.
    ``y`` may hold several curves as columns (``(rungs, curves)``, the
    parametric bootstrap's replicates); the results then have a column each.
    """
    saa, sab, sbb = (a * a).sum(1), (a * g).sum(1), (g * g).sum(1)
    if y.ndim == 2:
        saa, sab, sbb = saa[:, None], sab[:, None], sbb[:, None]
    ya = a @ y
    yb = g @ y
    syy = (y * y).sum(0)

    def chi2(f: np.ndarray, c: np.ndarray) -> np.ndarray:
        return syy - 2.0 * (f * ya + c * yb) + f * f * saa + 2.0 * f * c * sab + c * c * sbb

    det = saa * sbb - sab * sab
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(det > 1e-12 * (saa * sbb + 1e-300), det, np.nan)
        f0 = (ya * sbb - yb * sab) / safe
        c0 = (yb * saa - ya * sab) / safe
    ok = np.isfinite(f0) & (f0 >= lo) & (c0 <= hi) & (f0 <= c0)
    best_f = np.where(ok, f0, np.nan)
    best_c = np.where(ok, c0, np.nan)
    best = np.where(ok, chi2(np.nan_to_num(f0), np.nan_to_num(c0)), np.inf)

    def consider(f: np.ndarray, c: np.ndarray) -> None:
        nonlocal best, best_f, best_c
        val = chi2(f, c)
        take = val < best
        best = np.where(take, val, best)
        best_f = np.where(take, f, best_f)
        best_c = np.where(take, c, best_c)

    mean = np.clip((ya + yb) / (saa + 2 * sab + sbb), lo, hi)  # f = c: a flat line
    consider(mean, mean)
    if math.isfinite(lo):
        c = np.clip((yb - lo * sab) / np.maximum(sbb, 1e-300), lo, hi)
        consider(np.full_like(c, lo), c)
    if math.isfinite(hi):
        f = np.clip((ya - hi * sab) / np.maximum(saa, 1e-300), lo, hi)
        consider(f, np.full_like(f, hi))
    return best_f, best_c, np.maximum(best, 0.0)


@dataclass
class Profile:
    """Best floor/ceiling and chi-square at every grid point (midpoint, scale).

    ``chi2.min()`` is the best fit; the grid points whose chi-square is
    within the likelihood-ratio cut of it (:meth:`accepted`) are every
    logistic the data do not reject, so the range of any quantity over them
    is its confidence interval.
    """

    midpoint: np.ndarray
    scale: np.ndarray
    floor: np.ndarray
    ceiling: np.ndarray
    chi2: np.ndarray
    n_points: int

    @property
    def best(self) -> int:
        return int(np.argmin(self.chi2))

    @property
    def span(self) -> np.ndarray:
        """10%-90% rise in decades at every grid point."""
        return SPAN_PER_SCALE * self.scale

    def cut(self, level: float = 0.95) -> float:
        """Chi-square above the minimum still accepted at ``level`` (logistic family alone)."""
        return lr_cut(((float(self.chi2.min()), self.n_points - 4),), level)

    def accepted(self, level: float = 0.95) -> np.ndarray:
        """Mask of grid points not rejected at ``level``."""
        return self.chi2 <= float(self.chi2.min()) + self.cut(level)


def lr_cut(fits: tuple[tuple[float, int], ...], level: float = 0.95) -> float:
    """Chi-square above the best fit still accepted at ``level`` (1 degree of freedom).

    ``fits`` holds ``(best chi-square, degrees of freedom)`` of every model
    family that competes for the curve. The cut is scaled up by the residual
    chi-square per degree of freedom only when *every* family's best fit is
    rejected at ``level`` (the curve is noisier or shaped otherwise than any
    model allows), by the smallest such ratio, so a poor fit gives wide
    intervals rather than confident ones. A family that fits well is
    evidence the noise is as estimated: a logistic that misses a power law
    must not widen the intervals of the power law that fits it. A merely
    unlucky fit is not scaled, nor one with under 3 degrees of freedom: the
    ratio is then too noisy.
    """
    from scipy.special import gammaincinv

    def chi2_ppf(q: float, dof: int) -> float:  # chi2.ppf as scipy.stats computes it
        return float(2.0 * gammaincinv(dof / 2.0, q))

    base = chi2_ppf(level, 1)
    ratios = []
    for best, dof in fits:
        if dof < 3 or best <= chi2_ppf(level, dof):
            return base
        ratios.append(best / dof)
    return base * min(ratios) if ratios else base


def _whitener(cov: np.ndarray) -> np.ndarray:
    """``T`` with ``T.T @ T = inv(cov)``: ``T @ residual`` has unit covariance."""
    prec = np.linalg.inv(cov)
    prec = 0.5 * (prec + prec.T)
    return np.linalg.cholesky(prec).T


def fit_profile(
    x: np.ndarray,
    y: np.ndarray,
    cov: np.ndarray,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Profile:
    """Profile the logistic over the (midpoint, scale) grid by generalised least squares.

    ``cov`` is the covariance of the rung means. The curve must rise
    (``floor <= ceiling``) inside ``bounds``: a falling curve is fitted by a
    flat line, which is why the verdict checks monotonicity separately.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    t = _whitener(np.asarray(cov, dtype=float))
    mids = _midpoints(xa)
    mm, ss = np.meshgrid(mids, SCALES, indexing="xy")  # scales vary slowest: ties -> sharpest
    mm, ss = mm.ravel(), ss.ravel()
    g = 1.0 / (1.0 + np.exp(-np.clip((xa[None, :] - mm[:, None]) / ss[:, None], -60.0, 60.0)))
    a = 1.0 - g
    f, c, chi = _solve(t @ ya, a @ t.T, g @ t.T, bounds[0], bounds[1])
    return Profile(mm, ss, f, c, chi, int(xa.size))


def logistic(
    x: np.ndarray, floor: float, ceiling: float, midpoint: float, scale: float
) -> np.ndarray:
    """The fitted curve at ``x``."""
    z = np.clip((np.asarray(x, dtype=float) - midpoint) / scale, -60.0, 60.0)
    return floor + (ceiling - floor) / (1.0 + np.exp(-z))


def rung_covariance(
    curve_boot: np.ndarray, means: np.ndarray, counts: np.ndarray, binary: bool
) -> np.ndarray:
    """Covariance of the rung means from the shared bootstrap, with a floor.

    A binary rung with 0 (or all) hits has no bootstrap variance; its
    variance is floored at the binomial one of the Jeffreys estimate
    ``(k + 1/2) / (n + 1)``, so 0/100 reads as "below about 1%", not "exactly
    0". A small independent part (2% of each variance) keeps rungs whose
    items agree perfectly from making the matrix singular.
    """
    boot = np.asarray(curve_boot, dtype=float)
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    r = means.size
    cov = np.cov(boot, rowvar=False) if boot.shape[0] > 2 else np.zeros((r, r))
    cov = np.atleast_2d(cov)
    diag = np.diag(cov).copy()
    n = np.maximum(counts.astype(float), 1.0)
    if binary:
        p = (means * n + 0.5) / (n + 1.0)
        floor = p * (1.0 - p) / n
    else:
        positive = diag[diag > 0]
        floor = np.full(r, (1e-3 * float(np.median(positive))) if positive.size else 1e-12)
    need = np.maximum(floor - diag, 0.0)
    cov = cov + np.diag(need + 0.02 * np.maximum(diag, floor) + 1e-15)
    return cov


#: Exponents tried for the power-law family, per decade of parameters.
ALPHAS = np.geomspace(0.02, 20.0, 121)


@dataclass
class PowerProfile:
    """``y = c - b * 10^(-alpha (x - x0))`` (``b >= 0``): a smooth power law in params.

    A power law in the error (or in the loss) rises at every rung, fastest
    at the smallest, and has no plateau. The logistic family only mimics
    it with a midpoint far below the ladder, so without this family a
    concave power law would leave sharp logistic shapes unrejected. Its
    equivalent 10%-90% span is that of the logistic tail it matches,
    ``SPAN_PER_SCALE / (alpha ln 10)`` decades.
    """

    alpha: np.ndarray
    chi2: np.ndarray

    @property
    def span(self) -> np.ndarray:
        return SPAN_PER_SCALE / (self.alpha * math.log(10.0))


def fit_power_profile(
    x: np.ndarray, y: np.ndarray, cov: np.ndarray, hi: float = math.inf
) -> PowerProfile:
    """Generalised least squares of the power law at every exponent in :data:`ALPHAS`."""
    xa = np.asarray(x, dtype=float)
    t = _whitener(np.asarray(cov, dtype=float))
    yw = t @ np.asarray(y, dtype=float)  # (rungs,) or (rungs, curves)
    ones = t @ np.ones(xa.size)
    h = 10.0 ** (-ALPHAS[:, None] * (xa[None, :] - xa.min()))  # (alphas, rungs), 1 at x_min
    hw = -(h @ t.T)  # design column for b (model: c * 1 + b * (-h))
    s11 = float(ones @ ones)
    s12 = hw @ ones
    s22 = (hw * hw).sum(1)
    if yw.ndim == 2:
        s12, s22 = s12[:, None], s22[:, None]
    y1 = ones @ yw
    y2 = hw @ yw
    syy = (yw * yw).sum(0)

    def chi2(c: np.ndarray, b: np.ndarray) -> np.ndarray:
        return syy - 2 * (c * y1 + b * y2) + c * c * s11 + 2 * c * b * s12 + b * b * s22

    det = s11 * s22 - s12 * s12
    with np.errstate(invalid="ignore", divide="ignore"):
        c0 = (y1 * s22 - y2 * s12) / det
        b0 = (y2 * s11 - y1 * s12) / det
    ok = np.isfinite(c0) & (b0 >= 0) & (c0 <= hi)
    best = np.where(ok, chi2(np.nan_to_num(c0), np.nan_to_num(b0)), np.inf)
    flat = np.broadcast_to(np.minimum(y1 / s11, hi), best.shape)
    best = np.minimum(best, chi2(flat, np.zeros_like(best)))
    if math.isfinite(hi):
        b = np.maximum((y2 - hi * s12) / s22, 0.0)
        best = np.minimum(best, chi2(np.full_like(b, hi), b))
    return PowerProfile(ALPHAS.copy(), np.maximum(best, 0.0))
