"""The mechanisms behind the findings: the multiple-choice mirage test on choice-level
quantities, the in-context-learning trend, and the fitted loss onset."""

from __future__ import annotations

import numpy as np
from analysis_synth import FAST, records
from mechanism_synth import QWEN, mc_rows, qwen_rungs

from emergetui.analysis import analyze
from emergetui.analysis.choice_level import choice_values
from emergetui.analysis.findings import findings


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


X = np.log10(QWEN)


def test_choice_values_compare_the_options_with_each_other() -> None:
    rungs = qwen_rungs()[:1]
    (row,) = mc_rows(np.random.default_rng(0), rungs, 1)
    v = choice_values(row)
    sums = [sum(lp) for lp in row.raw.choice_logprobs]
    probs = np.exp(sums) / np.exp(sums).sum()
    assert np.isclose(v["choice_prob_correct"], probs[0])
    assert np.isclose(v["choice_logprob_correct"], np.log(probs[0]))
    assert np.isclose(v["choice_margin"], sums[0] - max(sums[1:]))
    # a shift shared by every option (fluency) changes none of them
    row.raw.choice_logprobs = [[lp[0] + 5.0] + lp[1:] for lp in row.raw.choice_logprobs]
    shifted = choice_values(row)
    assert all(np.isclose(shifted[k], v[k]) for k in ("choice_prob_correct", "choice_margin"))


def test_choice_level_emergence_under_a_fluency_trend_survives() -> None:
    """Every option grows more fluent with size; the grade sits at chance and then the right
    option jumps ahead between 7B and 14B. The raw log-likelihood of the right option rises
    all along (fluency), but the choice-level quantities and the fitted mechanism say: real."""
    rng = np.random.default_rng(3)
    n = 200
    adv = rng.uniform(5, 25, n)[:, None] * _sig((X[None, :] - 10.0) / 0.01)
    rows = mc_rows(rng, qwen_rungs(), n, advantage=adv, fluency=0.15)
    a = analyze(rows, qwen_rungs(), seed=0, config=FAST)
    raw = a.curve("mc", "shots=0", "logprob_correct")
    assert raw is not None and raw.means[3] > raw.means[0]  # fluency: rises before the jump
    result = a.mirage_for("mc", "shots=0")
    assert result is not None and result.discrete_metric in (
        "multiple_choice_grade",
        "mc_grade_norm",
    )
    assert result.outcome == "survives", result.reason
    assert result.p_value is not None and result.p_value < 0.01
    assert result.fit is not None and result.fit.max_miss > 0.2
    assert "logprob_correct" not in result.continuous  # raw log-likelihood is not evidence
    assert "raw log-likelihood is not evidence" in result.reason
    assert "free generation" not in result.reason  # Brier is a choice-level quantity
    assert set(result.choice) >= {"choice_prob_correct", "choice_margin"}
    assert result.to_dict()["p_value"] == result.p_value
    (line,) = [f.text for f in findings(a) if f.task == "mc"]
    assert "more than the options' smooth log-likelihoods predict (fit p = " in line
    assert line.endswith("a real threshold, not an artefact of the argmax.")


def test_schaeffer_mirage_on_multiple_choice_is_a_mirage() -> None:
    """The right option's nats fall as a smooth power law in size (faster than the wrong
    options'), options alike in cost: the grade turns over within about one rung gap, and the
    argmax of the fitted smooth log-likelihoods predicts it."""
    rng = np.random.default_rng(5)
    n = 300
    scale = 10 ** (-0.4 * (X[None, :] - 10.0 - rng.normal(0, 0.03, n)[:, None]))
    rows = mc_rows(rng, qwen_rungs(), n, correct_scale=scale, per_token=(2.4, 2.6))
    a = analyze(rows, qwen_rungs(), seed=0, config=FAST)
    result = a.mirage_for("mc", "shots=0")
    assert result is not None
    grade = a.scores_for(("mc", "shots=0", result.discrete_metric or ""))
    assert grade is not None and grade.verdict.sudden  # emergent, or sudden with a rung inside
    assert result.outcome == "mirage", result.reason
    assert result.p_value is not None and result.p_value > 0.05
    assert result.fit is not None and result.fit.max_miss < 0.1
    (line,) = [f for f in findings(a) if f.task == "mc"]
    assert (
        line.kind == "mirage" and "probability of the right option among the options" in line.text
    )
    assert line.text.endswith("a mirage of the argmax.")


