"""Verdicts on synthetic curves; every example of issue 15's review is a regression test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from analysis_synth import FAST, accuracy_rows, ladder, records, rungs_at, shared_binary

from emergetui.analysis import analyze, make_curve, verdict, verdict_rule_text
from emergetui.analysis.emergence import LABELS, VerdictParams

DECADES = [8.0, 9.0, 10.0, 11.0, 12.0]


def _curve(probs, n, xs=DECADES, chance=0.0, seed=0, metric="exact_match"):
    vals = shared_binary(probs, n, seed)
    return make_curve("t", "s", metric, rungs_at(xs), vals, chance=chance, seed=seed)


def _sigmoid(xs, mid, scale):
    return 1.0 / (1.0 + np.exp(-(np.asarray(xs) - mid) / scale))


def test_paired_jump_detects_a_small_real_step() -> None:
    """0.27 -> 0.37 on the same 200 items: the shared bootstrap sees it almost always
    (independent CIs overlapping saw it 7% of the time)."""
    hits = 0
    for seed in range(20):
        c = _curve(
            [0.27, 0.27, 0.27, 0.37, 0.37, 0.37],
            200,
            xs=[8, 8.5, 9, 9.5, 10, 10.5],
            chance=0.25,
            seed=seed,
            metric="multiple_choice_grade",
        )
        boot = c.oriented_boot()
        hits += float(np.quantile(boot[:, 3] - boot[:, 2], 0.025)) > 0
    assert hits >= 18


def test_zero_hits_is_not_exactly_zero_and_one_late_rung_is_not_emergence() -> None:
    c = _curve([0, 0, 0, 0, 0.05], 100)
    assert c.points[0].ci_high > 0.03  # Wilson: 0/100 means "below about 4%"
    v = verdict(c)
    assert v.label == "inconclusive", v.reason
    assert "not resolved" in v.reason


def test_infinite_breakthroughness_is_reported_as_inf() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25] * 4 + [0.9, 0.9], 200)
    doc = json.loads(analyze(rows, rungs, seed=0, config=FAST).to_json())
    (entry,) = [e for e in doc["emergence"] if e["metric"] == "multiple_choice_grade"]
    assert entry["breakthroughness"] == "inf"
    assert entry["verdict"] == "emergent"


@pytest.mark.parametrize("n", [200, 1000])
def test_same_sigmoid_never_emergent_beside_smooth_wherever_the_rungs_sit(n: int) -> None:
    """Width 1.76 decades (10-90%), rungs 1e8..1e12: midpoint 10^10.0 puts one rung half way
    up (partly resolved), 10^10.5 two rungs inside the rise (resolved). Where the rungs sit
    may move the call between ``inconclusive`` and ``smooth``, never to ``emergent``: a rung
    lies inside the rise either way."""
    for seed in range(4):
        a = verdict(_curve(_sigmoid(DECADES, 10.0, 0.4), n, seed=seed))
        b = verdict(_curve(_sigmoid(DECADES, 10.5, 0.4), n, seed=seed))
        assert "emergent" not in {a.label, b.label}, (a.reason, b.reason)
        assert a.label == "inconclusive", a.reason
        if n >= 1000:
            assert b.label == "smooth", b.reason


def test_adding_a_rung_to_a_gradual_rise_does_not_make_it_emergent() -> None:
    five = verdict(_curve([0, 0, 0.03, 0.32, 0.63], 100))
    six = verdict(_curve([0, 0, 0.03, 0.32, 0.63, 0.87], 100, xs=[*DECADES, 13.0]))
    assert five.label != "emergent", five.reason
    assert six.label in ("smooth", "inconclusive"), six.reason


@pytest.mark.parametrize("probs", [[0.25, 0.25, 0.80, 0.27, 0.26], [0.25, 0.25, 0.6, 0.3, 0.7]])
def test_a_curve_that_falls_back_is_non_monotone(probs) -> None:
    v = verdict(_curve(probs, 200, chance=0.25, metric="multiple_choice_grade"))
    assert v.label == "non-monotone", v.reason
    assert v.fall is not None and v.fall.ci_high < 0


def test_pure_chance_curves_are_flat_with_holm() -> None:
    """8 rungs of n = 100 at chance: non-flat at most ~5% of the time (was 11-22%)."""
    rng = np.random.default_rng(7)
    xs = [7 + 0.5 * i for i in range(8)]
    not_flat = 0
    for seed in range(60):
        vals = [(rng.random(100) < 0.25).astype(float) for _ in xs]
        c = make_curve(
            "t", "s", "multiple_choice_grade", rungs_at(xs), vals, chance=0.25, seed=seed
        )
        not_flat += verdict(c).label != "flat"
    assert not_flat <= 6


def test_sharp_step_is_emergent_with_its_evidence() -> None:
    xs = [7, 7.5, 8, 8.5, 9, 9.5]
    c = _curve(
        [0.25, 0.25, 0.25, 0.25, 0.9, 0.9], 200, xs=xs, chance=0.25, metric="multiple_choice_grade"
    )
    v = verdict(c)
    assert v.label == "emergent", v.reason
    assert v.jump is not None and (v.jump.from_rung, v.jump.to_rung) == ("r3", "r4")
    assert v.jump.ci_low > 0.4
    t = v.transition
    assert t is not None and 8.5 <= t.midpoint <= 9.0
    assert t.gaps_ci[1] <= 2.0 and t.plateau >= 2
    assert "paired" in v.reason and "no rung inside the rise" in v.reason
    assert v.p_value is not None and v.p_value <= 0.05
    assert v.decide_log10 is not None and 8.5 < v.decide_log10 < 9.0  # in the jump's gap
    assert "a rung near 10^8." in v.reason


def test_linear_rise_is_smooth() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25 + 0.1 * i for i in range(6)], 200)
    (s,) = analyze(rows, rungs, seed=0, config=FAST).scores
    assert s.verdict.label == "smooth", s.verdict.reason
    assert s.linearity == pytest.approx(5.0)


def test_power_law_over_four_decades_is_smooth() -> None:
    """-N^-0.5, the continuous curve a straight-line R^2 test called not smooth (R^2 = 0.75)."""
    xs = np.arange(8.0, 12.5, 0.5)
    rng = np.random.default_rng(0)
    z = rng.normal(0, 0.05, 300)
    vals = [-(10 ** (-0.5 * (x - 8))) + z + rng.normal(0, 0.05, 300) for x in xs]
    c = make_curve("t", "s", "logprob_correct_mean", rungs_at(xs), vals)
    assert verdict(c).label == "smooth", verdict(c).reason


def test_flat_noise_and_sharp_rise_after_one_rung() -> None:
    assert (
        verdict(
            _curve(
                [0.25] * 6,
                200,
                xs=[7, 7.5, 8, 8.5, 9, 9.5],
                chance=0.25,
                metric="multiple_choice_grade",
            )
        ).label
        == "flat"
    )
    early = verdict(
        _curve(
            [0.25, 0.9, 0.92, 0.93],
            200,
            xs=[7, 8, 9, 10],
            chance=0.25,
            metric="multiple_choice_grade",
        )
    )
    assert early.label == "inconclusive" and "plateau" in early.reason


def test_two_rungs_cannot_be_judged_unless_flat() -> None:
    assert verdict(_curve([0.25, 0.9], 100, xs=[7, 8], chance=0.25)).label == "inconclusive"
    assert verdict(_curve([0.25, 0.25], 100, xs=[7, 8], chance=0.25)).label == "flat"


def test_lower_is_better_metric_is_oriented() -> None:
    rungs = ladder()
    level = [10.0, 10.0, 10.0, 2.0, 1.5, 1.0]
    rows = records(
        "t", "s", rungs, lambda i, j: {"token_edit_distance": level[i] + (j % 5 - 2) * 0.5}, 100
    )
    (s,) = analyze(rows, rungs, seed=0, config=FAST).scores
    assert s.verdict.label == "emergent", s.verdict.reason
    worse = records(
        "t", "s", rungs, lambda i, j: {"token_edit_distance": 2.0 + i + (j % 5 - 2) * 0.5}, 100
    )
    (s,) = analyze(worse, rungs, seed=0, config=FAST).scores
    assert s.verdict.label == "flat"  # never better than the smallest rung


def test_explicit_chance_overrides_item_chance() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.5, 0.5, 0.5, 0.5, 0.95, 0.95], 200)
    # a biased 2-way task whose guesser already gets 0.5: the jump is from chance
    chance = {("t", "s", "multiple_choice_grade"): 0.5}
    (s,) = analyze(rows, rungs, seed=0, chance=chance, config=FAST).scores
    assert s.verdict.label == "emergent"
    assert s.verdict.above[:4] == [False] * 4


def test_verdict_params_change_the_rule_and_its_text() -> None:
    """A raised plateau is a ``step``; how far above chance counts as raised is a knob."""
    c = _curve(
        [0.45, 0.45, 0.45, 0.9, 0.9, 0.9],
        200,
        xs=[7, 7.5, 8, 8.5, 9, 9.5],
        chance=0.25,
        metric="multiple_choice_grade",
    )
    assert verdict(c).label == "step", verdict(c).reason
    assert verdict(c, VerdictParams(raised_share=0.5)).label == "emergent"
    text = verdict_rule_text(VerdictParams(raised_share=0.3, alpha=0.01))
    assert "30% of the jump" in text and "0.01" in text
    for label in LABELS:
        assert f"{label}:" in text
    assert all(len(line) <= 79 for line in text.splitlines())


def _independent(probs, n, xs, seed):
    """Rung outcomes drawn afresh at every rung, item difficulty shared (as in the benchmark)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.2, n)
    vals = []
    for p in probs:
        pi = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) - z)))
        vals.append((rng.random(n) < pi).astype(float))
    return make_curve("t", "s", "multiple_choice_grade", rungs_at(xs), vals, chance=0.0, seed=seed)


