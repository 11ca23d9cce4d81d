"""The continuous route for multiple choice: the choices' log-probabilities, then the argmax.

A multiple-choice grade is the argmax of the softmax over the choices' summed
log-probabilities, a step function of each item's *margin* (the right choice's
score minus the best distractor's). The scores themselves move smoothly with
size, the right answer's up and the distractors' too (a larger model is surer of
every fluent continuation), so both are fitted, each as a line in log params
over the rungs below, and every item's margin at the highest fitted rung is
moved by the forecast change of (right - distractors). Items do not all move
alike: the spread of their margin changes between the fitted rungs (a random
walk per decade) becomes a normal scatter, so an item's chance of being right at
the held-out rung is ``Phi(margin / scatter)`` and the forecast grade is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr  # norm.cdf without importing scipy.stats (~0.5 s)

from emergetui.analysis.bootstrap import item_weights
from emergetui.analysis.forecast_fit import BEND_PER_DECADE, bend, fit_line

#: the bend of the choices' score lines (relative, as for the per-token route)
TOKEN_BEND = BEND_PER_DECADE

#: the smallest per-decade scatter of item margins (nats): a margin of exactly 0 is a coin toss
MIN_SCATTER = 0.05


@dataclass
class ChoiceScores:
    """One item at one rung: the right choice's score and every distractor's."""

    correct: float
    distractors: np.ndarray

    @property
    def margin(self) -> float:
        return self.correct - float(self.distractors.max())


#: (task, setting) -> rung -> item id -> scores
ChoiceTable = dict[tuple[str, str], dict[str, dict[str, ChoiceScores]]]


def choice_scores(rows: Iterable[object], normalise: Mapping[tuple[str, str], bool]) -> ChoiceTable:
    """Summed log-probability per choice of every multiple-choice row (divided by the choice's
    length in characters where ``normalise`` says the headline is ``mc_grade_norm``)."""
    out: ChoiceTable = {}
    for r in rows:
        raw = getattr(r, "raw", None)
        choices = getattr(r, "choices", None) or []
        scores = list(getattr(r, "target_scores", None) or [])
        lps = getattr(raw, "choice_logprobs", None) or []
        if getattr(r, "error", None) or not choices or len(lps) != len(choices):
            continue
        if len(scores) != len(choices) or max(scores) <= 0 or min(scores) == max(scores):
            continue
        key = (r.task, r.setting)  # type: ignore[attr-defined]
        sums = np.array([math.fsum(x) for x in lps], dtype=float)
        if normalise.get(key):
            sums = sums / np.array([max(len(c), 1) for c in choices], dtype=float)
        best = max(scores)
        right = [i for i, s in enumerate(scores) if s == best]
        wrong = [i for i, s in enumerate(scores) if s != best]
        out.setdefault(key, {}).setdefault(r.rung, {})[r.item_id] = ChoiceScores(  # type: ignore[attr-defined]
            float(sums[right].max()), sums[wrong]
        )
    return out


def mc_route(
    by_rung: Mapping[str, Mapping[str, ChoiceScores]],
    labels: list[str],
    x: np.ndarray,
    x_new: float,
    rng: np.random.Generator,
    n_boot: int,
) -> np.ndarray:
    """Replicate draws of the grade *observed* at ``x_new`` on these items, from the fitted
    rungs ``labels`` (at ``x``): the forecast chance of each item, and its own noise."""
    if any(label not in by_rung for label in labels):
        raise ValueError("choice scores missing on a fitted rung")
    ids = sorted(set.intersection(*(set(by_rung[label]) for label in labels)))
    if len(ids) < 2:
        raise ValueError("too few items with choice scores on every fitted rung")
    right = np.array([[by_rung[label][i].correct for label in labels] for i in ids])
    wrong = np.array(
        [[float(by_rung[label][i].distractors.mean()) for label in labels] for i in ids]
    )
    margin = np.array([[by_rung[label][i].margin for label in labels] for i in ids])
    w = item_weights(len(ids), n_boot, rng)
    n = float(len(ids))
    distance = x_new - float(x[-1])
    shifts = []
    for table in (right, wrong):
        fit = fit_line(x, table.mean(axis=0), (w @ table) / n, np.zeros(x.size))
        change = fit.at(x_new) - fit.at(float(x[-1]))
        per = TOKEN_BEND * float(np.std(table.mean(axis=0))) / max(float(np.ptp(x)), 1e-9)
        shifts.append(bend(change, distance, rng, per))
    delta = shifts[0] - shifts[1]
    steps = np.diff(margin, axis=1)
    per_decade = np.var(steps, axis=0) / np.maximum(np.diff(x), 1e-9)
    scatter = math.sqrt(max(float(per_decade.mean()) * max(distance, 0.0), MIN_SCATTER**2))
    top = margin[:, -1]
    prob = ndtr((top[None, :] + delta[:, None]) / scatter)
    # the observed grade of these items: each right with its own chance (Poisson binomial),
    # tighter than a binomial at the mean chance when the items differ
    spread = np.sqrt((prob * (1.0 - prob)).sum(axis=1)) / n
    return np.asarray(prob.mean(axis=1) + rng.normal(0.0, 1.0, size=spread.shape) * spread)