def _icl_rows(gain: list[float], n: int, seed: int):
    """0 shots rising smoothly from chance; ``gain`` added at each rung with 5 shots; item
    difficulty shared by both settings and all rungs."""
    rng = np.random.default_rng(seed)
    base = 0.25 + 0.3 * (X - X[0]) / (X[-1] - X[0])
    z = rng.normal(0, 1, n)
    tables = {}
    for shots, probs in ((0, base), (5, base + np.array(gain))):
        u = _sig(1.7 * (0.7 * z + 0.71 * rng.normal(0, 1, n)))
        guess = rng.random((len(X), n)) < 0.25
        q = (probs - 0.25) / 0.75
        tables[shots] = (u[None, :] < q[:, None]) | guess
    rows = []
    for shots, table in tables.items():
        rows += records(
            "icl",
            f"shots={shots}",
            qwen_rungs(),
            lambda i, j, t=table: {"multiple_choice_grade": float(t[i, j])},
            n,
            shots=shots,
            n_choices=4,
        )
    return rows


def test_a_constant_gain_is_not_in_context_learning_that_appears_with_scale() -> None:
    a = analyze(_icl_rows([0.2] * 7, 1000, 1), qwen_rungs(), seed=0, config=FAST)
    (icl,) = a.icl
    assert not icl.grows
    assert icl.trend is not None and icl.trend.mean_ci[0] < 0.2 < icl.trend.mean_ci[1]
    assert icl.first_rung == "q0"  # the per-rung comparison holds everywhere: not the claim
    (line,) = [f for f in findings(a) if f.task == "icl" and f.kind.startswith("icl")]
    assert line.kind == "icl-gain" and "examples help by +0.2" in line.text
    assert "at every size" in line.text and "appears with scale" not in line.text


def test_a_gain_that_grows_with_size_is_detected() -> None:
    gain = list(0.35 * (X - X[0]) / (X[-1] - X[0]))
    a = analyze(_icl_rows(gain, 300, 2), qwen_rungs(), seed=0, config=FAST)
    (icl,) = a.icl
    assert icl.grows and icl.p_value is not None and icl.p_value < 0.05
    t = icl.trend
    assert t is not None and t.slope_ci[0] < 0.35 / (X[-1] - X[0]) < t.slope_ci[1]
    (line,) = [f for f in findings(a) if f.kind == "icl"]
    assert "in-context learning appears with scale" in line.text
    assert "grows by +" in line.text and "per decade of params" in line.text


def _onset_rows(n: int, seed: int, eta: float = 2.6):
    """Ability at chance (0.25) for loss >= eta, then rising 1.2 per nat as loss falls."""
    losses = 3.4 - 0.5 * (X - X[0])
    acc = 0.25 + 1.2 * np.maximum(0.0, eta - losses)
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    guess = rng.random((len(X), n)) < 0.25
    table = (u[None, :] < ((acc - 0.25) / 0.75)[:, None]) | guess
    rows = records(
        "t",
        "s",
        qwen_rungs(losses),
        lambda i, j: {"multiple_choice_grade": float(table[i, j])},
        n,
        n_choices=4,
    )
    return rows, qwen_rungs(losses)


def test_the_loss_onset_is_fitted_with_a_continuous_interval_that_covers_it() -> None:
    values = []
    for n in (50, 1000):
        rows, rungs = _onset_rows(n, seed=n)
        view = analyze(rows, rungs, seed=0, config=FAST).loss_for(
            ("t", "s", "multiple_choice_grade")
        )
        assert view is not None and view.onset is not None, view and view.threshold_note
        lo, hi = view.onset.ci
        assert lo <= 2.6 <= hi, (n, view.onset)
        assert lo < view.onset.value < hi and hi - lo > 1e-3  # never collapses to a point
        values.append((view.onset.value, hi - lo))
    (v50, w50), (v1000, w1000) = values
    assert w1000 < w50  # more items, narrower ...
    assert abs(v1000 - 2.6) < 0.1  # ... around the same onset
