"""A sigmoid in log10(params): where is the critical scale, and how sure are we?

``y(x) = lower + (upper - lower) / (1 + exp(-(x - midpoint) / width))`` with
``x = log10(params)``. The midpoint is the scale at which the ability is half
way from its floor to its ceiling: the "critical scale" of Wei et al. (2022)
made into a number with an interval. The lower asymptote is pinned at the
chance level when one is known (the floor of an ability that is absent is
chance, and pinning it saves a parameter on short ladders); otherwise it is
free. The fit is done on the oriented curve (up is better).

The interval comes from resampling items within each rung and refitting.
Refits that fail to converge are skipped and counted: a high failure
fraction is itself a warning that the ladder cannot locate the transition.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from emergetui.analysis.bootstrap import percentile_interval, resample_means
from emergetui.analysis.curves import Curve

#: Widths are in decades of parameters; below this the fit is a step and the
#: midpoint anywhere between two rungs fits equally well.
MIN_WIDTH = 0.01
MAX_WIDTH = 5.0


def sigmoid(x: np.ndarray, lower: float, upper: float, midpoint: float, width: float) -> np.ndarray:
    z = np.clip((np.asarray(x, dtype=float) - midpoint) / width, -60.0, 60.0)
    return lower + (upper - lower) / (1.0 + np.exp(-z))


@dataclass
class SigmoidFit:
    """Fitted parameters (oriented units; ``midpoint`` in log10 params)."""

    lower: float
    upper: float
    midpoint: float
    width: float
    lower_fixed: bool
    rmse: float
    midpoint_ci: tuple[float, float] | None = None
    upper_ci: tuple[float, float] | None = None
    width_ci: tuple[float, float] | None = None
    n_boot: int = 0
    fail_fraction: float | None = None

    @property
    def critical_params(self) -> float:
        """The midpoint as a parameter count."""
        return float(10.0**self.midpoint)

    @property
    def critical_params_ci(self) -> tuple[float, float] | None:
        if self.midpoint_ci is None:
            return None
        return (float(10.0 ** self.midpoint_ci[0]), float(10.0 ** self.midpoint_ci[1]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "midpoint_log10": self.midpoint,
            "midpoint_params": self.critical_params,
            "midpoint_ci_log10": list(self.midpoint_ci) if self.midpoint_ci else None,
            "midpoint_ci_params": list(self.critical_params_ci)
            if self.critical_params_ci
            else None,
            "width": self.width,
            "lower_fixed": self.lower_fixed,
            "rmse": self.rmse,
            "n_boot": self.n_boot,
            "fail_fraction": self.fail_fraction,
        }


_GRID_WIDTHS = np.geomspace(MIN_WIDTH * 2, MAX_WIDTH / 2, 12)


def _grid_start(x: np.ndarray, y: np.ndarray, lower: float | None) -> tuple[float, ...]:
    """Best start on a (midpoint, width) grid, the asymptotes solved exactly.

    For fixed midpoint and width the model is linear in ``lower`` and
    ``upper``, so their least-squares values have a closed form; profiling
    them out over a grid finds the right basin (a sigmoid through a handful
    of points has a local minimum on each side of every rung) for the price
    of a few array operations, and curve_fit only has to polish.
    """
    mids = np.linspace(float(x.min()) - 1.0, float(x.max()) + 1.0, 61)
    z = (x[None, None, :] - mids[:, None, None]) / _GRID_WIDTHS[None, :, None]
    sig = 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))
    if lower is not None:
        r = y - lower
        denom = np.maximum(np.sum(sig * sig, axis=2), 1e-300)
        amp = np.sum(sig * r, axis=2) / denom
        lo = np.full(amp.shape, lower)
        up = lower + amp
    else:
        a = 1.0 - sig
        saa, sab, sbb = (a * a).sum(2), (a * sig).sum(2), (sig * sig).sum(2)
        sya, syb = (a * y).sum(2), (sig * y).sum(2)
        det = saa * sbb - sab * sab
        safe = np.where(np.abs(det) > 1e-12, det, np.inf)
        lo = np.where(np.isfinite(safe), (sya * sbb - syb * sab) / safe, y.mean())
        up = np.where(np.isfinite(safe), (syb * saa - sya * sab) / safe, y.mean())
    pred = lo[:, :, None] + (up - lo)[:, :, None] * sig
    sse = np.sum((pred - y) ** 2, axis=2)
    i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
    return (float(lo[i, j]), float(up[i, j]), float(mids[i]), float(_GRID_WIDTHS[j]))


def _inside(value: float, lo: float, hi: float) -> float:
    """``value`` moved just inside ``[lo, hi]``: curve_fit rejects a start on a bound."""
    pad = 1e-9 * max(1.0, hi - lo)
    return min(max(value, lo + pad), hi - pad)


def _jacobian(x: np.ndarray, lower: float, upper: float, mid: float, width: float) -> np.ndarray:
    z = np.clip((x - mid) / width, -60.0, 60.0)
    sig = 1.0 / (1.0 + np.exp(-z))
    ds = (upper - lower) * sig * (1.0 - sig)
    return np.column_stack([1.0 - sig, sig, -ds / width, -ds * z / width])


def _fit_once(
    x: np.ndarray, y: np.ndarray, lower: float | None, p0: tuple[float, ...]
) -> tuple[float, ...] | None:
    lo_x, hi_x = float(x.min()) - 1.0, float(x.max()) + 1.0
    span = max(float(np.ptp(y)), 1e-6)
    y_lo, y_hi = float(y.min()) - 2.0 * span, float(y.max()) + 2.0 * span
    if lower is not None:
        y_lo, y_hi = min(y_lo, lower - span), max(y_hi, lower + span)
    lows = [y_lo, y_lo, lo_x, MIN_WIDTH]
    highs = [y_hi, y_hi, hi_x, MAX_WIDTH]
    start = [_inside(v, a, b) for v, a, b in zip(p0, lows, highs, strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            if lower is None:
                popt, _ = curve_fit(
                    sigmoid,
                    x,
                    y,
                    p0=start,
                    bounds=(lows, highs),
                    jac=lambda xv, *q: _jacobian(xv, *q),
                    max_nfev=400,
                )
            else:

                def pinned(xv: np.ndarray, upper: float, mid: float, width: float) -> np.ndarray:
                    return sigmoid(xv, lower, upper, mid, width)

                def pinned_jac(
                    xv: np.ndarray, upper: float, mid: float, width: float
                ) -> np.ndarray:
                    return _jacobian(xv, lower, upper, mid, width)[:, 1:]

                popt, _ = curve_fit(
                    pinned,
                    x,
                    y,
                    p0=start[1:],
                    bounds=(lows[1:], highs[1:]),
                    jac=pinned_jac,
                    max_nfev=400,
                )
                popt = np.concatenate([[lower], popt])
        except (RuntimeError, ValueError):
            return None
    if not np.all(np.isfinite(popt)):
        return None
    return tuple(float(v) for v in popt)


def fit_sigmoid_points(
    x: np.ndarray, y: np.ndarray, lower: float | None = None
) -> tuple[float, ...] | None:
    """Best ``(lower, upper, midpoint, width)`` by least squares, or ``None``.

    ``lower`` pins the lower asymptote (chance). Needs at least as many
    points as free parameters; ``None`` also when curve_fit fails.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    free = 3 if lower is not None else 4
    if xa.size < free or float(np.ptp(xa)) == 0.0 or not np.all(np.isfinite(ya)):
        return None
    return _fit_once(xa, ya, lower, _grid_start(xa, ya, lower))


