"""The plateau before a sharp rise: at chance (``emergent``) or raised (``step``)?

Wei et al. (2022) call an ability emergent when performance is near random
below some size and well above it beyond; a jump from a level already
reached is a different finding. Also here: the variances a pass/fail curve's
rung means would have at another rate, which the parametric bootstrap of
:mod:`emergetui.analysis.resolution` draws its null curves with.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emergetui.analysis.curves import Curve


def _boot_p(diff: np.ndarray) -> float:
    """One-sided bootstrap p-value that ``diff`` (replicates) is not above 0."""
    d = diff[np.isfinite(diff)]
    return float((1 + np.sum(d <= 0.0)) / (d.size + 1))


def raised_plateau(curve: Curve, plateau: int, share: float, alpha: float) -> tuple[bool, str]:
    """Is the plateau before a sharp rise raised above chance (a ``step``)?

    Raised means that even the plateau's lowest rung sits significantly more
    than ``share`` of the jump above chance (one-sided, paired
    bootstrap): Wei et al.'s emergence starts near random. The lowest rung,
    not the mean, because the last plateau rung may carry the foot of the
    rise (up to 15% of it). A metric without a chance level has no "raised"
    plateau: its plateau is judged by the shape alone.
    """
    chance = curve.oriented_chance()
    if chance is None:
        return False, "no chance level: the plateau is judged by the shape"
    y = curve.oriented_means()
    boot = curve.oriented_boot()
    top = float(y[plateau:].mean())
    low = int(np.argmin(y[:plateau]))
    margin = chance + share * (top - chance)
    pv = _boot_p(boot[:, low] - margin)
    what = (
        f"lowest plateau rung {curve.points[low].rung} {curve.points[low].mean:.3g}, "
        f"chance {curve.chance:.3g}"
    )
    return pv <= alpha, f"{what}; more than {share:.0%} of the jump above: p = {pv:.2g}"


def binomial_var(curve: Curve) -> Callable[[np.ndarray], np.ndarray] | None:
    """For pass/fail metrics: the variance of each rung's mean if its rate were ``mu``
    (Jeffreys-smoothed, as :func:`rung_covariance` floors it)."""
    if not (curve.binary and curve.higher_is_better):
        return None
    n = np.array([max(pt.n, 1) for pt in curve.points], dtype=float)

    def var(mu: np.ndarray) -> np.ndarray:
        rate = (np.clip(mu, 0.0, 1.0) * n + 0.5) / (n + 1.0)
        return rate * (1.0 - rate) / n * 1.02

    return var
