"""Where an ability leaves chance, as a fitted loss: Du et al.'s onset with an interval.

Du, Zeng, Dong and Tang (2024) describe abilities that stay at chance until the pre-training
loss falls below a task-specific threshold and then improve as the loss falls further. "The
first rung whose interval clears chance" is not that threshold: it is where the test ran out
of noise, so it moves with the item count (from 3.2 to 2.5 nats for one and the same
threshold at 2.6 as items go from 30 to 1000). The onset here is a parameter of a fitted
curve instead, a hinge in the loss:

    ability(L) = c + s * max(0, eta - L),   s >= 0

(``c`` the plateau, ``eta`` the onset, ``s`` the rise per nat), fitted by generalised least
squares to the rung means with their covariance from the shared item bootstrap (so rungs
are paired). Only the rungs up to the first that has made 80% of the rise (in falling loss)
take part: what the ability does as it saturates says nothing about where it left chance.
The interval is the set of onsets the data do not reject: ``eta`` with
``GLS(eta) - GLS(best) <= chi2_1(0.99)`` (see :data:`ONSET_LEVEL`), inflated by the
residual misfit when the hinge fits worse than the rungs' noise. Its ends are found by
root-finding, so it is continuous and narrows as items are added without collapsing. When
only one rung has left chance the onset lies anywhere in the gap before it, and the interval
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import chdtri  # chi2.ppf without importing scipy.stats (~0.5 s)

#: The likelihood-ratio range's level. The onset is not a regular parameter when it sits near a
#: rung (which rungs have left the plateau is itself uncertain): the chi-square range at 95%
#: covered the true onset in 20 of 24 simulated ladders at 1000 items (seed 3), at 99% in 23
#: of 24 and in 80 of 80 at 30-1000 items (benchmarks/verdicts_mechanisms.py,
#: docs/mirage-icl-loss.md).
ONSET_LEVEL = 0.99
#: The fit stops at the first rung (in falling loss) that has made this share of the rise:
#: the hinge is a straight rise, and what happens after the ability saturates is no part of
#: where it left chance.
TOP_SHARE = 0.8


@dataclass(frozen=True)
class Onset:
    """The fitted onset (a held-out loss) and its interval; ``open_above``: the ability is
    already above its plateau at the highest measured loss, so the onset may lie above it."""

    value: float
    ci: tuple[float, float]
    open_above: bool
    note: str


#: The rise after the onset is ``s * (eta - L) ** gamma`` with ``gamma`` fitted in this range:
#: a straight rise (1) is Du et al.'s picture, but a rise that curves (faster or slower than
#: straight in the loss) would bias a straight hinge's onset and narrow its range.
GAMMA = (0.5, 2.5)


def _gls(eta: float, loss: np.ndarray, y: np.ndarray, inv: np.ndarray, gamma: float = 1.0) -> float:
    """Generalised residual sum of squares of the best hinge with onset ``eta``."""
    h = np.maximum(0.0, eta - loss) ** gamma
    X = np.column_stack([np.ones_like(loss), h])
    A = X.T @ inv @ X
    b = X.T @ inv @ y
    if np.linalg.cond(A) < 1e12:
        beta = np.linalg.solve(A, b)
    else:
        beta = np.array([np.nan, -1.0])
    if not beta[1] >= 0.0:  # no rise: the best flat line (s = 0)
        one = np.ones_like(loss)
        c = float(one @ inv @ y / (one @ inv @ one))
        beta = np.array([c, 0.0])
    r = y - X @ beta
    return float(r @ inv @ r)


def fit_onset(
    loss: np.ndarray, y: np.ndarray, cov: np.ndarray, level: float = ONSET_LEVEL
) -> Onset | None:
    """The hinge onset of oriented ability ``y`` against held-out ``loss`` (one value per
    rung, ``cov`` the rung means' covariance); ``None`` when fewer than 3 rungs remain."""
    order = np.argsort(-loss, kind="stable")
    loss, y, cov = loss[order], y[order], cov[np.ix_(order, order)]
    top = float(y.min()) + TOP_SHARE * float(np.ptp(y))
    peak = int(np.argmax(y >= top))
    keep = slice(0, peak + 1)
    loss, y, cov = loss[keep], y[keep], cov[keep, keep]
    if loss.size < 3 or float(np.ptp(loss)) <= 0.0:
        return None
    inv = np.linalg.pinv(cov)
    lo_l, hi_l = float(loss.min()), float(loss.max())

    def profile(eta: float) -> float:
        """The best curved hinge with onset ``eta`` (its shape profiled out)."""
        res = minimize_scalar(
            lambda g: _gls(eta, loss, y, inv, g),
            bounds=GAMMA,
            method="bounded",
            options={"xatol": 1e-3},
        )
        return min(float(res.fun), _gls(eta, loss, y, inv))

    # the hinge is smooth between consecutive rung losses: minimise within each stretch
    knots = np.unique(loss)
    best_eta, best = hi_l, profile(hi_l)
    for a, b in zip(knots[:-1], knots[1:], strict=True):
        res = minimize_scalar(profile, bounds=(float(a), float(b)), method="bounded")
        for eta, val in ((float(res.x), float(res.fun)), (float(b), profile(float(b)))):
            if val < best - 1e-12:
                best_eta, best = eta, val
    h = np.maximum(0.0, best_eta - loss)
    X = np.column_stack([np.ones_like(loss), h])
    A = X.T @ inv @ X
    if np.linalg.cond(A) >= 1e12 or np.linalg.solve(A, X.T @ inv @ y)[1] <= 0.0:
        return None  # no rise with falling loss
    dof = loss.size - 4
    misfit = max(1.0, best / dof) if dof > 0 else 1.0
    crit = float(chdtri(1, 1.0 - level)) * misfit

    def excess(eta: float) -> float:
        return profile(eta) - best - crit

    # walk out from the best onset through the stretches; the first crossing is the bound
    def bound(direction: int) -> tuple[float, bool]:
        stops = [k for k in knots if (k - best_eta) * direction > 1e-12]
        stops = sorted(stops, reverse=direction < 0)
        prev = best_eta
        for k in stops:
            if excess(float(k)) > 0:
                return float(brentq(excess, min(prev, k), max(prev, k), xtol=1e-6)), False
            prev = float(k)
        return (hi_l, True) if direction > 0 else (lo_l, True)

    low, _ = bound(-1)
    high, open_high = bound(+1)
    note = "loss where the ability leaves its plateau (fitted hinge, likelihood-ratio interval)"
    if open_high:
        note += f"; the ability may already be rising at the highest measured loss {hi_l:.3g}"
    return Onset(best_eta, (low, high), open_high, note)
