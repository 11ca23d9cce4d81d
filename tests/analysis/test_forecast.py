"""Forecasts: backtests on simulated ladders whose truth is known.

Items carry a difficulty shared by every rung (so the bootstrap's pairing
matters); each item's answer is ``L`` tokens, each right with the item's
per-token probability, exact match when all are. The truths are the
benchmark's kinds (``benchmarks/forecast.py``) at fixed parameters.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from emergetui.analysis import analyze
from emergetui.analysis.curves import Curve, make_curve
from emergetui.analysis.data import RungInfo
from emergetui.analysis.forecast import CurveForecast, forecast_curve
from emergetui.analysis.forecast_fit import Scale
from emergetui.analysis.forecast_rungs import known_ladder_rungs, params_text
from emergetui.report.forecast_section import forecast_lines, forecast_markdown
from tests.analysis.analysis_synth import FAST, records

QWEN = [0.49e9, 1.54e9, 3.09e9, 7.61e9, 14.7e9, 32.5e9, 72.7e9]


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _ladder(
    per_token: np.ndarray, length: int, n: int = 300, seed: int = 0, params: list[float] = QWEN
) -> tuple[Curve, Curve]:
    """Exact-match and token-accuracy curves of ``n`` items with a shared difficulty."""
    rng = np.random.default_rng(seed)
    delta = rng.normal(0.0, 0.5, size=n)
    logit = np.log(per_token / (1 - per_token))
    p = _sig(logit[:, None] - delta[None, :])
    hits = rng.binomial(length, p)
    x = np.log10(params)
    loss = 1.5 + 2.0 * 10 ** (-0.2 * (x - x[0]))
    rungs = [RungInfo(f"r{i}", int(v), {"loss": float(loss[i])}) for i, v in enumerate(params)]
    em = make_curve("t", "s", "exact_match", rungs, list((hits == length).astype(float)), chance=0)
    acc = make_curve("t", "s", "token_accuracy", rungs, list(hits / length))
    return em, acc


def _forecast(em: Curve, acc: Curve, length: int, **kw: object) -> CurveForecast:
    return forecast_curve(
        em, token_curves={"token_accuracy": acc}, answer_tokens=float(length), **kw
    )  # type: ignore[arg-type]


def test_a_wide_logistic_is_predictable_and_its_rungs_fall_inside_the_bands() -> None:
    x = np.log10(QWEN)
    em, acc = _ladder(_sig((x - 9.9) * 1.6), length=1)
    fc = _forecast(em, acc, 1)
    assert fc.outcome == "predictable", fc.line
    assert fc.line.startswith("predictable from the smaller rungs by")
    one_ahead = [b for b in fc.backtests if b.ahead == 1]
    assert [len(b.fitted) for b in one_ahead] == [3, 4, 5, 6]
    covered = sum(band.covered for b in one_ahead for band in b.bands)
    assert covered >= 0.75 * sum(len(b.bands) for b in one_ahead)
    # two rungs ahead as well, from 3, 4 and 5 rungs
    assert [len(b.fitted) for b in fc.backtests if b.ahead == 2] == [3, 4, 5]
    for b in fc.backtests:
        for band in b.bands:
            assert band.low < band.high  # bands never collapse
            assert 0.0 <= band.low <= band.median <= band.high <= 1.0


def test_a_plateau_at_chance_then_a_rise_within_one_gap_is_not_predictable() -> None:
    x = np.log10(QWEN)
    mid = (x[3] + x[4]) / 2  # between 7.6B and 14.7B: four rungs on the plateau
    em, acc = _ladder(0.1 + 0.85 * _sig((x - mid) * 4.39 / 0.1), length=3)
    fc = _forecast(em, acc, 3)
    assert fc.focus is not None and fc.focus.target == "r4"
    assert fc.outcome == "not predictable", fc.line
    assert fc.line.startswith("not predictable by any route (observed")
    assert "beyond the 90% band" in fc.line
    assert all(fc.focus.observed > band.high for band in fc.focus.bands)
    assert {band.route for band in fc.focus.bands} == {"metric", "per-token", "loss"}


def test_a_mirage_is_predicted_by_the_per_token_route() -> None:
    """Per-token accuracy a smooth logistic, exact match a^10: flat, then a jump."""
    x = np.log10(QWEN)
    em, acc = _ladder(_sig((x - 9.6) * 3.0), length=10)
    ys = em.means
    j = int(np.argmax(np.diff(ys))) + 1
    assert j >= 3 and ys[j - 1] < 0.25 and ys[j] - ys[j - 1] > 0.3  # it looks emergent
    fc = _forecast(em, acc, 10)
    assert fc.focus is not None and fc.focus.target == f"r{j}"
    token = fc.focus.band("per-token")
    assert token is not None and token.covered, (token, fc.focus.observed)
    assert "per-token log-probs" in fc.line


def test_too_few_rungs_and_missing_routes_say_why() -> None:
    em, acc = _ladder(np.array([0.2, 0.4, 0.6]), length=1, params=QWEN[:3])
    fc = _forecast(em, acc, 1)
    assert fc.outcome == "n/a" and fc.backtests == []
    assert fc.line == "too few rungs to forecast (a rung needs 3 below it)"
    em, _ = _ladder(np.array([0.2, 0.3, 0.4, 0.5]), length=2, params=QWEN[:4])
    alone = forecast_curve(em)  # no per-token curve
    assert alone.backtests[0].skipped["per-token"] == "answer length in tokens not stored"
    assert {b.route for b in alone.backtests[0].bands} == {"metric", "loss"}


def test_the_same_seed_gives_the_same_bands() -> None:
    x = np.log10(QWEN)
    em, acc = _ladder(_sig((x - 9.9) * 1.6), length=2)
    a, b = _forecast(em, acc, 2, seed=3), _forecast(em, acc, 2, seed=3)
    assert a.to_dict() == b.to_dict()


def test_scale_maps_back_and_keeps_rungs_with_no_hit_finite() -> None:
    s = Scale(0.25, 1.0)
    y = np.array([0.25, 0.5, 1.0])
    z = s.to_z(y, np.array([100, 100, 100]))
    assert np.all(np.isfinite(z))
    assert s.from_z(z)[1] == pytest.approx(0.5)
    assert Scale().to_z(y, 10).tolist() == y.tolist()


def test_an_inconclusive_verdict_gets_a_rung_to_add_from_a_known_ladder() -> None:
    params = [0.49e9, 1.54e9, 7.61e9, 32.5e9, 72.7e9]  # no rung between 1.5B and 7.6B
    x = np.log10(params)
    em, acc = _ladder(_sig((x - 9.5) * 3.0), length=1, params=params)
    # the recommender reads only the label and the rise's midpoint range (log10 params)
    verdict = SimpleNamespace(
        label="inconclusive", transition=SimpleNamespace(midpoint_ci=(9.3, 9.8))
    )
    fc = _forecast(em, acc, 1, verdict=verdict, known_rungs=known_ladder_rungs())
    rec = fc.recommendation
    assert rec is not None and rec.between == ("r1", "r2")
    assert 1.54e9 < rec.params < 7.61e9
    assert rec.line.startswith(f"a rung near {params_text(rec.params)} params would decide this")
    assert rec.rung_params is not None and 1.54e9 < rec.rung_params < 7.61e9
    assert rec.ladder is not None and rec.ladder in rec.line
    assert _forecast(em, acc, 1, verdict=SimpleNamespace(label="emergent")).recommendation is None


def test_params_text() -> None:
    assert params_text(3.09e9) == "3.1e9"
    assert params_text(3e9) == "3e9"
    assert params_text(9.97e5) == "1e6"


def test_the_analysis_document_carries_the_forecast_and_the_report_shows_it() -> None:
    rungs = [RungInfo(f"m{i}", int(10 ** (7 + 0.5 * i)), {"loss": 4 - 0.3 * i}) for i in range(6)]
    rng = np.random.default_rng(1)
    prob = [0.05, 0.12, 0.25, 0.45, 0.65, 0.8]
    outcomes = {(r, i): float(rng.random() < prob[r]) for r in range(6) for i in range(120)}
    rows = records("task", "shots=0", rungs, lambda r, i: {"exact_match": outcomes[(r, i)]}, 120)
    doc = json.loads(analyze(rows, rungs, config=FAST).to_json())
    (fc,) = doc["forecast"]
    assert (fc["task"], fc["metric"], fc["level"]) == ("task", "exact_match", 0.9)
    assert fc["line"].startswith(("predictable", "not predictable"))
    first = fc["backtests"][0]
    assert first["fitted"] == ["m0", "m1", "m2"] and first["target"] == "m3"
    assert all(math.isfinite(b["low"]) for b in first["bands"])
    lines = forecast_lines(doc["forecast"])
    assert lines[0] == f"task [shots=0] exact_match: {fc['line']}"
    md = forecast_markdown(analyze(rows, rungs, config=FAST))
    assert "## Forecasts" in md and "| m3 |" in md and fc["line"] in md


def _mc_rows(mid_shift: float, n: int = 200, seed: int = 0) -> tuple[list[object], list[RungInfo]]:
    """Four choices; the right one's log-prob rises smoothly with log params, the distractors'
    a little too; each item's scores carry its own difficulty. ``mid_shift`` moves the rise."""
    from emergetui.analysis.data import _as_item
    from emergetui.tasks.metrics import item_metrics
    from emergetui.tasks.records import ItemRaw, ItemRecord
    from tests.analysis.analysis_synth import ladder as make_ladder

    rng = np.random.default_rng(seed)
    rungs = make_ladder(7)
    hard = rng.normal(0.0, 1.0, size=n)
    noise = rng.normal(0.0, 0.8, size=(n, 4))
    rows: list[object] = []
    for rung in rungs:
        x = np.log10(rung.params)
        right = -4.0 + 1.6 * (x - 7.0 - mid_shift) - hard
        for j in range(n):
            wrong = -3.0 + 0.3 * (x - 7.0) + noise[j, 1:] + rng.normal(0, 0.3, size=3)
            sums = [right[j] + rng.normal(0, 0.3), *wrong]
            raw = ItemRaw(choice_logprobs=[[float(v)] for v in sums])
            rec = ItemRecord(
                run_id="run", rung=rung.label, task="mc", setting="shots=0", item_id=f"q{j}",
                item_hash="h", model_sha256="s", prompt="", choices=["a", "b", "c", "d"],
                target_scores=[1.0, 0.0, 0.0, 0.0], targets=[], raw=raw, metrics={},
            )  # fmt: skip
            rec.metrics = item_metrics(_as_item(rec), raw)
            rows.append(rec)
    return rows, rungs