def fit_curve_sigmoid(
    curve: Curve,
    rng: np.random.Generator,
    *,
    n_boot: int = 100,
    level: float = 0.95,
    fix_lower_at_chance: bool = True,
) -> SigmoidFit | None:
    """Fit the oriented curve and bootstrap the parameters over items.

    Each replicate resamples the items of every rung independently and is
    refitted from scratch (grid start, then curve_fit). ``None`` when the point fit itself
    fails or the curve has too few rungs.
    """
    x = curve.log_params
    y = curve.oriented_means()
    chance = curve.oriented_chance()
    lower = chance if (fix_lower_at_chance and chance is not None) else None
    point = fit_sigmoid_points(x, y, lower)
    if point is None:
        return None
    rmse = float(np.sqrt(np.mean((sigmoid(x, *point) - y) ** 2)))
    fit = SigmoidFit(
        lower=point[0],
        upper=point[1],
        midpoint=point[2],
        width=point[3],
        lower_fixed=lower is not None,
        rmse=rmse,
    )
    if n_boot <= 0:
        return fit
    oriented = curve.oriented_samples()
    boot_y = np.column_stack([resample_means(s, n_boot, rng) for s in oriented])
    mids, uppers, widths = [], [], []
    for row in boot_y:
        popt = fit_sigmoid_points(x, row, lower)
        if popt is None:
            continue
        uppers.append(popt[1])
        mids.append(popt[2])
        widths.append(popt[3])
    fit.n_boot = n_boot
    fit.fail_fraction = 1.0 - len(mids) / n_boot
    if mids:
        fit.midpoint_ci = percentile_interval(np.array(mids), level)
        fit.upper_ci = percentile_interval(np.array(uppers), level)
        fit.width_ci = percentile_interval(np.array(widths), level)
    return fit
