"""Forecasts: could each rung have been predicted from the smaller ones?

Wei et al. (2022) call an ability emergent when it "cannot be predicted simply by
extrapolating the performance of smaller models". This module makes that
operational on the user's own ladder with leave-the-top-out backtests: for every
``m >= 3``, fit on the ``m`` smallest rungs and predict rung ``m + 1`` (and
``m + 2``) with a 90% predictive band, by three routes
(:mod:`emergetui.analysis.forecast_routes`): the metric's own smooth fit, the
per-token log-probabilities pushed through the metric's nonlinearity, and loss
then ability. The band is for the *observed* mean on the rung's items: item
bootstrap (paired over rungs), the fit's misfit and bend, and the rung's own
binomial noise (:mod:`emergetui.analysis.forecast_fit`).

Each headline curve gets one line, judged at its largest rise among the rungs
with 3 below: "predictable from the smaller rungs by route R" when some route's
band holds the observed value, else "not predictable by any route" with how far
outside the bands it landed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import rng_for
from emergetui.analysis.curves import Curve, CurveKey
from emergetui.analysis.data import HEADLINE_ORDER
from emergetui.analysis.forecast_fit import band, heterogeneity, observe
from emergetui.analysis.forecast_mc import ChoiceScores, choice_scores
from emergetui.analysis.forecast_routes import (
    TOKEN_METRICS,
    Below,
    RouteSkipped,
    draws_observed,
    loss_route,
    metric_route,
    token_route,
)
from emergetui.analysis.forecast_rungs import Recommendation, recommend
from emergetui.analysis.jsonable import json_float

LEVEL = 0.90
#: rungs a backtest fits at least
MIN_BELOW = 3
ROUTES = ("metric", "per-token", "loss")
ROUTE_TEXT = {
    "metric": "the metric's own fit",
    "per-token": "per-token log-probs",
    "loss": "loss then ability",
}


@dataclass
class RouteBand:
    """One route's predictive band for a held-out rung, in the metric's units."""

    route: str
    low: float
    median: float
    high: float
    covered: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "low": json_float(self.low),
            "median": json_float(self.median),
            "high": json_float(self.high),
            "covered": self.covered,
        }


@dataclass
class Backtest:
    """Fit on ``fitted`` (the smallest rungs), predict ``target``, ``ahead`` rungs above."""

    fitted: list[str]
    target: str
    params: int
    ahead: int
    observed: float
    bands: list[RouteBand]
    skipped: dict[str, str] = field(default_factory=dict)

    def band(self, route: str) -> RouteBand | None:
        return next((b for b in self.bands if b.route == route), None)

    @property
    def covered_by(self) -> list[str]:
        return [b.route for b in self.bands if b.covered]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fitted": list(self.fitted),
            "target": self.target,
            "params": int(self.params),
            "ahead": self.ahead,
            "observed": json_float(self.observed),
            "bands": [b.to_dict() for b in self.bands],
            "covered_by": self.covered_by,
            "skipped": dict(self.skipped),
        }


@dataclass
class CurveForecast:
    """The backtests of one headline curve, the line that sums them up and a rung to add."""

    task: str
    setting: str
    metric: str
    higher_is_better: bool
    level: float
    backtests: list[Backtest]
    focus: Backtest | None
    line: str
    recommendation: Recommendation | None = None

    @property
    def key(self) -> CurveKey:
        return (self.task, self.setting, self.metric)

    @property
    def predictable_by(self) -> list[str]:
        return self.focus.covered_by if self.focus is not None else []

    @property
    def outcome(self) -> str:
        """``predictable``, ``not predictable`` or ``n/a`` (no backtest could run)."""
        if self.focus is None or not self.focus.bands:
            return "n/a"
        return "predictable" if self.focus.covered_by else "not predictable"

    def backtests_at(self, fitted: int, ahead: int = 1) -> Backtest | None:
        """The backtest fitted on ``fitted`` rungs, ``ahead`` above the highest of them."""
        return next(
            (b for b in self.backtests if len(b.fitted) == fitted and b.ahead == ahead), None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "level": self.level,
            "outcome": self.outcome,
            "predictable_by": self.predictable_by,
            "focus": self.focus.target if self.focus is not None else None,
            "line": self.line,
            "backtests": [b.to_dict() for b in self.backtests],
            "recommendation": self.recommendation.to_dict() if self.recommendation else None,
        }


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def backtest(
    curve: Curve,
    m: int,
    ahead: int,
    *,
    token_curves: Mapping[str, Curve],
    answer_tokens: float | None,
    seed: int = 0,
    level: float = LEVEL,
    choices: Mapping[str, Mapping[str, ChoiceScores]] | None = None,
) -> Backtest:
    """Fit the ``m`` smallest rungs of ``curve``, predict rung ``m - 1 + ahead`` by every route."""
    target = m - 1 + ahead
    below = Below(curve, m, target)
    point = curve.points[target]
    sign = curve.sign
    sd_item = curve.pooled_sd()
    spread = _spread(curve, m) if curve.binary else 1.0
    bands: list[RouteBand] = []
    skipped: dict[str, str] = {}
    for route in ROUTES:
        rng = rng_for(seed, "forecast", *curve.key, m, ahead, route)
        try:
            if route == "metric":
                means = metric_route(below, rng)
            elif route == "per-token":
                means = token_route(below, dict(token_curves), answer_tokens, rng, choices)
            else:
                means = loss_route(below, rng)
        except RouteSkipped as why:
            skipped[route] = str(why)
            continue
        if draws_observed(curve, route):
            observed = sign * means
        else:
            observed = observe(sign * means, point.n, curve.binary, sd_item, rng, spread)
        lo, med, hi = band(observed, level)
        bands.append(RouteBand(route, lo, med, hi, bool(lo <= point.mean <= hi)))
    return Backtest(
        fitted=[p.rung for p in curve.points[:m]],
        target=point.rung,
        params=int(point.params),
        ahead=ahead,
        observed=float(point.mean),
        bands=bands,
        skipped=skipped,
    )


def _spread(curve: Curve, m: int) -> float:
    """The items' heterogeneity factor from the two highest fitted rungs (paired by item)."""
    a = dict(zip(curve.item_ids[m - 2], curve.samples[m - 2], strict=True))
    b = dict(zip(curve.item_ids[m - 1], curve.samples[m - 1], strict=True))
    common = sorted(set(a) & set(b))
    return heterogeneity(np.array([a[i] for i in common]), np.array([b[i] for i in common]))