def test_multiple_choice_is_forecast_from_the_choices_log_probs() -> None:
    rows, rungs = _mc_rows(0.5)
    a = analyze(rows, rungs, config=FAST)  # type: ignore[arg-type]
    (fc,) = a.forecast
    assert fc.metric == "multiple_choice_grade"
    tests = [b for b in fc.backtests if b.ahead == 1]
    assert tests and all(b.band("per-token") is not None for b in tests), tests[0].skipped
    covered = sum(bool(b.band("per-token").covered) for b in tests)  # type: ignore[union-attr]
    assert covered >= len(tests) - 1, [(b.observed, b.band("per-token")) for b in tests]
    # rows without per-choice log-probs: the route says why instead
    bare = forecast_curve(a.curve("mc", "shots=0", "multiple_choice_grade"))  # type: ignore[arg-type]
    assert bare.backtests[0].skipped["per-token"] == "no per-choice log-probabilities stored"


def test_the_batch_output_prints_one_forecast_line_per_curve(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from emergetui.cli.batch import _print_forecasts
    from emergetui.report.rundoc import RunDocument

    x = np.log10(QWEN)
    em, acc = _ladder(_sig((x - 9.9) * 1.6), length=1)
    fc = _forecast(em, acc, 1)
    doc = RunDocument(run_id="r", ladder="l", rungs=[], results=[], forecast=[fc.to_dict()])
    _print_forecasts(doc)
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("Forecasts (each rung from the rungs below it; 90% bands)")
    assert out[2] == f"  t [s] exact_match: {fc.line}"
    _print_forecasts(RunDocument(run_id="r", ladder="l", rungs=[], results=[]))
    assert capsys.readouterr().out == ""


def test_heterogeneity_narrows_the_noise_of_settled_items_only() -> None:
    from emergetui.analysis.forecast_fit import MIN_SPREAD, heterogeneity

    settled = np.array([1.0] * 50 + [0.0] * 50)
    assert heterogeneity(settled, settled) == MIN_SPREAD  # every item the same at both rungs
    rng = np.random.default_rng(0)
    a, b = (rng.random(4000) < 0.5).astype(float), (rng.random(4000) < 0.5).astype(float)
    assert heterogeneity(a, b) == pytest.approx(1.0, abs=0.05)  # coin flips: a binomial
    assert heterogeneity(np.zeros(100), np.zeros(100)) == 1.0  # nothing to estimate from
