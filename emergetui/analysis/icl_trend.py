"""Does the gain from examples grow with size? The in-context-learning claim as a fitted trend.

"In-context learning appears with scale" is a statement about the gain curve
``Delta(k, N)`` = (ability at ``k`` shots) - (ability at 0 shots) at size ``N``: it says the
gain *grows* with ``N``. The first rung whose gain is significant is not that statement: for
one and the same gain it moves down the ladder as items are added (more power), and a gain
that is the same at every size has a first significant rung too. So the claim is tested
directly:

* the per-rung gains are paired twice: over items (the same items with and without
  examples) and across rungs (the same items at every rung), so one item bootstrap resamples
  the whole ``(items x rungs)`` table of differences;
* the trend is the least-squares slope of the rung gains on ``log10 N`` (equal weights:
  every rung scores the same items), with its bootstrap interval;
* the test is one-sided (the gain grows), by the bootstrap pivot:
  ``p = P*(slope* - slope >= slope)``, at ``alpha / 2`` (the claim is made when the slope's
  printed 95% interval lies above 0), Holm over the shot counts of a family.

The mean gain over the rungs is reported with its interval whatever the
trend says, so a constant gain reads "examples help by +0.21 [0.15, 0.27] at every size".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import item_weights, percentile_interval, rng_for
from emergetui.analysis.curves import Curve
from emergetui.analysis.mechanism import item_matrix


@dataclass
class IclTrend:
    """The gain from ``shots`` examples across the rungs, its mean and its trend in size."""

    shots: int
    rungs: list[str]
    log_params: list[float]
    #: per-rung gain over 0 shots, oriented (up = better), with 95% intervals
    gains: list[float]
    gain_ci: list[tuple[float, float]]
    mean_gain: float
    mean_ci: tuple[float, float]
    #: weighted slope of the gain on log10 params, per decade, with its 95% interval
    slope: float
    slope_ci: tuple[float, float]
    #: one-sided bootstrap p-value of "the gain grows with size", before Holm
    p_value: float
    n_items: int
    #: the slope's one-sided test survives Holm over the family's shot counts
    grows: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "shots": self.shots,
            "rungs": list(self.rungs),
            "log_params": list(self.log_params),
            "gains": list(self.gains),
            "gain_ci": [list(c) for c in self.gain_ci],
            "mean_gain": self.mean_gain,
            "mean_ci": list(self.mean_ci),
            "slope": self.slope,
            "slope_ci": list(self.slope_ci),
            "p_value": self.p_value,
            "n_items": self.n_items,
            "grows": self.grows,
        }


def _wls_slope(x: np.ndarray, g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares slope of each row of ``g`` on ``x`` (weights ``w``)."""
    xm = float(w @ x / w.sum())
    xc = x - xm
    return (g @ (w * xc)) / float(w @ (xc * xc))


def gain_trend(
    zero: Curve,
    shots: Curve,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> IclTrend | None:
    """The trend of ``shots``' gain over ``zero`` with size (``None`` without 2 rungs and 2
    items scored under both settings at every rung)."""
    got = item_matrix(shots, zero)
    if got is None:
        return None
    labels, x, (with_k, without) = got
    diff = zero.sign * (with_k - without)  # (items, rungs), oriented
    n, r = diff.shape
    if r < 2 or float(np.ptp(x)) <= 0.0:
        return None
    weights = item_weights(
        n, n_boot, rng_for(seed, "icl-trend", zero.task, zero.setting, shots.setting)
    )
    boot = (weights @ diff) / weights.sum(axis=1, keepdims=True)  # (n_boot, rungs)
    gains = diff.mean(axis=0)
    # equal weights: every rung scores the same items, and weights estimated from each rung's
    # own spread would favour rungs whose gain happens to sit near 0 (a pass/fail difference
    # varies least there), tilting the slope exactly when the gain is constant
    w = np.ones(r)
    slope = float(_wls_slope(x, gains[None, :], w)[0])
    slopes = _wls_slope(x, boot, w)
    means = boot.mean(axis=1)
    p = float((1 + np.sum(slopes - slope >= slope)) / (slopes.size + 1))
    return IclTrend(
        shots=shots.shots,
        rungs=labels,
        log_params=[float(v) for v in x],
        gains=[float(v) for v in gains],
        gain_ci=[percentile_interval(boot[:, j], level) for j in range(r)],
        mean_gain=float(gains.mean()),
        mean_ci=percentile_interval(means, level),
        slope=slope,
        slope_ci=percentile_interval(slopes, level),
        p_value=p,
        n_items=n,
    )
