"""Does the ladder resolve the rise? Rungs inside it, tested with a calibrated bootstrap.

Emergence in Wei et al.'s sense is a property of the ability, read through
the rungs a ladder happens to have: performance sits near chance, then is
well above it, and no measured size shows anything in between. So the
question is not "how many rung gaps wide is the fitted rise" (a ratio that
moves when one rung is removed) but **does any rung lie inside the rise?**
A rung counts as inside when the fitted curve there is between 15% and 85%
of the way from floor to ceiling (:data:`BAND`).

Every candidate shape (the logistic grid of :mod:`emergetui.analysis.shape`
and the power law beside it) is sorted by what it says about the rungs:

* **sharp after a plateau** (``E``): no rung inside, at least 2 below its 15%
  point and at least 1 above its 85% point;
* **resolved**: at least 2 rungs inside (:data:`MIN_INSIDE`), or, for a
  rise that runs on beyond the ladder's end, no two neighbouring rung gaps
  carrying 70% (:data:`STEP_SHARE`) of the rise the ladder sees. One rung
  inside is not enough: removing it would leave the rise unresolved, and a
  verdict must not swing from ``smooth`` to ``emergent`` with one rung;
* everything else (a rise over two gaps, a plateau of one rung, no rise at
  all) settles neither claim. Power laws rise from the first rung: never ``E``.

The sharp claim rejects every non-``E`` shape: the statistic is
``T = min chi2(non-E) - min chi2(all)``. Its null distribution is not
taken from the chi-square tables (few rungs, bounded floors and a grid make
them miss by a factor of 2 at the boundary) but from a **parametric
bootstrap at the boundary**: rung means are drawn from the best non-``E``
fit (the shape closest to sharp that still has a rung inside) with the
shared-bootstrap covariance, refitted, and ``T`` recomputed; the p-value is
the share of draws at least as extreme. The resolved claim uses the
likelihood-ratio cut (one-sided, ``alpha``) on the same partition.

Goodness of fit is checked on every ladder the same way: the best
monotone fit's chi-square against its own parametric bootstrap, which
works with 4 rungs and 4 parameters, where chi-square tables have no
degrees of freedom left. A partial fall-back (0, 0, 0.6, 0.3) fails it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls
from scipy.special import chdtrc, chdtri  # chi2.sf/isf without importing scipy.stats

from emergetui.analysis.bootstrap import rng_for
from emergetui.analysis.shape import (
    ALPHAS,
    SCALES,
    _midpoints,
    _solve,
    _whitener,
)

#: The rise is the part of the fitted curve between these shares of floor-to-ceiling.
BAND = (0.15, 0.85)
#: Share of the rise seen that no two neighbouring gaps may carry for ``smooth``.
STEP_SHARE = BAND[1] - BAND[0]
#: Rungs inside an accepted rise that make it resolved whatever its gaps carry.
MIN_INSIDE = 2
#: Rungs below the rise for a plateau.
MIN_PLATEAU = 2
#: Parametric bootstrap draws for the sharp test and the goodness of fit.
N_SIM = 199
#: Draws per block (bounds the memory of one block of refits).
_BLOCK = 25
#: Exceedances after which a Monte Carlo test stops early.
_EXCEED = 10
#: Sharp statistics below this are never significant (the bootstrap's 97.5% point at the
#: bound is above chi2(1)'s 90% point, 2.7), so their test is not run.
_SCREEN = 1.5
#: Variances of the rung means a null curve implies (pass/fail metrics), or none.
VarOf = Callable[[np.ndarray], np.ndarray]


@dataclass
class Resolution:
    """What the rungs say about the rise (indices into the curve's points)."""

    sharp: bool
    sharp_p: float
    resolved: bool
    resolved_p: float
    #: a non-decreasing curve fits (``gof_p``: its parametric-bootstrap p-value, ``chi2``)
    fits: bool
    gof_p: float
    chi2: float
    #: the logistic and power-law families' fit (p-value); below ``alpha`` widens by ``inflation``
    family_p: float
    inside_range: tuple[int, int]
    plateau: int
    lower: int
    e_accepted: bool
    #: most rungs before an accepted sharp rise (-1: no sharp rise fits)
    sharp_plateau: int
    decide_log10: float | None
    inflation: float
    #: the best fit puts at least 70% of the rise seen within two rung gaps
    steplike: bool = False


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def _steplike(q: np.ndarray) -> np.ndarray:
    """Shapes (rows of ``q``, the share of the rise reached at each rung) that the ladder
    does not resolve: two neighbouring gaps carry at least :data:`STEP_SHARE` of the rise
    seen between the first and the last rung (every shape, with 3 rungs). Removing the rung
    between those two gaps would leave a one-gap step, so a ``smooth`` call must exclude
    them all; a tail whose rise lies beyond the ladder is judged by the part the rungs see."""
    seen = q[:, -1] - q[:, 0]
    span = min(2, q.shape[1] - 1)
    step = (q[:, span:] - q[:, :-span]).max(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (seen > 1e-9) & (step >= STEP_SHARE * seen)


class ShapeGrid:
    """Every candidate shape of one ladder and covariance, ready to fit many curves at once."""

    def __init__(self, x: np.ndarray, cov: np.ndarray, bounds: tuple[float, float]) -> None:
        self.x = np.asarray(x, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.lo, self.hi = bounds
        self.t = _whitener(self.cov)
        # every other midpoint and scale of the fit's grid: the bootstrap refits thousands of
        # curves, and it calibrates the test on this very grid, so coarseness costs no size
        mids = _midpoints(self.x)[::2]
        mm, ss = np.meshgrid(mids, SCALES[::2], indexing="xy")
        # the boundary itself, finely: shapes that put one rung exactly at an edge of the band.
        # The best shape with a rung inside lies there whenever the data look sharp, and a
        # coarse grid would miss it (the test would then compare against a poor fit)
        fine = np.geomspace(0.003, 3.0, 160)
        edges = np.log(np.array(BAND) / (1.0 - np.array(BAND)))
        bm = (self.x[:, None, None] - fine[None, None, :] * edges[None, :, None]).ravel()
        bs = np.broadcast_to(fine[None, None, :], (self.x.size, 2, fine.size)).ravel()
        self.mid = np.concatenate([mm.ravel(), bm])
        self.scale = np.concatenate([ss.ravel(), bs])
        on_edge = np.zeros(self.mid.size, dtype=bool)
        on_edge[mm.size :] = True
        q = _sigmoid((self.x[None, :] - self.mid[:, None]) / self.scale[:, None])
        tol = 1e-9
        below, above = q < BAND[0] - tol, q > BAND[1] + tol
        self.g = q
        self.aw = (1.0 - q) @ self.t.T
        self.gw = q @ self.t.T
        self.inside = (~below & ~above).sum(1)
        self.below = below.sum(1)
        n_above = above.sum(1)
        self.e_shape = (self.inside == 0) & (self.below >= MIN_PLATEAU) & (n_above >= 1) & ~on_edge
        self.steplike = _steplike(q)
        self.unresolved = (self.inside < MIN_INSIDE) & self.steplike
        self.sharp_shape = (self.inside == 0) & (self.below >= 1) & (n_above >= 1)
        # power law c - b 10^(-alpha (x - x0)): rises from the first rung
        self.h = 10.0 ** (-ALPHAS[:, None] * (self.x[None, :] - self.x.min()))
        qp = 1.0 - self.h
        p_in = ((qp >= BAND[0]) & (qp <= BAND[1])).sum(1)
        self.p_unresolved = (p_in < MIN_INSIDE) & _steplike(qp)
        self.ones = self.t @ np.ones(self.x.size)
        self.hw = -(self.h @ self.t.T)

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(floor, ceiling, chi2 logistic, chi2 power)`` for ``y`` (rungs) or ``(rungs, B)``."""
        yw = self.t @ y
        f, c, chi = _solve(yw, self.aw, self.gw, self.lo, self.hi)
        return f, c, chi, self._power(yw)

    def _power(self, yw: np.ndarray) -> np.ndarray:
        s11 = float(self.ones @ self.ones)
        s12, s22 = self.hw @ self.ones, (self.hw * self.hw).sum(1)
        if yw.ndim == 2:
            s12, s22 = s12[:, None], s22[:, None]
        y1, y2, syy = self.ones @ yw, self.hw @ yw, (yw * yw).sum(0)

        def chi2(c: np.ndarray, b: np.ndarray) -> np.ndarray:
            return syy - 2 * (c * y1 + b * y2) + c * c * s11 + 2 * c * b * s12 + b * b * s22

        det = s11 * s22 - s12 * s12
        with np.errstate(invalid="ignore", divide="ignore"):
            c0 = (y1 * s22 - y2 * s12) / det
            b0 = (y2 * s11 - y1 * s12) / det
        ok = np.isfinite(c0) & (b0 >= 0) & (c0 <= self.hi)
        best = np.where(ok, chi2(np.nan_to_num(c0), np.nan_to_num(b0)), np.inf)
        flat = np.broadcast_to(np.minimum(y1 / s11, self.hi), best.shape)
        best = np.minimum(best, chi2(flat, np.zeros_like(best)))
        if math.isfinite(self.hi):
            b = np.maximum((y2 - self.hi * s12) / s22, 0.0)
            best = np.minimum(best, chi2(np.full_like(b, self.hi), b))
        return np.maximum(best, 0.0)

    def power_mean(self, y: np.ndarray, k: int) -> np.ndarray:
        """The fitted power law with exponent ``ALPHAS[k]`` (its GLS ``c``, ``b >= 0``)."""
        prec = np.linalg.inv(self.cov)
        design = np.column_stack([np.ones(self.x.size), -self.h[k]])
        coef = np.linalg.solve(design.T @ prec @ design, design.T @ prec @ y)
        if coef[1] < 0:
            w = prec.sum(1)
            return np.full(self.x.size, float(w @ y / w.sum()))
        if coef[0] > self.hi:
            hk = self.h[k]
            b = max(float(hk @ prec @ (self.hi - y) / (hk @ prec @ hk)), 0.0)
            return self.hi - b * hk
        return design @ coef

    def mean_of(self, i: int, f: float, c: float) -> np.ndarray:
        return f + (c - f) * self.g[i]

    def stats(
        self, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per curve: best chi2, best non-E chi2, best unresolved chi2, plus the fits."""
        f, c, chi, pchi = self.fit(y)
        amp = c - f > 1e-12 * (1.0 + np.abs(c))
        e_mask = self.e_shape[:, None] & amp if chi.ndim == 2 else self.e_shape & amp
        unres = self.unresolved
        unres_mask = (unres[:, None] if chi.ndim == 2 else unres) & amp
        p_unres = self.p_unresolved
        best = np.minimum(chi.min(0), pchi.min(0))
        non_e = np.minimum(np.where(e_mask, np.inf, chi).min(0), pchi.min(0))
        pu = (
            np.where(p_unres[:, None] if pchi.ndim == 2 else p_unres, pchi, np.inf).min(0)
            if p_unres.any()
            else np.full_like(best, np.inf)
        )
        unresolved = np.minimum(np.where(unres_mask, chi, np.inf).min(0), pu)
        return best, non_e, unresolved, chi, np.stack([f, c, amp.astype(float)])


def _null_cov(grid: ShapeGrid, mean: np.ndarray, var_of: VarOf | None) -> np.ndarray:
    """Covariance of the rung means under the null ``mean``: the observed one, or for
    pass/fail metrics the observed correlations with the variances ``mean`` implies (a rung
    seen at 20/20 may well be 18/20 under the null, and vary like it)."""
    if var_of is None:
        return grid.cov
    sd = np.sqrt(np.diag(grid.cov))
    corr = grid.cov / np.outer(sd, sd)
    sd0 = np.sqrt(var_of(mean))
    return corr * np.outer(sd0, sd0)


def _simulate(chol: np.ndarray, mean: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``(rungs, n)`` draws of the rung means around ``mean``."""
    return mean[:, None] + chol @ rng.standard_normal((mean.size, n))


def _mc_p(
    grid: ShapeGrid,
    mean: np.ndarray,
    rng: np.random.Generator,
    n: int,
    obs: float,
    which: int,
    var_of: VarOf | None = None,
) -> tuple[float, float]:
    """Monte Carlo p-value of ``obs`` (``which``: 0 the sharp statistic, 1 the best chi2)
    among up to ``n`` curves drawn around ``mean``, and the draws' mean statistic.

    Besag and Clifford's sequential rule: stop once :data:`_EXCEED` draws are at
    least as extreme (the p-value is then plainly above any level used here),
    so only borderline and significant curves pay for every draw.
    """
    hits, done, total = 0, 0, 0.0
    chol = np.linalg.cholesky(_null_cov(grid, mean, var_of))
    while done < n:
        ys = _simulate(chol, mean, rng, min(_BLOCK, n - done))
        best, non_e, _, _, _ = grid.stats(ys)
        stat = non_e - best if which == 0 else best
        hits += int(np.sum(stat >= obs - 1e-9))
        done += ys.shape[1]
        total += float(stat.sum())
        if hits >= _EXCEED:
            return hits / done, total / done
    return (1 + hits) / (done + 1), total / done


def _best_mean(grid: ShapeGrid, y: np.ndarray, chi: np.ndarray, fc: np.ndarray, mask: np.ndarray):
    """Fitted means of the best shape within ``mask`` (logistic) or of the best power law."""
    pchi = grid._power(grid.t @ y)
    li = int(np.argmin(np.where(mask, chi, np.inf)))
    pk = int(np.argmin(pchi))
    if float(pchi[pk]) < float(chi[li]):
        return grid.power_mean(y, pk)
    return grid.mean_of(li, float(fc[0][li]), float(fc[1][li]))


def monotone_chi2(y: np.ndarray, whiten: np.ndarray) -> tuple[float, np.ndarray]:
    """Generalised least squares of the best non-decreasing curve through ``y``.

    ``mu = D theta`` with ``D`` the cumulative-sum matrix, ``theta_0`` free and
    the steps ``theta_k >= 0``: non-negative least squares on the whitened
    problem (the free first level split into two non-negative parts).
    """
    r = y.size
    d = np.tril(np.ones((r, r)))
    a = whiten @ d
    design = np.column_stack([a[:, 0], -a[:, 0], a[:, 1:]])
    theta, norm = nnls(design, whiten @ y)
    coef = np.concatenate([[theta[0] - theta[1]], theta[2:]])
    return float(norm * norm), d @ coef


def _monotone_p(
    grid: ShapeGrid, y: np.ndarray, rng: np.random.Generator, n: int, var_of: VarOf | None
) -> tuple[float, float]:
    """``(chi2, p)`` of "the rung means come from some non-decreasing curve"
    (parametric bootstrap from the best such curve, Besag-Clifford stopping)."""
    obs, mu = monotone_chi2(y, grid.t)
    if obs <= 1e-9:
        return obs, 1.0
    chol = np.linalg.cholesky(_null_cov(grid, mu, var_of))
    hits = 0
    for done in range(1, n + 1):
        draw = mu + chol @ rng.standard_normal(mu.size)
        hits += monotone_chi2(draw, grid.t)[0] >= obs - 1e-9
        if hits >= _EXCEED:
            return obs, hits / done
    return obs, (1 + hits) / (n + 1)


def resolve(
    x: np.ndarray,
    y: np.ndarray,
    cov: np.ndarray,
    bounds: tuple[float, float],
    alpha: float = 0.05,
    seed: object = 0,
    n_sim: int = N_SIM,
    var_of: VarOf | None = None,
    sharp_alpha: float | None = None,
) -> Resolution:
    """Test "the rise is sharp after a plateau" and "the ladder resolves it" (see module doc)."""
    grid = ShapeGrid(x, cov, bounds)
    ya = np.asarray(y, dtype=float)
    best_a, non_e_a, unres_a, chi, fc = grid.stats(ya)
    best, non_e, unres = float(best_a), float(non_e_a), float(unres_a)
    rng = rng_for(0, "resolve", seed)
    mono_chi2, mono_p = _monotone_p(grid, ya, rng, n_sim, var_of)
    # the shape families' fit, against their own parametric bootstrap: a misfit that is still
    # monotone (a curve that keeps improving after its jump) widens every range by the ratio
    everything = np.ones(chi.size, dtype=bool)
    fitted = _best_mean(grid, ya, chi, fc, everything)
    gof_p, null_mean = _mc_p(grid, fitted, rng, n_sim // 2, best, 1, var_of)
    inflation = 1.0 if gof_p > alpha else max(1.0, best / max(null_mean, 1.0))
    t_sharp = (non_e - best) / inflation
    sharp_p = 1.0
    if mono_p > alpha and t_sharp > _SCREEN:
        amp = fc[2].astype(bool)
        boundary = _best_mean(grid, ya, chi, fc, ~(grid.e_shape & amp))
        sharp_p, _ = _mc_p(grid, boundary, rng, n_sim, t_sharp * inflation, 0, var_of)
    t_res = (unres - best) / inflation
    resolved_p = 0.5 * float(chdtrc(1, t_res)) if t_res > 0 else 1.0
    cut = float(chdtri(1, 2.0 * alpha)) * inflation
    amp = fc[2].astype(bool)
    ok = (chi <= best + cut) & amp
    inside = grid.inside[ok] if ok.any() else grid.inside[[int(np.argmin(chi))]]
    sharp_ok = ok & grid.sharp_shape
    e_mask = grid.e_shape & amp
    ref = int(np.argmin(np.where(e_mask, chi, np.inf))) if e_mask.any() else int(np.argmin(chi))
    plateau = int(grid.below[ref])
    lower = max(min(plateau, grid.x.size - 1) - 1, 0)
    return Resolution(
        sharp=sharp_p <= (alpha if sharp_alpha is None else sharp_alpha),
        sharp_p=sharp_p,
        resolved=mono_p > alpha and resolved_p <= alpha,
        resolved_p=resolved_p,
        fits=mono_p > alpha,
        gof_p=mono_p,
        chi2=mono_chi2,
        family_p=gof_p,
        inside_range=(int(inside.min()), int(inside.max())),
        plateau=plateau,
        lower=lower,
        e_accepted=bool((ok & grid.e_shape).any()),
        sharp_plateau=int(grid.below[sharp_ok].max()) if sharp_ok.any() else -1,
        decide_log10=_decider(grid.x, float(grid.mid[ref]), lower),
        inflation=inflation,
        steplike=bool(grid.steplike[int(np.argmin(chi))]),
    )


def _decider(x: np.ndarray, mid: float, lower: int) -> float | None:
    """Where one more rung would settle the question: the sharp fit's midpoint, kept inside
    its gap (a tenth of the gap from either rung)."""
    if x.size < 2:
        return None
    a, b = float(x[lower]), float(x[min(lower + 1, x.size - 1)])
    if b <= a:
        return None
    pad = 0.1 * (b - a)
    return float(min(max(mid, a + pad), b - pad))
