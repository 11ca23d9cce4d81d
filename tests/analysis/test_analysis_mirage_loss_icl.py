"""The mirage test, loss-to-ability and in-context learning on synthetic outputs."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import FAST, accuracy_rows, bernoulli, ladder, records, rungs_at, shared_binary

from emergetui.analysis import analyze

STEP = [0.0, 0.0, 0.0, 0.0, 0.9, 0.9]


def _schaeffer(n: int = 300, alpha: float = 1.0, seed: int = 0):
    """Per-token loss a power law in N, 10-token answers, 5 rungs a decade apart:
    exact match = every token right; per-token log-probs and edit distance stored."""
    rng = np.random.default_rng(seed)
    xs = [8.0, 9.0, 10.0, 11.0, 12.0]
    rungs = rungs_at(xs)
    diff = rng.lognormal(0.0, 0.3, n)
    u = rng.random((n, 10))
    table = []
    for x in xs:
        loss = 3.0 * 10 ** (-alpha * (x - 8.0)) * diff
        logp = -loss[:, None] * rng.gamma(8.0, 1 / 8.0, (n, 10))
        right = u < np.exp(logp)
        table.append(
            {
                "exact_match": right.all(axis=1).astype(float),
                "prob_correct": np.exp(logp.sum(axis=1)),
                "logprob_correct_mean": logp.mean(axis=1),
                "token_edit_distance": (~right).sum(axis=1).astype(float),
            }
        )
    rows = records(
        "gen", "shots=0", rungs, lambda i, j: {k: float(v[j]) for k, v in table[i].items()}, n
    )
    return rows, rungs


def test_schaeffer_mirage_is_called_a_mirage_with_its_mechanism() -> None:
    rows, rungs = _schaeffer()
    analysis = analyze(rows, rungs, seed=0, config=FAST)
    em = analysis.scores_for(("gen", "shots=0", "exact_match"))
    assert em is not None and em.verdict.sudden, em.verdict.reason  # what a mirage test explains
    result = analysis.mirage_for("gen", "shots=0")
    assert result is not None
    assert result.outcome == "mirage", result.reason
    assert result.continuous["logprob_correct_mean"] == "smooth"
    assert "prob_correct" not in result.continuous  # p^L is nonlinear, not a witness
    # the mechanism: exact match predicted by mean p_token^L, beside the observed one
    assert result.observed is not None and result.predicted is not None
    assert np.allclose(result.observed, result.predicted, atol=0.1)
    assert "predicted from per-token probability" in (result.mechanism or "")


def test_jump_in_every_metric_survives() -> None:
    rungs = ladder()
    table = [bernoulli(p, 150) for p in STEP]
    level = [-3.0, -3.0, -3.0, -3.0, -0.5, -0.4]
    rows = records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": table[i][j],
            "logprob_correct_mean": level[i] + (j % 7 - 3) * 0.2,
        },
        150,
    )
    result = analyze(rows, rungs, seed=0, config=FAST).mirage_for("gen", "shots=0")
    assert result is not None
    assert result.outcome == "survives", result.reason
    assert result.continuous["logprob_correct_mean"] == "jumps"


def test_mirage_is_na_without_emergence_or_linear_metrics() -> None:
    rungs = ladder()
    smooth = accuracy_rows("a", "s", rungs, [0.25 + 0.1 * i for i in range(6)], 100)
    only_discrete = accuracy_rows("b", "s", rungs, [0.25] * 4 + [0.9, 0.95], 100)
    analysis = analyze(smooth + only_discrete, rungs, seed=0, config=FAST)
    a, b = analysis.mirage_for("a", "s"), analysis.mirage_for("b", "s")
    assert a is not None and a.outcome == "n/a"
    assert b is not None and b.outcome == "n/a"
    assert "linear" in b.reason


def _loss_rows(n: int, seed: int):
    """Ability a sharp logistic in held-out loss (midpoint 2.95 nats); one checkpoint per size."""
    losses = [4.0, 3.6, 3.3, 3.1, 2.9, 2.7, 2.5]
    rungs = rungs_at([7 + 0.5 * i for i in range(7)], losses)
    probs = [0.25 + 0.65 / (1 + np.exp((loss - 3.0) / 0.03)) for loss in losses]
    vals = shared_binary(probs, n, seed)
    rows = records(
        "t", "s", rungs, lambda i, j: {"multiple_choice_grade": float(vals[i][j])}, n, n_choices=4
    )
    return rows, rungs


def test_loss_threshold_is_a_model_property_not_an_item_count() -> None:
    thresholds = []
    for n in (100, 1000):
        rows, rungs = _loss_rows(n, seed=1)
        x = analyze(rows, rungs, seed=0, config=FAST).loss_for(("t", "s", "multiple_choice_grade"))
        assert x is not None and x.threshold is not None, x and x.threshold_note
        assert x.threshold_ci is not None
        assert x.threshold_ci[0] <= x.threshold <= x.threshold_ci[1]
        assert 2.9 <= x.threshold <= 3.1  # between the rungs where the ability appears
        assert x.confounded and "confounded" in x.threshold_note
        assert x.loss_smooth_ability_jumps
        thresholds.append(x.threshold)
    assert abs(thresholds[0] - thresholds[1]) < 0.1


def test_flat_ability_has_no_loss_threshold() -> None:
    rows, rungs = _loss_rows(100, seed=0)
    flat = accuracy_rows("f", "s", rungs, [0.25] * 7, 100)
    x = analyze(rows + flat, rungs, seed=0, config=FAST).loss_for(
        ("f", "s", "multiple_choice_grade")
    )
    assert x is not None and x.threshold is None and "flat" in x.threshold_note


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


def test_small_early_gain_then_the_same_jump_survives() -> None:
    """The toy ladder's pattern: per-token loss improves a little before the jump and then
    drops at the same gap as exact match: the transition survives the linear metric."""
    rungs = ladder()
    table = [bernoulli(p, 200) for p in STEP]
    level = [-2.2, -2.0, -1.9, -1.9, -0.2, -0.1]
    rows = records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": table[i][j],
            "logprob_correct_mean": level[i] + (j % 7 - 3) * 0.1,
        },
        200,
    )
    result = analyze(rows, rungs, seed=0, config=FAST).mirage_for("gen", "shots=0")
    assert result is not None
    assert result.outcome == "survives", result.reason


def test_a_few_items_flipping_one_way_are_not_in_context_learning() -> None:
    """4 of 200 items right with shots and wrong without, at one rung: a paired bootstrap CI
    sits above 0, but a fair coin does that 1 time in 16 (exact McNemar), and there are 6 rungs
    × 2 shot counts to look at (Holm): not a gain. A clear gain at the top rung still is."""
    rungs = ladder()

    def zero(i: int, j: int) -> dict[str, float]:
        return {"exact_match": float(j < 25)}

    def shots(i: int, j: int) -> dict[str, float]:
        right = j < 29 if i == 2 else (j < 150 if i == 5 else j < 25)
        return {"exact_match": float(right)}

    rows = records("t", "shots=0", rungs, zero, 200)
    rows += records("t", "shots=1", rungs, shots, 200, shots=1)
    rows += records("t", "shots=2", rungs, shots, 200, shots=2)
    (icl,) = analyze(rows, rungs, seed=0, config=FAST).icl
    flip = next(c for c in icl.comparisons if c.rung == "r2" and c.shots == 1)
    assert flip.paired and flip.diff == pytest.approx(0.02)
    assert flip.p_value == pytest.approx(1 / 16)
    assert not flip.beats
    assert icl.first_rung == "r5"
    assert [c.rung for c in icl.comparisons if c.beats] == ["r5", "r5"]


def test_the_mechanism_predicts_exact_match_from_per_token_accuracy() -> None:
    """Schaeffer et al.'s prediction a^L (per-token accuracy to the answer's length in tokens)
    beside the observed exact match: equal when tokens are independent draws."""
    from emergetui.tasks.records import ItemRaw

    rng = np.random.default_rng(1)
    rungs = rungs_at([8.0, 8.5, 9.0, 9.5, 10.0, 10.5])
    acc = [0.5, 0.7, 0.85, 0.95, 0.99, 1.0]
    right = [rng.random((400, 10)) < a for a in acc]
    rows = records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": float(right[i][j].all()),
            "token_accuracy": float(right[i][j].mean()),
            "logprob_correct_mean": float(np.log(acc[i] * 0.98 + 0.01)) + 0.01 * (j % 5),
            "prob_correct": float((acc[i] * 0.98 + 0.01) ** 10),
        },
        400,
    )
    for r in rows:
        r.raw = ItemRaw(target_tokens=[[7] * 10])
    result = analyze(rows, rungs, seed=0, config=FAST).mirage_for("gen", "shots=0")
    assert result is not None and result.answer_tokens == 10
    assert result.predicted_accuracy is not None and result.observed is not None
    assert np.allclose(result.predicted_accuracy, result.observed, atol=0.06)
    assert "predicted from per-token accuracy (a^L, L = 10 tokens)" in (result.mechanism or "")


def test_per_token_metrics_decide_and_free_generation_is_reported_beside() -> None:
    """The toy chain's pattern: teacher-forced log-likelihood rises steadily, while the edit
    distance of greedy answers steps with exact match (one wrong letter derails the rest of a
    generated walk). The per-token metric decides: mirage; the edit distance is named beside."""
    rungs = ladder()
    table = [bernoulli(p, 300) for p in STEP]
    level = [-2.2, -1.6, -1.1, -0.7, -0.1, -0.05]
    rows = records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": table[i][j],
            "logprob_correct_mean": level[i] + (j % 7 - 3) * 0.05,
            "token_edit_distance": 9.0 - 8.5 * table[i][j] + (j % 3) * 0.1,
        },
        300,
    )
    result = analyze(rows, rungs, seed=0, config=FAST).mirage_for("gen", "shots=0")
    assert result is not None
    assert result.continuous["token_edit_distance"] == "jumps"
    assert result.continuous["logprob_correct_mean"] == "smooth"
    assert result.outcome == "mirage", result.reason
    assert "free generation: token_edit_distance jumps" in result.reason