def _focus(curve: Curve, tests: Sequence[Backtest]) -> Backtest | None:
    """The one-ahead backtest whose target rose most from the rung before it."""
    ones = [b for b in tests if b.ahead == 1]
    if not ones:
        return None
    y = curve.oriented_means()
    index = {p.rung: i for i, p in enumerate(curve.points)}
    return max(ones, key=lambda b: (y[index[b.target]] - y[index[b.target] - 1], -index[b.target]))


def summary_line(curve: Curve, focus: Backtest | None, level: float = LEVEL) -> str:
    """ "predictable from the smaller rungs by ..." or "not predictable by any route (...)"."""
    pct = f"{round(level * 100)}%"
    if focus is None:
        return f"too few rungs to forecast (a rung needs {MIN_BELOW} below it)"
    if not focus.bands:
        why = "; ".join(f"{r}: {w}" for r, w in focus.skipped.items())
        return f"no forecast ({why})"
    where = f"at {focus.target} from {focus.fitted[0]}..{focus.fitted[-1]}"
    obs = _fmt(focus.observed)
    if focus.covered_by:
        routes = ", ".join(ROUTE_TEXT[r] for r in focus.covered_by)
        first = focus.band(focus.covered_by[0])
        assert first is not None
        return (
            f"predictable from the smaller rungs by {routes} (observed {obs} {where} inside "
            f"the {pct} band [{_fmt(first.low)}, {_fmt(first.high)}])"
        )
    sign = curve.sign
    better = [sign * focus.observed > max(sign * b.low, sign * b.high) for b in focus.bands]
    if all(better):
        edge = max(focus.bands, key=lambda b: max(sign * b.low, sign * b.high))
        bound = edge.high if sign > 0 else edge.low
        return (
            f"not predictable by any route (observed {obs} {where}, "
            f"{_fmt(abs(focus.observed - bound))} beyond the {pct} band: best bound "
            f"{_fmt(bound)} by {ROUTE_TEXT[edge.route]})"
        )
    if not any(better):
        return (
            f"not predictable by any route (observed {obs} {where}, worse than every route's "
            f"{pct} band)"
        )
    return f"not predictable by any route (observed {obs} {where}, outside every {pct} band)"


