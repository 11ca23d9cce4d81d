"""The three routes from the rungs below to a forecast of the next one.

Each route returns replicate draws of the held-out rung's *expected* mean (in the
curve's oriented units); :mod:`emergetui.analysis.forecast` adds the rung's own
measurement noise and reads off the band.

1. ``metric``: the discrete metric's own line in log params, in the logit of
   its share of the way from chance to the ceiling.
2. ``per-token``: the continuous signal under the metric, pushed through the
   metric's nonlinearity (Schaeffer et al. 2023). For generation, the per-token
   accuracy ``a`` (teacher-forced argmax, the counterpart of greedy decoding) in
   logit, then exact match ``a^L``; without it the per-token log-probability
   ``log p`` (as ``log(-log p)``), then ``p^L``. ``L`` is calibrated on the
   highest fitted rung when its exact match is measurable there (then
   ``L = log(EM) / log(a)`` per replicate: items differ in difficulty, so the
   mean of ``a_i^L`` is not ``mean(a)^L``), else the mean answer length.
   For multiple choice, every item's log-probability of the right choice and of
   each distractor are fitted (both move with scale), and the item's grade is
   the softmax's argmax on the forecast scores (:mod:`emergetui.analysis.forecast_mc`).
3. ``loss``: held-out loss against size (a power law: a line in log-log), then
   the metric against ``-log(loss)`` on the rungs below, read at the forecast loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emergetui.analysis.curves import Curve
from emergetui.analysis.forecast_fit import BEND_PER_DECADE, Scale, bend, fit_line
from emergetui.analysis.forecast_mc import ChoiceScores, mc_route

#: The per-token line's bend (logit units per decade): smaller than the metric's, whose
#: mean mixes items that rise at different sizes.
TOKEN_BEND_PER_DECADE = 0.45

#: Per-token curves of the continuous route, in the order they are preferred.
TOKEN_METRICS = ("token_accuracy", "logprob_correct_mean")
#: Multiple-choice grades, whose continuous route is the choices' log-probabilities.
MC_METRICS = ("multiple_choice_grade", "mc_grade_norm")
#: The least relative spread of a forecast held-out loss (log units): loss is measured on
#: many tokens, but three rungs cannot pin a power law's curvature.
LOSS_LOG_SD = 0.01


def draws_observed(curve: Curve, route: str) -> bool:
    """Whether ``route`` already returns draws of the *observed* mean (the multiple-choice
    route draws each item's own chance), so no binomial noise is to be added."""
    return route == "per-token" and curve.metric in MC_METRICS


class RouteSkipped(Exception):
    """A route that cannot run on this curve; the message says why (shown to the user)."""


@dataclass
class Below:
    """The rungs a backtest fits (the first ``m`` points of a curve) and the rung it predicts."""

    curve: Curve
    m: int
    target: int

    @property
    def x(self) -> np.ndarray:
        return self.curve.log_params[: self.m]

    @property
    def x_new(self) -> float:
        return float(self.curve.log_params[self.target])

    @property
    def distance(self) -> float:
        """Decades from the highest fitted rung to the predicted one."""
        return self.x_new - float(self.curve.log_params[self.m - 1])

    @property
    def n(self) -> np.ndarray:
        return np.array([p.n for p in self.curve.points[: self.m]], dtype=float)


def metric_scale(curve: Curve, fitted: np.ndarray, n: np.ndarray) -> Scale:
    """Chance (else the metric's lower bound) to its upper bound, oriented; unbounded: identity.

    Chance is the floor only while no ``fitted`` mean (of ``n`` items) is clearly below it
    (by two binomial standard errors): a model that prefers the distractors sits under
    chance, and a floor there would hide its rise.
    """
    lo, hi = curve.oriented_bounds()
    chance = curve.oriented_chance()
    usable = chance is not None and math.isfinite(lo) and lo <= chance < hi
    if usable:
        c = float(chance)  # type: ignore[arg-type]
        se = np.sqrt(c * (1.0 - c) / np.maximum(n, 1.0))
        usable = bool(np.all(np.asarray(fitted) >= c - 2.0 * se))
    floor = chance if usable and chance is not None else lo
    return Scale(floor, hi) if math.isfinite(floor) and math.isfinite(hi) else Scale()


def _line_draws(
    x: np.ndarray,
    y: np.ndarray,
    boot: np.ndarray,
    n: np.ndarray,
    scale: Scale,
    x_new: float | np.ndarray,
    distance: float,
    rng: np.random.Generator,
    bend_per: float = BEND_PER_DECADE,
) -> np.ndarray:
    """Fit ``y`` (replicates ``boot``) on ``x`` in ``scale``; draws at ``x_new``, bent, unmapped."""
    z = scale.to_z(y, n)
    zb = scale.to_z(boot, n[None, :])
    fit = fit_line(x, z, zb, scale.z_variance_floor(y, n))
    per = bend_per
    if not scale.bounded:
        # an unbounded metric bends in its own units: scale the bend by the rungs' spread
        per = bend_per * float(np.std(y)) / max(float(np.ptp(x)), 1e-9)
    return scale.from_z(bend(fit.at(x_new), distance, rng, per))


def metric_route(below: Below, rng: np.random.Generator) -> np.ndarray:
    """Route 1: the metric's own line in log params."""
    c = below.curve
    y = c.oriented_means()[: below.m]
    boot = c.oriented_boot()[:, : below.m]
    scale = metric_scale(c, y, below.n)
    return _line_draws(below.x, y, boot, below.n, scale, below.x_new, below.distance, rng)


def _columns(source: Curve, labels: Sequence[str]) -> list[int] | None:
    at = {p.rung: i for i, p in enumerate(source.points)}
    if any(label not in at for label in labels):
        return None
    return [at[label] for label in labels]


def token_route(
    below: Below,
    token_curves: dict[str, Curve],
    answer_tokens: float | None,
    rng: np.random.Generator,
    choices: Mapping[str, Mapping[str, ChoiceScores]] | None = None,
) -> np.ndarray:
    """Route 2: for generation the per-token curve's line, pushed through ``a^L``; for
    multiple choice the choices' scores (:mod:`emergetui.analysis.forecast_mc`)."""
    c = below.curve
    if c.metric in MC_METRICS:
        return _choice_route(below, choices, rng)
    if c.metric != "exact_match":
        raise RouteSkipped(f"no per-token form of {c.metric}")
    if not answer_tokens or answer_tokens <= 0:
        raise RouteSkipped("answer length in tokens not stored")
    labels = [p.rung for p in c.points[: below.m]]
    for name in TOKEN_METRICS:
        tc = token_curves.get(name)
        cols = None if tc is None else _columns(tc, labels)
        if tc is not None and cols is not None:
            break
    else:
        raise RouteSkipped("no per-token accuracy or log-probability stored on the fitted rungs")
    y = tc.means[cols]
    boot = tc.boot[:, cols]
    n_tok = below.n * answer_tokens
    if name == "token_accuracy":
        scale, to_p = Scale(0.0, 1.0), (lambda v: v)
    else:
        scale, to_p = Scale(), np.exp  # mean log p: a line in log(-log p) below
        y, boot = np.log(np.maximum(-y, 1e-6)), np.log(np.maximum(-boot, 1e-6))
    draws = _line_draws(
        below.x, y, boot, n_tok, scale, below.x_new, below.distance, rng, TOKEN_BEND_PER_DECADE
    )
    if name != "token_accuracy":
        draws = -np.exp(draws)
    p_new = np.clip(to_p(draws), 1e-12, 1.0)
    power = _calibrated_length(c, tc, below.m - 1, cols[-1], name, answer_tokens)
    if power.size > 1:
        power = power[rng.integers(0, power.size, size=p_new.size)]
    return np.asarray(p_new**power, dtype=float)


def _choice_route(
    below: Below,
    choices: Mapping[str, Mapping[str, ChoiceScores]] | None,
    rng: np.random.Generator,
) -> np.ndarray:
    if not choices:
        raise RouteSkipped("no per-choice log-probabilities stored")
    labels = [p.rung for p in below.curve.points[: below.m]]
    n_boot = below.curve.boot.shape[0] if below.curve.boot.size else 1000
    try:
        return mc_route(choices, labels, below.x, below.x_new, rng, n_boot)
    except ValueError as why:
        raise RouteSkipped(str(why)) from None


def _calibrated_length(
    em: Curve, tc: Curve, i_em: int, i_tok: int, name: str, answer_tokens: float
) -> np.ndarray:
    """``L`` per replicate: ``log(EM) / log(a)`` at the highest fitted rung where exact match
    is measurable there (at least 3 hits and 3 misses), else the mean answer length."""
    point = em.points[i_em]
    hits = point.mean * point.n
    if hits < 3 or point.n - hits < 3:
        return np.array([answer_tokens])
    e = em.boot[:, i_em]
    a = tc.boot[:, i_tok]
    a = a if name == "token_accuracy" else np.exp(a)
    ok = np.isfinite(e) & np.isfinite(a) & (e > 0) & (e < 1) & (a > 0) & (a < 1)
    if not np.any(ok):
        return np.array([answer_tokens])
    length = np.log(e[ok]) / np.log(a[ok])
    return np.clip(length, answer_tokens / 4.0, answer_tokens * 4.0)


def loss_route(below: Below, rng: np.random.Generator) -> np.ndarray:
    """Route 3: loss from size (log-log line), then the metric's line in ``-log(loss)``."""
    c = below.curve
    losses = [p.heldout_loss for p in c.points[: below.m]]
    if any(v is None or v <= 0 for v in losses):
        raise RouteSkipped("held-out loss not measured on every fitted rung")
    v = -np.log(np.array(losses, dtype=float))
    if float(np.ptp(v)) <= 0.0:
        raise RouteSkipped("held-out loss does not change over the fitted rungs")
    x = below.x
    slope, intercept = np.polyfit(x, v, 1)
    resid = v - (intercept + slope * x)
    dof = max(x.size - 2, 1)
    s = max(math.sqrt(float((resid**2).sum()) / dof), LOSS_LOG_SD)
    lever = 1.0 + 1.0 / x.size + (below.x_new - x.mean()) ** 2 / float(((x - x.mean()) ** 2).sum())
    n_draw = c.boot.shape[0] if c.boot.size else 1
    v_new = intercept + slope * below.x_new + rng.normal(0.0, s * math.sqrt(lever), size=n_draw)
    y = c.oriented_means()[: below.m]
    boot = c.oriented_boot()[:, : below.m]
    scale = metric_scale(c, y, below.n)
    return _line_draws(v, y, boot, below.n, scale, v_new, below.distance, rng)
