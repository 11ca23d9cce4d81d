"""Does the curve move with scale at all? The evidence behind ``does-not-scale``.

A curve that sits above chance (or above zero) but at the same level on
every rung is not "inconclusive": it is an ability, or a bias, that the
ladder's sizes do not change. Two paired tests on the items every rung
scored decide it, and both must find nothing:

* that all rungs are equal (Cochran's Q for pass/fail items, Hotelling's
  T^2 on neighbouring differences otherwise), which sees a late jump or a
  bump that a slope would average away;
* the fitted slope in log10(params), with its interval: the change across
  the whole ladder (slope times the ladder's span in decades), so the
  verdict states how large a change the data still allow (an equivalence
  bound, not only "no significant trend").

Each test runs at ``alpha / 2`` (Bonferroni), so a curve that truly does
not move gets the verdict at least ``1 - alpha`` of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# scipy.special's distribution functions: the ones scipy.stats calls, without importing
# scipy.stats (~0.5 s on every batch run)
from scipy.special import chdtrc, fdtrc, ndtr, ndtri, stdtr, stdtrit

from emergetui.analysis.curves import Curve


@dataclass
class Constancy:
    """The tests of "no change with scale" (oriented units)."""

    p_equal: float
    change: float
    change_ci: tuple[float, float]
    p_slope: float
    level: float

    @property
    def p_value(self) -> float:
        """Both tests together (Bonferroni): small when either finds a change."""
        return min(1.0, 2.0 * min(self.p_equal, self.p_slope))

    def constant(self, alpha: float) -> bool:
        """Neither test finds a change (together at ``alpha``)."""
        return self.p_value > alpha

    def text(self, fmt: str = "{:+.3g}") -> str:
        lo, hi = self.change_ci
        return (
            f"change across the ladder {fmt.format(self.change)} "
            f"[{fmt.format(lo)}, {fmt.format(hi)}] ({self.level:.0%}, paired slope in "
            f"log10 params), rungs equal by a paired test p = {self.p_equal:.2g}"
        )


def _item_matrix(curve: Curve) -> np.ndarray | None:
    """``(items, rungs)`` oriented values of the items every rung scored, or ``None``."""
    if not curve.samples or not curve.item_ids or len(curve.samples) != len(curve.points):
        return None
    maps = [
        dict(zip(ids, vals, strict=True))
        for ids, vals in zip(curve.item_ids, curve.samples, strict=True)
    ]
    common = sorted(set.intersection(*(set(m) for m in maps)))
    if len(common) < 3:
        return None
    return curve.sign * np.array([[m[i] for m in maps] for i in common], dtype=float)


def _equal_p(m: np.ndarray, binary: bool) -> float:
    """Paired test that every rung has the same mean: Cochran's Q for pass/fail items,
    Hotelling's T^2 on the neighbouring differences otherwise (exact small-sample forms:
    a Wald test with a bootstrap covariance rejects 3-7 times too often at 20 items)."""
    n, k = m.shape
    if binary:
        cols, rows, total = m.sum(0), m.sum(1), float(m.sum())
        den = k * total - float((rows * rows).sum())
        if den <= 0:
            return 1.0
        q = (k - 1) * (k * float((cols * cols).sum()) - total * total) / den
        return float(chdtrc(k - 1, q))
    d = np.diff(m, axis=1)
    mean = d.mean(0)
    cov = np.cov(d, rowvar=False).reshape(k - 1, k - 1)
    p = k - 1
    if n <= p or not np.any(mean):
        return 1.0
    t2 = n * float(mean @ np.linalg.pinv(cov) @ mean)
    f = (n - p) / (p * (n - 1)) * t2
    return float(fdtrc(p, n - p, f))


def constancy(curve: Curve, cov: np.ndarray, level: float = 0.95) -> Constancy:
    """Test that ``curve``'s oriented rung means do not change with size.

    Per-item tests where the items are stored (:func:`_equal_p`, and a t-test
    of each item's slope across the rungs), else a Wald test and the slope's
    standard error from ``cov`` (the shared-bootstrap covariance).
    """
    xa = curve.log_params
    ya = curve.oriented_means()
    xc = xa - xa.mean()
    w = xc / float(xc @ xc)
    span = float(np.ptp(xa))
    m = _item_matrix(curve)
    if m is not None:
        z = m @ w  # each item's least-squares slope across the rungs
        slope = float(z.mean())
        se = float(z.std(ddof=1) / np.sqrt(z.size))
        crit = float(stdtrit(z.size - 1, 0.5 + level / 2.0))
        tiny = 1e-12 * (1.0 + float(np.abs(m).max()))  # rounding of identical item values
        if se <= tiny:
            p_slope = 1.0 if abs(slope) <= tiny else 0.0
        else:
            p_slope = float(2.0 * stdtr(z.size - 1, -abs(slope) / se))
        p_equal = _equal_p(m, curve.binary)
    else:
        r = ya.size
        contrast = np.eye(r)[1:] - np.eye(r)[:-1]
        d = contrast @ ya
        wald = float(d @ np.linalg.solve(contrast @ cov @ contrast.T, d))
        p_equal = float(chdtrc(r - 1, wald))
        slope = float(w @ ya)
        se = float(np.sqrt(max(w @ cov @ w, 0.0)))
        crit = float(ndtri(0.5 + level / 2.0))
        p_slope = float(2.0 * ndtr(-abs(slope) / se)) if se > 0 else (0.0 if slope else 1.0)
    ci = ((slope - crit * se) * span, (slope + crit * se) * span)
    return Constancy(p_equal, slope * span, ci, p_slope, level)
