"""Corpus-level metrics per rung: BIG-bench's value, and replicates equal to recomputation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emergetui.analysis import analyze
from emergetui.analysis.corpus_metrics import (
    CorpusItem,
    corpus_metric_values,
    default_replicates,
)
from emergetui.analysis.curves import setting_items, shared_draws
from emergetui.analysis.data import RungInfo
from emergetui.analysis.export import corpus_results, emergence_json
from emergetui.report.rundoc import verdict_lines
from emergetui.tasks import bigbench_metrics as bbm
from emergetui.tasks.records import ItemRaw, ItemRecord

METRICS = [
    "bleu",
    "macro_f1",
    "expected_calibration_error",
    "calibration_multiple_choice_brier_score",
]


def items(seed: int, n: int = 12) -> list[CorpusItem]:
    """Items carrying both a generation and scored choices, deterministic per seed."""
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "mat", "dog", "ran", "été", "東京", "a"]
    out = []
    for i in range(n):
        target = " ".join(rng.choice(words, 5))
        resp = " ".join(rng.choice(words, int(rng.integers(0, 6))))  # may be empty
        scores = [0.0, 0.0, 0.0]
        scores[int(rng.integers(0, 3))] = 1.0
        lps = tuple(float(x) for x in rng.normal(-2, 1, 3))
        out.append(
            CorpusItem(
                f"i{i}",
                targets=(target, target.upper()) if i % 3 else (target,),
                response=resp,
                choices=("x", "y", "z"),
                target_scores=tuple(scores),
                choice_logprobs=lps,
            )
        )
    return out


def direct(metric: str, subset: list[CorpusItem]) -> float:
    """BIG-bench's function on an explicit list of items (duplicates included)."""
    if metric == "bleu":
        return bbm.bleu([it.targets for it in subset], [it.response or "" for it in subset])
    lps = [bbm.mc_log_probs(it.choice_logprobs) for it in subset]
    if metric == "macro_f1":
        true = [bbm.macro_f1_label(it.choices, it.target_scores) or "" for it in subset]
        pred = [it.choices[bbm.bb_argmax(lp)] for it, lp in zip(subset, lps, strict=True)]
        return bbm.macro_f1(true, pred)
    if metric == "expected_calibration_error":
        pairs = [bbm.ece_inputs(lp, it.target_scores) for it, lp in zip(subset, lps, strict=True)]
        return bbm.expected_calibration_error([p[0] for p in pairs], [p[1] for p in pairs])
    parts = [bbm.brier_parts(lp, it.target_scores) for it, lp in zip(subset, lps, strict=True)]
    return sum(p[0] for p in parts) / sum(p[1] for p in parts)


def test_point_value_is_bigbench_on_all_items() -> None:
    got = corpus_metric_values({"r": items(1)}, METRICS, n_boot=10)["r"]
    for metric in METRICS:
        assert got[metric].value == pytest.approx(direct(metric, items(1)), rel=1e-12)
        assert got[metric].n == 12 and not got[metric].note


def test_each_replicate_equals_the_function_on_the_resampled_items() -> None:
    its = items(2)
    reps = default_replicates(len(its), n_boot=6, seed=3)
    got = corpus_metric_values(
        {"r": its}, METRICS, replicates=reps, item_ids=[it.item_id for it in its]
    )["r"]
    for metric in METRICS:
        want = [direct(metric, [its[i] for i in row]) for row in reps]
        assert got[metric].replicates == pytest.approx(want, rel=1e-9, abs=1e-12)
        lo, hi = np.quantile(want, [0.025, 0.975])
        assert (got[metric].ci_low, got[metric].ci_high) == pytest.approx((lo, hi))


def test_the_same_replicates_pair_the_rungs_and_skip_failed_items() -> None:
    a, b = items(4), items(5)
    ids = [it.item_id for it in a]
    reps = np.array([[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11], list(range(12))])
    b_failed = [it for it in b if it.item_id != "i0"]  # i0 failed on rung b
    got = corpus_metric_values({"a": a, "b": b_failed}, ["bleu"], replicates=reps, item_ids=ids)
    # rung a sees i0 twice in replicate 0; rung b drops both draws of it
    assert got["a"]["bleu"].replicates[0] == pytest.approx(direct("bleu", [a[i] for i in reps[0]]))
    kept = [b[i] for i in reps[0] if i != 0]
    assert got["b"]["bleu"].replicates[0] == pytest.approx(direct("bleu", kept))
    assert got["b"]["bleu"].n == 11
    with pytest.raises(ValueError, match="outside item_ids"):
        corpus_metric_values({"a": a}, ["bleu"], replicates=np.array([[12]]), item_ids=ids)


