"""Every formula on hand-made inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emergetui.analysis.bootstrap import (
    diff_ci,
    holm,
    item_weights,
    mean_ci,
    percentile_interval,
    resample_means,
    rng_for,
    wilson_interval,
)
from emergetui.analysis.data import RungInfo, chance_from_records, metric_kind
from emergetui.analysis.emergence import breakthroughness, linear_fit, linearity, signed_range
from emergetui.analysis.icl import setting_family
from emergetui.analysis.loss_ability import spearman
from emergetui.analysis.shape import SPAN_PER_SCALE, fit_profile, logistic


def test_signed_range_sign_follows_argmax_after_argmin() -> None:
    assert signed_range(np.array([0.0, 2.0, 1.0])) == 2.0
    assert signed_range(np.array([3.0, 2.0, 1.0, 0.0])) == -3.0
    assert math.isnan(signed_range(np.array([1.0])))


def test_breakthroughness_and_linearity_equal_steps() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert breakthroughness(y) == pytest.approx(3.0)
    assert linearity(y) == pytest.approx(3.0)


def test_breakthroughness_rewards_one_big_step_linearity_penalises_it() -> None:
    y = np.array([0.0, 0.1, 0.2, 1.0, 1.1])
    # steps .1 .1 .8 .1: median of squares .01, mean of squares .1675
    assert breakthroughness(y) == pytest.approx(1.1 / 0.1)
    assert linearity(y) == pytest.approx(1.1 / math.sqrt(0.1675))


def test_scores_of_decline_constant_and_nonmonotone_curves() -> None:
    assert breakthroughness(np.array([3.0, 2.0, 1.0, 0.0])) == pytest.approx(-3.0)
    assert linearity(np.array([3.0, 2.0, 1.0, 0.0])) == pytest.approx(-3.0)
    assert breakthroughness(np.zeros(5)) == 0.0
    assert linearity(np.zeros(5)) == 0.0
    y = np.array([0.0, 2.0, 1.0])  # steps 2, -1: median and mean of squares 2.5
    assert breakthroughness(y) == pytest.approx(2.0 / math.sqrt(2.5))
    assert linearity(y) == pytest.approx(2.0 / math.sqrt(2.5))


def test_zero_denominator_is_guarded() -> None:
    step = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    assert breakthroughness(step) == math.inf
    assert linearity(step) == pytest.approx(1.0 / math.sqrt(1 / 5))
    assert math.isnan(breakthroughness(np.array([0.5])))


def test_linear_fit_and_largest_step() -> None:
    x = np.array([7.0, 7.5, 8.0, 8.5])
    slope, r2 = linear_fit(x, 2 * x + 1)
    assert slope == pytest.approx(2.0)
    assert r2 == pytest.approx(1.0)
    assert linear_fit(x, np.ones(4))[1] == 0.0


def test_rng_for_is_stable_and_keyed() -> None:
    a = rng_for(7, "task", "m").random(3)
    b = rng_for(7, "task", "m").random(3)
    c = rng_for(7, "task", "other").random(3)
    d = rng_for(8, "task", "m").random(3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)


def test_percentile_interval_known_answer() -> None:
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
    lo, hi = percentile_interval(np.array([np.nan, np.nan]))
    assert math.isnan(lo) and math.isnan(hi)


def test_mean_ci_reproducible_and_sized_like_the_normal_approximation() -> None:
    values = np.array([1.0] * 200 + [0.0] * 200)
    first = mean_ci(values, rng_for(0, "x"), n_boot=2000)
    again = mean_ci(values, rng_for(0, "x"), n_boot=2000)
    assert first == again
    mean, lo, hi = first
    assert mean == 0.5
    assert lo < mean < hi
    # normal approximation: 2 * 1.96 * sqrt(.25 / 400) = 0.098
    assert hi - lo == pytest.approx(0.098, abs=0.015)
    assert mean_ci(np.full(10, 0.3), rng_for(0, "y")) == (pytest.approx(0.3),) * 3


def test_resample_means_blocks_match_shape() -> None:
    out = resample_means(np.arange(10.0), 600, rng_for(1, "b"))
    assert out.shape == (600,)
    assert np.all((out >= 0) & (out <= 9))


def test_paired_difference_is_tighter_for_shared_item_difficulty() -> None:
    gen = np.random.default_rng(3)
    difficulty = gen.normal(0, 1, 300)
    a = difficulty + 0.2 + gen.normal(0, 0.1, 300)
    b = difficulty + gen.normal(0, 0.1, 300)
    d, lo_p, hi_p = diff_ci(a, b, rng_for(0, "p"), paired=True, n_boot=500)
    _, lo_u, hi_u = diff_ci(a, b, rng_for(0, "u"), paired=False, n_boot=500)
    assert d == pytest.approx(float(a.mean() - b.mean()))
    assert lo_p > 0
    assert hi_p - lo_p < (hi_u - lo_u) / 3


def test_profile_recovers_a_known_logistic_and_brackets_its_width() -> None:
    x = np.linspace(7.0, 10.0, 13)
    y = logistic(x, 0.25, 0.9, 8.5, 0.2)
    cov = np.eye(x.size) * 0.01**2
    prof = fit_profile(x, y, cov, (0.0, 1.0))
    i = prof.best
    assert prof.floor[i] == pytest.approx(0.25, abs=0.01)
    assert prof.ceiling[i] == pytest.approx(0.9, abs=0.01)
    assert prof.midpoint[i] == pytest.approx(8.5, abs=0.03)
    assert prof.scale[i] == pytest.approx(0.2, rel=0.07)
    ok = prof.accepted()
    assert prof.span[ok].min() <= SPAN_PER_SCALE * 0.2 <= prof.span[ok].max()


def test_profile_respects_bounds_and_rising_shape() -> None:
    x = np.array([7.0, 8.0, 9.0, 10.0])
    falling = np.array([0.9, 0.7, 0.5, 0.3])
    prof = fit_profile(x, falling, np.eye(4) * 1e-4, (0.0, 1.0))
    assert np.all(prof.ceiling >= prof.floor - 1e-12)
    assert prof.floor[prof.best] == pytest.approx(prof.ceiling[prof.best])  # a flat line
    steep = np.array([0.0, 0.0, 1.0, 1.0])
    prof = fit_profile(x, steep, np.eye(4) * 1e-4, (0.0, 1.0))
    assert np.all((prof.floor >= 0.0) & (prof.ceiling <= 1.0))


def _wilson_closed_form(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) as textbooks write it (statsmodels' proportion_confint(method="wilson"))."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("k", "n"), [(1, 100), (50, 100), (3, 7), (99, 100), (1, 2)])
def test_wilson_is_the_textbook_interval_inside(k: int, n: int) -> None:
    assert wilson_interval(k, n) == pytest.approx(_wilson_closed_form(k, n), abs=1e-12)


def test_wilson_edges_are_exact_and_never_collapse() -> None:
    # 0 and n hits: the bound at the edge is exactly 0 or 1 (the closed form misses it by a
    # rounding error), the other bound still away from it
    for n in (1, 2, 7, 100, 10_000):
        lo, hi = wilson_interval(0, n)
        assert lo == 0.0 and hi == pytest.approx(_wilson_closed_form(0, n)[1], abs=1e-12)
        assert hi > 0.0
        lo, hi = wilson_interval(n, n)
        assert hi == 1.0 and lo == pytest.approx(_wilson_closed_form(n, n)[0], abs=1e-12)
        assert lo < 1.0
    # a mean times n (a float a hair off the count) is the count
    assert wilson_interval(0.3 * 10, 10) == wilson_interval(3, 10)
    assert wilson_interval(1e-15, 10)[0] == 0.0
    # no trials: no interval
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    # a wider level, a wider interval
    lo95, hi95 = wilson_interval(5, 20)
    lo99, hi99 = wilson_interval(5, 20, level=0.99)
    assert lo99 < lo95 and hi99 > hi95


def test_wilson_never_collapses_and_holm_steps_down() -> None:
    lo, hi = wilson_interval(0, 100)
    assert lo == 0.0 and 0.03 < hi < 0.04
    lo, hi = wilson_interval(100, 100)
    assert 0.96 < lo < 0.97 and hi == 1.0
    assert holm(np.array([0.01, 0.04, 0.03]), 0.05).tolist() == [True, False, False]
    assert holm(np.array([0.001, 0.02, 0.04]), 0.05).tolist() == [True, True, True]


def test_item_weights_resample_every_item_id_once_per_replicate() -> None:
    w = item_weights(50, 300, rng_for(0, "w"))
    assert w.shape == (300, 50)
    assert np.all(w.sum(axis=1) == 50)
    assert np.array_equal(w, item_weights(50, 300, rng_for(0, "w")))


def test_spearman() -> None:
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1)
    assert spearman(np.array([1.0, 2.0]), np.array([2.0, 1.0])) is None
    assert spearman(np.array([1.0, 2.0, 3.0]), np.ones(3)) is None


@pytest.mark.parametrize(
    ("setting", "family"),
    [
        ("shots=0", "default"),
        ("shots=5", "default"),
        ("shots=3,cot", "cot"),
        ("cot, shots=3", "cot"),
        ("3-shot", "default"),
        ("k=2;template=b", "template=b"),
        ("plain", "plain"),
    ],
)
def test_setting_family(setting: str, family: str) -> None:
    assert setting_family(setting) == family


def test_metric_kinds_and_item_chance() -> None:
    assert metric_kind("token_edit_distance").higher_is_better is False
    assert metric_kind("exact_match").discrete is True
    assert metric_kind("logprob_correct").discrete is False
    assert metric_kind("some_new_error_rate").higher_is_better is False

    class Item:
        def __init__(self, scores: list[float]) -> None:
            self.choices = [str(i) for i in range(len(scores))]
            self.target_scores = scores
            self.targets: list[str] = []

    items = [Item([1, 0, 0, 0]), Item([1, 0])]
    assert chance_from_records(items, "multiple_choice_grade") == pytest.approx((0.25 + 0.5) / 2)
    assert chance_from_records(items, "logprob_correct") is None


def test_rung_heldout_loss() -> None:
    assert RungInfo("a", 10, {"loss": 2.5}).heldout_loss == 2.5
    assert RungInfo("a", 10, None).heldout_loss is None
    assert RungInfo("a", 10, {"loss": float("nan")}).heldout_loss is None


def test_a_continuous_score_that_is_zero_everywhere_is_not_read_as_pass_fail() -> None:
    """ROUGE (0-100) at 0 on every item of a rung gets its bootstrap interval, not a Wilson one
    on [0, 1]; exact match at 0 still gets a Wilson interval that does not collapse."""
    from analysis_synth import ladder, records

    from emergetui.analysis.curves import build_curves

    rungs = ladder(3)

    def metrics(i: int, j: int) -> dict[str, float]:
        hit = float(i == 2 and j % 2 == 0)
        return {"rouge1": 40.0 * hit, "exact_match": hit}

    built, _ = build_curves(records("t", "s", rungs, metrics, 40), rungs)
    curves = {c.metric: c for c in built}
    zero_rouge, zero_em = curves["rouge1"].points[0], curves["exact_match"].points[0]
    assert (zero_rouge.ci_low, zero_rouge.ci_high) == (0.0, 0.0)
    assert zero_em.ci_low == 0.0 and 0.0 < zero_em.ci_high < 0.15
    assert curves["rouge1"].points[2].ci_high > 1.0  # on ROUGE's own 0-100 scale
