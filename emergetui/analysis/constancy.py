"""Does the curve move with scale at all? The evidence behind ``does-not-scale``.

A curve that sits above chance (or above zero) but at the same level on
every rung is not "inconclusive": it is an ability, or a bias, that the
ladder's sizes do not change. Two paired tests on the shared item
bootstrap's covariance decide it, and both must find nothing:

* a Wald test that all rungs are equal (``R - 1`` contrasts), which sees a
  late jump or a bump that a slope would average away;
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
from scipy.stats import chi2 as chi2_dist
from scipy.stats import norm


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
            f"log10 params), rungs equal by a paired Wald test p = {self.p_equal:.2g}"
        )


def constancy(x: np.ndarray, y: np.ndarray, cov: np.ndarray, level: float = 0.95) -> Constancy:
    """Test that the rung means ``y`` (covariance ``cov``) do not change with ``x``."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    r = ya.size
    contrast = np.eye(r)[1:] - np.eye(r)[:-1]  # neighbouring differences
    d = contrast @ ya
    c = contrast @ cov @ contrast.T
    wald = float(d @ np.linalg.solve(c, d))
    p_equal = float(chi2_dist.sf(wald, r - 1))
    xc = xa - xa.mean()
    w = xc / float(xc @ xc)
    slope = float(w @ ya)
    se = float(np.sqrt(max(w @ cov @ w, 0.0)))
    span = float(np.ptp(xa))
    z = float(norm.ppf(0.5 + level / 2.0))
    p_slope = float(2.0 * norm.sf(abs(slope) / se)) if se > 0 else (0.0 if slope else 1.0)
    change = slope * span
    ci = ((slope - z * se) * span, (slope + z * se) * span)
    return Constancy(p_equal, change, ci, p_slope, level)
