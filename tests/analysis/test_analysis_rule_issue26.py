"""Issue 26: verdicts that describe the ability, not the ladder.

Rungs inside the rise, a plateau at chance, ``step`` and ``does-not-scale``,
same-size files, goodness of fit on short ladders, continuous intervals and
Benjamini-Hochberg across a run's claims.
"""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import FAST, accuracy_rows, ladder, rungs_at, shared_binary

from emergetui.analysis import RungInfo, analyze, make_curve, verdict
from emergetui.analysis.claims import benjamini_hochberg
from emergetui.analysis.emergence import transition_of

QWEN = [np.log10(p) for p in (0.5e9, 1.5e9, 3e9, 7e9, 14e9, 32e9, 72e9)]


def _mc(probs, n, xs, seed=0, chance=0.25, metric="multiple_choice_grade"):
    vals = shared_binary(probs, n, seed)
    return make_curve("t", "s", metric, rungs_at(xs), vals, chance=chance, seed=seed)


def test_a_rung_inside_the_rise_is_never_emergent_whichever_rung_is_removed() -> None:
    """The issue's curve: 10-90% over one decade, midpoint 10B, 200 items, Qwen2.5 spacing.
    Smooth on the full ladder; without 14B the 7B rung still sits at 43% of the rise."""
    q = 0.9 / (1 + np.exp(-(np.array(QWEN) - 10.0) / (1.0 / 4.394)))
    full = verdict(_mc(list(q), 200, QWEN, chance=0.0, metric="exact_match"))
    assert full.label in ("smooth", "inconclusive"), full.reason
    for k in range(len(QWEN)):
        xs = [x for i, x in enumerate(QWEN) if i != k]
        qs = [v for i, v in enumerate(q) if i != k]
        v = verdict(_mc(qs, 200, xs, chance=0.0, metric="exact_match"))
        assert v.label != "emergent", (k, v.reason)


def test_partial_fall_back_on_four_rungs_is_not_emergent() -> None:
    for seed in range(4):
        for n in (50, 200):
            v = verdict(_mc([0.0, 0.0, 0.6, 0.3], n, [9.0, 9.5, 10.0, 10.5], seed, 0.0))
            assert v.label != "emergent", (n, seed, v.reason)


def test_monotone_fit_is_checked_on_four_rungs() -> None:
    """A misfit a fall-back test with Holm does not catch is still refused as a shape."""
    from emergetui.analysis.resolution import monotone_chi2

    whiten = np.eye(4) * 10.0
    chi, mu = monotone_chi2(np.array([0.0, 0.0, 0.6, 0.3]), whiten)
    assert chi == pytest.approx(100 * 2 * 0.15**2)
    assert np.allclose(mu, [0, 0, 0.45, 0.45])
    assert monotone_chi2(np.array([0.0, 0.1, 0.2, 0.3]), whiten)[0] == pytest.approx(0.0)


def _independent(p: float, n: int, xs, seed: int, chance: float, metric: str):
    rng = np.random.default_rng(seed)
    vals = [(rng.random(n) < p).astype(float) for _ in xs]
    return make_curve("t", "s", metric, rungs_at(xs), vals, chance=chance, seed=seed)


def test_constant_above_chance_does_not_scale() -> None:
    for seed in (1, 2, 3):  # seed 0 draws a rise by chance (p 0.0002): a true 5% event
        v = verdict(_independent(0.4, 300, QWEN, seed, 0.25, "multiple_choice_grade"))
        assert v.label == "does-not-scale", v.reason
        assert v.constancy is not None
        lo, hi = v.constancy.change_ci
        assert lo < 0 < hi and hi - lo < 0.2
        assert "change across the ladder" in v.reason
    em = verdict(_mc([0.005] * 7, 1000, QWEN, chance=0.0, metric="exact_match"))
    assert em.label == "does-not-scale", em.reason