def test_default_replicates_are_deterministic() -> None:
    one = corpus_metric_values({"r": items(6)}, METRICS, n_boot=50, seed=9)["r"]
    two = corpus_metric_values({"r": items(6)}, METRICS, n_boot=50, seed=9)["r"]
    for m in METRICS:
        assert np.array_equal(one[m].replicates, two[m].replicates, equal_nan=True)
        assert one[m].ci_low <= one[m].value + 1e-9 and one[m].value <= one[m].ci_high + 1e-9


def test_missing_material_is_a_note_not_a_number() -> None:
    old = [CorpusItem("i0", targets=("a",), response=None)]  # a record without a response
    got = corpus_metric_values({"r": old}, ["bleu", "macro_f1"], n_boot=5)["r"]
    assert math.isnan(got["bleu"].value) and "post-processed answers" in got["bleu"].note
    assert "multiple-choice" in got["macro_f1"].note


def record(
    rung: str,
    item_id: str,
    response: str,
    error: str | None = None,
    target: str = "the cat sat",
) -> ItemRecord:
    raw = ItemRaw(choice_logprobs=[[-1.0], [-2.0]], generated_text=response, response=response)
    return ItemRecord(
        "run",
        rung,
        "t",
        "shots=0",
        item_id,
        "h",
        "sha",
        "Q",
        ["a", "b"],
        [1.0, 0.0],
        [target],
        raw,
        {} if error else {"exact_match": float(response == target)},
        error,
    )


def test_rows_from_stored_records() -> None:
    recs = [
        record("small", "0", "the cat"),
        record("small", "1", "the cat sat"),
        record("large", "0", "the cat sat"),
        record("large", "1", "", error="boom"),
    ]
    rungs = [RungInfo("small", 10**8), RungInfo("large", 10**9)]
    listed = {("t", "shots=0"): ("exact_match", "bleu")}
    analysis = analyze(recs, rungs, corpus=listed)
    rows = corpus_results(analysis)
    assert [(r["rung"], r["metric"]) for r in rows] == [("small", "bleu"), ("large", "bleu")]
    assert rows[0]["value"] == pytest.approx(
        bbm.bleu([["the cat sat"]] * 2, ["the cat", "the cat sat"])
    )
    assert rows[1]["n"] == 1 and rows[1]["level"] == "corpus"  # the failed item is left out
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows)


def _ladder_records(n_rungs: int = 6, n_items: int = 60) -> tuple[list, list[RungInfo]]:
    """A generative task whose answers get one word more right per rung (BLEU climbs)."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    recs, rungs = [], []
    for r in range(n_rungs):
        rungs.append(RungInfo(f"r{r}", int(10 ** (7 + 0.5 * r))))
        for i in range(n_items):
            target = " ".join(words[(i + k) % 6] for k in range(6))
            right = min(6, r + (i % 3))  # item difficulty shared by every rung
            answer = " ".join(words[(i + k) % 6] if k < right else "x" for k in range(6))
            recs.append(record(f"r{r}", str(i), answer, target=target))
    return recs, rungs


def test_corpus_curve_uses_the_task_settings_shared_replicates() -> None:
    """BLEU's replicates are computed on the very item draws behind the mean curves."""
    recs, rungs = _ladder_records()
    listed = {("t", "shots=0"): ("exact_match", "bleu")}
    analysis = analyze(recs, rungs, seed=3, corpus=listed)
    (bleu,) = [c for c in analysis.curves if c.metric == "bleu"]
    assert bleu.corpus and bleu.boot.shape == (1000, len(rungs))
    ids = setting_items(recs)
    draws = shared_draws(3, "t", "shots=0", len(ids), 1000)
    by_rung = {
        g.label: [CorpusItem.from_record(r) for r in recs if r.rung == g.label] for g in rungs
    }
    again = corpus_metric_values(by_rung, ["bleu"], replicates=draws, item_ids=ids)
    for j, g in enumerate(rungs):
        assert np.allclose(bleu.boot[:, j], again[g.label]["bleu"].replicates, equal_nan=True)
        assert bleu.points[j].mean == pytest.approx(again[g.label]["bleu"].value)
    # the mean curve of the same task setting resamples the same items: replicate b of
    # exact match and of BLEU both come from draw b (a replicate heavy in easy items is
    # high in both)
    (em,) = [c for c in analysis.curves if c.metric == "exact_match"]
    corr = np.corrcoef(em.boot[:, -1], bleu.boot[:, -2])[0, 1]
    assert corr > 0.3


def test_bleu_preferred_task_gets_a_headline_verdict() -> None:
    recs, rungs = _ladder_records()
    listed = {("t", "shots=0"): ("exact_match", "bleu")}
    analysis = analyze(recs, rungs, corpus=listed)
    (entry,) = [e for e in emergence_json(analysis) if e["metric"] == "bleu"]
    assert entry["verdict"] in ("smooth", "emergent", "inconclusive")
    assert entry["reason"]
    lines = verdict_lines(analysis, {("t", "shots=0"): "bleu"})
    assert lines[0].startswith(f"t [shots=0] bleu: {entry['verdict'].upper()}")
