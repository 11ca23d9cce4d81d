"""Verdicts on synthetic step, linear, flat and noisy curves."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import FAST, accuracy_rows, ladder, records

from emergetui.analysis import analyze, make_curve, verdict, verdict_rule_text
from emergetui.analysis.emergence import VerdictParams


def _verdict(rows, rungs, metric="multiple_choice_grade", chance=None):
    analysis = analyze(rows, rungs, seed=0, chance=chance, config=FAST)
    (scores,) = [s for s in analysis.scores if s.metric == metric]
    return scores, analysis


def test_step_curve_is_emergent_with_the_jump_located() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "shots=0", rungs, [0.25, 0.25, 0.25, 0.25, 0.85, 0.9], 200)
    scores, analysis = _verdict(rows, rungs)
    v = scores.verdict
    assert v.label == "emergent", v.reason
    assert v.baseline == pytest.approx(0.25)  # chance from 4 choices, one correct
    assert v.plateau_end == 3
    assert v.jump_at == 3
    assert v.separated_at == 4
    assert scores.breakthroughness > 10
    fit = scores.sigmoid
    assert fit is not None and fit.lower_fixed
    x3, x4 = np.log10(rungs[3].params), np.log10(rungs[4].params)
    assert x3 <= fit.midpoint <= x4
    assert fit.midpoint_ci is not None
    assert x3 - 0.1 <= fit.midpoint_ci[0] <= fit.midpoint_ci[1] <= x4 + 0.1
    assert 0.0 <= fit.fail_fraction <= 1.0


def test_linear_curve_is_smooth() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25 + 0.1 * i for i in range(6)], 200)
    scores, _ = _verdict(rows, rungs)
    assert scores.verdict.label == "smooth", scores.verdict.reason
    assert scores.verdict.r2 == pytest.approx(1.0)
    assert scores.linearity == pytest.approx(5.0)
    assert scores.breakthroughness == pytest.approx(5.0)


def test_flat_curve_is_flat_and_gets_no_sigmoid() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25] * 6, 100)
    scores, _ = _verdict(rows, rungs)
    assert scores.verdict.label == "flat"
    assert scores.sigmoid is None


def test_noise_around_chance_is_never_emergent_or_smooth() -> None:
    """Binomial noise at chance: mostly flat; a lucky rung gives inconclusive, never more."""
    rungs = ladder()
    labels = []
    for seed in range(10):
        gen = np.random.default_rng(seed)
        rows = accuracy_rows("t", "s", rungs, [0.25] * 6, 60, rng=gen)
        labels.append(_verdict(rows, rungs)[0].verdict.label)
    assert set(labels) <= {"flat", "inconclusive"}
    assert labels.count("flat") >= 7


def test_zigzag_above_chance_is_inconclusive() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.6, 0.35, 0.7, 0.4, 0.65, 0.45], 40)
    scores, _ = _verdict(rows, rungs)
    assert scores.verdict.label == "inconclusive", scores.verdict.reason


def test_jump_with_overlapping_cis_is_not_emergent() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25, 0.25, 0.25, 0.5, 0.55, 0.6], 12)
    scores, _ = _verdict(rows, rungs)
    assert scores.verdict.label != "emergent"


def test_plateau_must_be_observed_on_two_rungs() -> None:
    rungs = ladder(4)
    rows = accuracy_rows("t", "s", rungs, [0.25, 0.9, 0.92, 0.93], 200)
    scores, _ = _verdict(rows, rungs)
    assert scores.verdict.label == "inconclusive"
    assert scores.verdict.plateau_end == 0


def test_two_rungs_cannot_be_judged_unless_flat() -> None:
    rungs = ladder(2)
    assert _verdict(accuracy_rows("t", "s", rungs, [0.25, 0.9], 100), rungs)[0].verdict.label == (
        "inconclusive"
    )
    assert _verdict(accuracy_rows("t", "s", rungs, [0.25, 0.25], 100), rungs)[0].verdict.label == (
        "flat"
    )


def test_lower_is_better_metric_is_oriented() -> None:
    """An edit distance that drops sharply is emergent, one that grows is not."""
    rungs = ladder()
    level = [10.0, 10.0, 10.0, 2.0, 1.5, 1.0]
    rows = records(
        "t",
        "s",
        rungs,
        lambda i, j: {"token_edit_distance": level[i] + (j % 5 - 2) * 0.5},
        100,
    )
    scores, _ = _verdict(rows, rungs, metric="token_edit_distance")
    assert scores.verdict.label == "emergent", scores.verdict.reason
    assert scores.breakthroughness > 0

    worse = records(
        "t",
        "s",
        rungs,
        lambda i, j: {"token_edit_distance": 2.0 + i + (j % 5 - 2) * 0.5},
        100,
    )
    scores, _ = _verdict(worse, rungs, metric="token_edit_distance")
    assert scores.verdict.label == "flat"  # never better than the smallest rung


def test_explicit_chance_overrides_item_chance() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.5, 0.5, 0.5, 0.5, 0.9, 0.95], 200)
    # with 4 choices chance is 0.25 and every rung is above it
    assert _verdict(rows, rungs)[0].verdict.label != "emergent"
    # a task whose guesser already gets 0.5 (say, a biased 2-way task)
    chance = {("t", "s", "multiple_choice_grade"): 0.5}
    assert _verdict(rows, rungs, chance=chance)[0].verdict.label == "emergent"


def test_verdict_params_change_the_rule_and_its_text() -> None:
    rungs = ladder()
    probs = [0.25, 0.25, 0.25, 0.45, 0.65, 0.85]  # plateau, then a rise over 3 steps
    curve = make_curve(
        "t",
        "s",
        "multiple_choice_grade",
        rungs,
        [[1.0] * round(p * 200) + [0.0] * (200 - round(p * 200)) for p in probs],
        chance=0.25,
        n_boot=300,
    )
    assert verdict(curve).label != "emergent"  # largest step is 1/3 of the rise
    loose = VerdictParams(jump_share=0.3)
    assert verdict(curve, loose).label == "emergent"
    text = verdict_rule_text(VerdictParams(smooth_r2=0.99, jump_share=0.3))
    assert "R^2 >= 0.99" in text
    assert "30%" in text
    for label in ("flat", "emergent", "smooth", "inconclusive"):
        assert f"{label}:" in text
    assert all(len(line) <= 79 for line in text.splitlines())