def test_step_from_a_raised_plateau_is_its_own_verdict() -> None:
    v = verdict(_mc([0.45, 0.45, 0.45, 0.45, 0.95, 0.95, 0.95], 300, QWEN))
    assert v.label == "step", v.reason
    assert "raised plateau" in v.reason and v.p_value is not None
    at_chance = verdict(_mc([0.25, 0.25, 0.25, 0.25, 0.95, 0.95, 0.95], 300, QWEN))
    assert at_chance.label == "emergent", at_chance.reason
    assert at_chance.decide_log10 is not None and QWEN[3] < at_chance.decide_log10 < QWEN[4]
    assert at_chance.decide_params == pytest.approx(10**at_chance.decide_log10)


def test_an_unresolved_gap_names_the_rung_that_would_decide() -> None:
    """A jump into the last rung: its top is seen at one rung, so a shape with that rung
    inside the rise fits as well as a sharp one; the gap before it decides."""
    v = verdict(_mc([0.25] * 6 + [0.9], 100, QWEN))
    assert v.label == "inconclusive" and "not resolved" in v.reason, v.reason
    assert v.decide_log10 is not None and QWEN[5] < v.decide_log10 < QWEN[6]
    assert f"a rung near 10^{v.decide_log10:.1f} params would decide this" in v.reason


def test_same_size_files_are_warned_and_kept_out_of_the_fit() -> None:
    xs = [9.0, 9.5, 10.0, 10.0, 10.5, 11.0]
    names = ["a", "b", "c-q4", "c-q8", "d", "e"]
    rungs = [RungInfo(nm, int(round(10**x))) for nm, x in zip(names, xs, strict=True)]
    vals = shared_binary([0.25, 0.25, 0.25, 0.2, 0.9, 0.9], 200, 0)
    c = make_curve("t", "s", "multiple_choice_grade", rungs, vals, chance=0.25)
    v = verdict(c)
    assert v.warnings and "c-q8" in v.warnings[0] + " ".join(v.fit_rungs) or "c-q4" in v.warnings[0]
    assert len(v.fit_rungs) == 5 and "inf" not in v.reason
    assert v.label != "non-monotone", v.reason  # a quant's degradation is not a fall-back
    rows = accuracy_rows("t", "s", rungs, [0.25, 0.25, 0.25, 0.2, 0.9, 0.9], 100)
    a = analyze(rows, rungs, seed=0, config=FAST)
    assert any("same-size rungs c-q4, c-q8" in w for w in a.warnings), a.warnings


def test_midpoint_interval_is_continuous_and_shrinks_with_items() -> None:
    xs = [8.0, 8.5, 9.0, 9.5, 10.0, 10.5]
    p = list(1 / (1 + np.exp(-(np.array(xs) - 9.23) / 0.25)))
    widths = []
    for n in (300, 3000):
        t = transition_of(_mc(p, n, xs, chance=0.0, metric="exact_match"), 0.9)
        assert t is not None
        lo, hi = t.midpoint_ci
        assert lo < t.midpoint < hi
        assert hi - lo > 0.005  # never one grid point
        widths.append(hi - lo)
    assert widths[1] < widths[0]


def test_benjamini_hochberg_and_the_runs_claims() -> None:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2], 0.05).tolist() == [True, False, False, False]
    assert benjamini_hochberg([0.01, 0.02, 0.03, 0.04], 0.05).all()
    assert not benjamini_hochberg([], 0.05).size
    rungs = ladder()
    rows = accuracy_rows("t", "s", rungs, [0.25] * 4 + [0.95, 0.95], 200)
    rows += accuracy_rows("u", "s", rungs, [0.25 + 0.12 * i for i in range(6)], 300)
    a = analyze(rows, rungs, seed=0, config=FAST)
    assert a.claims is not None
    labels = {(c.task, c.label) for c in a.claims.claims}
    assert ("t", "emergent") in labels and ("u", "smooth") in labels
    assert a.claims.surviving >= 2 and "survive Benjamini-Hochberg" in a.claims.summary()
    doc = a.to_dict()
    assert doc["claims"]["made"] == len(a.claims.claims)