def forecast_curve(
    curve: Curve,
    *,
    token_curves: Mapping[str, Curve] | None = None,
    answer_tokens: float | None = None,
    seed: int = 0,
    level: float = LEVEL,
    verdict: Any = None,
    known_rungs: Sequence[tuple[str, str, int]] = (),
    choices: Mapping[str, Mapping[str, ChoiceScores]] | None = None,
) -> CurveForecast:
    """Every backtest of ``curve`` (``m >= 3`` rungs fitted, 1 and 2 rungs ahead) and its line.

    ``token_curves`` are the task setting's per-token curves (:data:`TOKEN_METRICS`);
    ``verdict`` (the curve's :class:`~emergetui.analysis.emergence.Verdict`, if judged)
    and ``known_rungs`` (``(ladder, label, params)``) feed the rung recommender;
    ``choices`` (rung -> item -> :class:`ChoiceScores`) the multiple-choice continuous route.
    """
    tests: list[Backtest] = []
    for m in range(MIN_BELOW, len(curve.points)):
        for ahead in (1, 2):
            if m - 1 + ahead < len(curve.points):
                tests.append(
                    backtest(
                        curve,
                        m,
                        ahead,
                        token_curves=token_curves or {},
                        answer_tokens=answer_tokens,
                        seed=seed,
                        level=level,
                        choices=choices,
                    )
                )
    focus = _focus(curve, tests)
    return CurveForecast(
        task=curve.task,
        setting=curve.setting,
        metric=curve.metric,
        higher_is_better=curve.higher_is_better,
        level=level,
        backtests=tests,
        focus=focus,
        line=summary_line(curve, focus, level),
        recommendation=recommend(curve, verdict, focus, known_rungs),
    )


def headline_curves(curves: Sequence[Curve]) -> list[Curve]:
    """One per-item curve per task setting: the first of :data:`HEADLINE_ORDER` it has."""
    groups: dict[tuple[str, str], dict[str, Curve]] = {}
    for c in curves:
        if not c.corpus and c.points:
            groups.setdefault((c.task, c.setting), {})[c.metric] = c
    out = []
    for key in sorted(groups):
        found = next((groups[key][m] for m in HEADLINE_ORDER if m in groups[key]), None)
        if found is not None:
            out.append(found)
    return out


def forecast_curves(
    curves: Sequence[Curve],
    answer_tokens: Mapping[tuple[str, str], float] | None = None,
    *,
    verdicts: Mapping[CurveKey, Any] | None = None,
    seed: int = 0,
    level: float = LEVEL,
    known_rungs: Sequence[tuple[str, str, int]] = (),
    rows: Iterable[Any] = (),
) -> list[CurveForecast]:
    """The forecast of every task setting's headline curve; ``rows`` (the stored item rows)
    give multiple-choice curves their per-choice log-probabilities."""
    out = []
    heads = headline_curves(curves)
    table = choice_scores(rows, {(c.task, c.setting): c.metric == "mc_grade_norm" for c in heads})
    for c in heads:
        tokens = {
            x.metric: x
            for x in curves
            if (x.task, x.setting) == (c.task, c.setting) and x.metric in TOKEN_METRICS
        }
        out.append(
            forecast_curve(
                c,
                token_curves=tokens,
                answer_tokens=(answer_tokens or {}).get((c.task, c.setting)),
                seed=seed,
                level=level,
                verdict=(verdicts or {}).get(c.key),
                known_rungs=known_rungs,
                choices=table.get((c.task, c.setting)),
            )
        )
    return out
