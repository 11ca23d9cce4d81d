"""The mirage test, loss-to-ability and in-context learning on synthetic outputs."""

from __future__ import annotations

import pytest
from analysis_synth import FAST, accuracy_rows, bernoulli, ladder, records

from emergetui.analysis import analyze

STEP = [0.0, 0.0, 0.0, 0.0, 0.8, 0.9]


def _generative(rungs, distance):
    """Exact match jumps at r3 -> r4; edit distance follows ``distance(rung, item)``."""
    table = [bernoulli(p, 150) for p in STEP]
    return records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": table[i][j],
            "token_edit_distance": distance(i, j),
        },
        150,
    )


def test_exact_match_jump_with_linear_edit_distance_is_a_mirage() -> None:
    rungs = ladder()
    rows = _generative(rungs, lambda i, j: 12.0 - 2.0 * i + (j % 7 - 3) * 0.8)
    analysis = analyze(rows, rungs, seed=0, config=FAST)
    em = analysis.scores_for(("gen", "shots=0", "exact_match"))
    ed = analysis.scores_for(("gen", "shots=0", "token_edit_distance"))
    assert em is not None and em.verdict.label == "emergent"
    assert ed is not None and ed.verdict.label == "smooth"
    result = analysis.mirage_for("gen", "shots=0")
    assert result is not None
    assert result.outcome == "mirage", result.reason
    assert result.discrete_metric == "exact_match"
    assert result.jump == ("r3", "r4")
    assert result.continuous == {"token_edit_distance": "smooth"}


def test_jump_in_both_metrics_survives() -> None:
    rungs = ladder()
    level = [12.0, 12.0, 11.8, 11.8, 3.0, 2.0]
    rows = _generative(rungs, lambda i, j: level[i] + (j % 7 - 3) * 0.8)
    result = analyze(rows, rungs, seed=0, config=FAST).mirage_for("gen", "shots=0")
    assert result is not None
    assert result.outcome == "survives", result.reason
    assert result.continuous["token_edit_distance"] == "jumps"


def test_mirage_is_na_without_emergence_or_continuous_metrics() -> None:
    rungs = ladder()
    smooth = accuracy_rows("a", "s", rungs, [0.25 + 0.1 * i for i in range(6)], 100)
    only_discrete = accuracy_rows("b", "s", rungs, [0.25] * 4 + [0.9, 0.95], 100)
    analysis = analyze(smooth + only_discrete, rungs, seed=0, config=FAST)
    a, b = analysis.mirage_for("a", "s"), analysis.mirage_for("b", "s")
    assert a is not None and a.outcome == "n/a"
    assert b is not None and b.outcome == "n/a"
    assert "continuous" in b.reason


def test_loss_threshold_and_smooth_loss_flag() -> None:
    rungs = ladder()  # loss 4.0, 3.7, 3.4, 3.1, 2.8, 2.5
    rows = accuracy_rows("t", "s", rungs, [0.25, 0.25, 0.25, 0.25, 0.85, 0.9], 200)
    rows += accuracy_rows("lin", "s", rungs, [0.25 + 0.1 * i for i in range(6)], 200)
    analysis = analyze(rows, rungs, seed=0, config=FAST)
    step = analysis.loss_for(("t", "s", "multiple_choice_grade"))
    assert step is not None
    assert step.threshold is not None
    assert 2.8 <= step.threshold <= 3.1  # between the last plateau rung and the jump
    assert step.threshold_ci is not None
    # a replicate where the last plateau rung looks lucky moves it one interval up
    assert 2.8 <= step.threshold_ci[0] <= step.threshold <= step.threshold_ci[1] <= 3.4
    assert step.loss_spearman == pytest.approx(-1.0)
    assert step.loss_smooth_ability_jumps is True
    linear = analysis.loss_for(("lin", "s", "multiple_choice_grade"))
    assert linear is not None
    assert linear.loss_smooth_ability_jumps is False


def test_no_heldout_loss_means_no_loss_view() -> None:
    rungs = ladder()
    for r in rungs:
        r.heldout = None
    rows = accuracy_rows("t", "s", rungs, [0.25] * 3 + [0.9] * 3, 50)
    assert analyze(rows, rungs, seed=0, config=FAST).loss_ability == []


def test_few_shot_beats_zero_shot_from_the_first_rung_where_cis_separate() -> None:
    rungs = ladder()
    zero = accuracy_rows("t", "shots=0", rungs, [0.25] * 6, 200)
    five = accuracy_rows("t", "shots=5", rungs, [0.25, 0.25, 0.25, 0.6, 0.8, 0.9], 200, shots=5)
    analysis = analyze(zero + five, rungs, seed=0, config=FAST)
    (icl,) = [r for r in analysis.icl if r.metric == "multiple_choice_grade"]
    assert icl.family == "default"
    assert icl.shots == [0, 5]
    assert icl.first_rung == "r3"
    assert icl.first_shots == 5
    first = next(c for c in icl.comparisons if c.rung == "r3")
    assert first.paired  # same item ids under both settings
    assert first.diff == pytest.approx(0.35)
    assert first.ci_low > 0
    assert not any(c.beats for c in icl.comparisons if c.rung in ("r0", "r1"))


def test_icl_needs_a_zero_shot_setting() -> None:
    rungs = ladder()
    rows = accuracy_rows("t", "shots=3", rungs, [0.3] * 6, 50, shots=3)
    rows += accuracy_rows("t", "shots=5", rungs, [0.4] * 6, 50, shots=5)
    assert analyze(rows, rungs, seed=0, config=FAST).icl == []
