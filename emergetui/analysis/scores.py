"""BIG-bench's emergence scores of a curve: breakthroughness and linearity.

Rungs ordered by size, ``y_1..y_n`` oriented so that up is better:

* ``I(y) = sign(argmax y - argmin y) * (max y - min y)``: the signed overall
  change, positive when the best rung is larger than the worst one.
* breakthroughness ``B = I(y) / RootMedianSquare({y_{i+1} - y_i})``
  (Srivastava et al. 2022, "Beyond the Imitation Game", appendix B; used as
  the "emergence score" by Schaeffer et al. 2023). The median ignores the few
  big steps, so one large jump among small ones scores high; a pure step
  scores infinity, reported as the string ``"inf"`` in JSON.
* linearity ``L = I(y) / RootMeanSquare({y_{i+1} - y_i})`` (same appendix).

Both use the rungs as given and are not comparable across ladders of
different length or placement, which is why the verdict does not use them;
they are shown alongside it.
"""

from __future__ import annotations

import math

import numpy as np


def signed_range(y: np.ndarray) -> float:
    """``I(y)``: max minus min, negative when the minimum comes after the maximum."""
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    span = float(arr.max() - arr.min())
    direction = int(np.argmax(arr)) - int(np.argmin(arr))
    return span if direction >= 0 else -span


def _ratio(numerator: float, denominator: float) -> float:
    """Division that reads 0/0 as 0 and x/0 as a signed infinity."""
    if not math.isfinite(numerator):
        return float("nan")
    if denominator <= 0.0:
        if numerator == 0.0:
            return 0.0
        return math.copysign(math.inf, numerator)
    return numerator / denominator


def breakthroughness(y: np.ndarray) -> float:
    """BIG-bench breakthroughness ``I(y) / sqrt(median((y_{i+1} - y_i)^2))``.

    Srivastava et al. (2022), appendix B; Schaeffer et al. (2023) call it the
    emergence score. ``inf`` when all but a minority of steps are exactly 0
    (a pure step), ``0`` for a constant curve, ``nan`` under 2 points.
    """
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    steps = np.diff(arr)
    return _ratio(signed_range(arr), math.sqrt(float(np.median(steps**2))))


def linearity(y: np.ndarray) -> float:
    """BIG-bench linearity ``I(y) / sqrt(mean((y_{i+1} - y_i)^2))``.

    Srivastava et al. (2022), appendix B ("Definitions of linearity and
    breakthroughness"). Equals ``n - 1`` for equal steps and ``sqrt(n - 1)``
    for a single step, so it rewards steady improvement with scale.
    """
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    steps = np.diff(arr)
    return _ratio(signed_range(arr), math.sqrt(float(np.mean(steps**2))))


def linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(slope, r_squared)`` of an ordinary least-squares line.

    R^2 is 1 for a perfect line and 0 for a constant ``y`` (nothing to explain,
    so nothing is explained), which keeps flat curves out of "smooth".
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.size < 2 or float(np.ptp(xa)) == 0.0:
        return (float("nan"), float("nan"))
    slope, intercept = np.polyfit(xa, ya, 1)
    ss_tot = float(np.sum((ya - ya.mean()) ** 2))
    if ss_tot == 0.0:
        return (float(slope), 0.0)
    ss_res = float(np.sum((ya - (slope * xa + intercept)) ** 2))
    return (float(slope), max(0.0, 1.0 - ss_res / ss_tot))