def test_a_rise_from_the_first_rung_is_never_emergent() -> None:
    """[.2 .32 .45 .62 .63]: a rise from the first rungs: no plateau before it, so never
    emergent; smooth where the ladder resolves it, else inconclusive."""
    labels = [
        verdict(_independent([0.17, 0.27, 0.40, 0.62, 0.74], 200, [7, 7.9, 8.8, 9.9, 10.8], s))
        for s in range(8)
    ]
    assert all(x.label in ("smooth", "inconclusive") for x in labels), [x.reason for x in labels]
    assert any(x.label == "smooth" for x in labels)


def test_plateau_is_judged_over_the_shapes_the_data_allow() -> None:
    """A plateau rung a little above the floor (noise, or a sliver of the rise) does not
    decide the call: [.25 .29 .9 .9 .9] is emergent, 2 rungs before the jump."""
    for seed in range(3):
        c = _curve(
            [0.25, 0.29, 0.9, 0.9, 0.9],
            200,
            chance=0.25,
            seed=seed,
            metric="multiple_choice_grade",
        )
        v = verdict(c)
        assert v.label == "emergent", v.reason
        assert "2 rungs before it" in v.reason
    step = verdict(
        _curve([0.3, 0.8, 0.8, 0.8, 0.8], 200, chance=0.25, metric="multiple_choice_grade")
    )
    assert step.label == "inconclusive" and "only 1 rung" in step.reason


def test_a_power_law_that_fits_keeps_the_logistic_misfit_from_widening_the_range() -> None:
    """The chi-square inflation for a poor fit applies only when every family is rejected."""
    from emergetui.analysis.shape import lr_cut

    base = lr_cut(((1.0, 5),))
    assert lr_cut(((60.0, 4), (2.0, 5))) == pytest.approx(base)  # the power law fits
    assert lr_cut(((60.0, 4), (40.0, 5))) == pytest.approx(base * 8.0)  # both rejected
    assert lr_cut(((60.0, 2),)) == pytest.approx(base)  # too few degrees of freedom
