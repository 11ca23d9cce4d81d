"""emergetui's BIG-bench metrics equal BIG-bench's own code on fixed examples.

The expected values in ``bigbench_reference.json`` were produced by running
BIG-bench 1.0.0's ``bigbench/api/task_metrics.py`` (with T5 0.9.1's metrics,
sacrebleu, rouge-score and scikit-learn at the versions recorded in the file)
on the ``inputs`` in the same file; its ``about`` field says how. Cases cover
ties, empty responses, non-numeric responses, several targets and unicode.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from emergetui.analysis.corpus_metrics import CorpusItem, corpus_metric_values
from emergetui.tasks import bigbench_metrics as bbm
from emergetui.tasks.base import Item
from emergetui.tasks.metrics import item_metrics
from emergetui.tasks.records import ItemRaw

REF = json.loads((Path(__file__).parent / "bigbench_reference.json").read_text(encoding="utf-8"))
INP, EXP = REF["inputs"], REF["expected"]


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def mc_corpus(samples: list[dict]) -> list[CorpusItem]:
    return [
        CorpusItem(
            str(i),
            choices=tuple(s["choice"]),
            target_scores=tuple(float(s["target_scores"][c]) for c in s["choice"]),
            choice_logprobs=tuple(s["absolute_log_prob"]),
        )
        for i, s in enumerate(samples)
    ]


def mc_items(samples: list[dict], declared: str) -> list[dict[str, float]]:
    """item_metrics on each sample, its choice log-likelihood given as one token."""
    out = []
    for i, s in enumerate(samples):
        item = Item(
            str(i),
            "Q",
            choices=tuple(s["choice"]),
            target_scores=tuple(float(s["target_scores"][c]) for c in s["choice"]),
            meta=(("bigbench_metrics", declared),),
        )
        out.append(
            item_metrics(item, ItemRaw(choice_logprobs=[[x] for x in s["absolute_log_prob"]]))
        )
    return out


@pytest.mark.parametrize("key", ["mc", "mc_graded"])
def test_multiple_choice_metrics_equal_bigbench(key: str) -> None:
    samples, exp = INP[key], EXP[key]
    got = mc_items(
        samples, "multiple_choice_grade,weighted_log_probabilities,weighted_probabilities"
    )
    assert [bbm.bb_argmax(bbm.mc_log_probs(s["absolute_log_prob"])) for s in samples] == exp[
        "argmax"
    ]
    assert [m["multiple_choice_grade"] for m in got] == exp["per_item_grade"]
    mean = sum(m["multiple_choice_grade"] for m in got) / len(got)
    assert mean == approx(exp["multiple_choice_grade"])
    for name in ("weighted_log_probabilities", "weighted_probabilities"):
        assert sum(m[name] for m in got) / len(got) == approx(exp[name])
    names = ["calibration_multiple_choice_brier_score", "expected_calibration_error"]
    corpus = corpus_metric_values({"r": mc_corpus(samples)}, names, n_boot=50)["r"]
    for name in names:
        assert corpus[name].value == approx(exp[name])


def test_macro_f1_equals_bigbench_and_sklearn() -> None:
    items = mc_corpus(INP["macro_f1"])
    got = corpus_metric_values({"all": items, "four": items[:4]}, ["macro_f1"], n_boot=20)
    assert got["all"]["macro_f1"].value == approx(EXP["macro_f1"]["macro_f1"])
    assert got["four"]["macro_f1"].value == approx(EXP["macro_f1"]["macro_f1_first4"])


def test_macro_f1_refuses_soft_scores_with_a_reason() -> None:
    items = mc_corpus(INP["mc_graded"])  # 0.5 scores: BIG-bench raises ValueError
    got = corpus_metric_values({"r": items}, ["macro_f1"], n_boot=5)["r"]["macro_f1"]
    assert math.isnan(got.value) and "exactly one choice scored 1" in got.note


def test_bleu_equals_bigbench_including_padding_of_references() -> None:
    g = INP["gen"]
    assert bbm.bleu(g["targets"], g["responses"]) == approx(EXP["gen"]["bleu"])
    assert bbm.bleu(g["targets"][:3], g["responses"][:3]) == approx(EXP["gen"]["bleu_first3"])
    # the per-item sufficient statistics sum to the same corpus BLEU
    stats = [bbm.bleu_stats(t, r) for t, r in zip(g["targets"], g["responses"], strict=True)]
    summed = [sum(col) for col in zip(*stats, strict=True)]
    assert bbm.bleu_from_stats(summed) == approx(EXP["gen"]["bleu"])
    items = [
        CorpusItem(str(i), targets=tuple(t), response=r)
        for i, (t, r) in enumerate(zip(g["targets"], g["responses"], strict=True))
    ]
    assert corpus_metric_values({"r": items}, ["bleu"], n_boot=20)["r"]["bleu"].value == approx(
        EXP["gen"]["bleu"]
    )


def gen_metrics(targets: list[str], response: str, declared: str) -> dict[str, float]:
    item = Item(
        "g",
        "Q: ",
        targets=tuple(targets),
        generate=True,
        output_regex=None,
        meta=(("bigbench_metrics", declared),),
    )
    return item_metrics(item, ItemRaw(generated_text=response))


def test_rouge_per_item_equals_bigbench_and_mean_within_its_bootstrap() -> None:
    g = INP["gen"]
    per_item = [
        gen_metrics(t, r, "rouge") for t, r in zip(g["targets"], g["responses"], strict=True)
    ]
    for got, exp in zip(per_item, EXP["gen"]["rouge_per_item"], strict=True):
        for kind in ("rouge1", "rouge2", "rougeLsum"):
            assert got[kind] == approx(exp[kind])
    for kind, (lo, hi) in EXP["gen"]["rouge_bootstrap_range_seeds_0_19"].items():
        mean = sum(m[kind] for m in per_item) / len(per_item)
        assert lo - 1e-9 <= mean <= hi + 1e-9  # BIG-bench's value is a bootstrap median
    assert per_item[-1]["rouge1"] == 0.0  # rouge-score's tokenizer drops CJK text, as in BIG-bench


def test_string_matches_equal_bigbench() -> None:
    s = INP["strmatch"]
    got = [
        gen_metrics(t, r, "exact_str_match,case_insensitive_str_match")
        for t, r in zip(s["targets"], s["responses"], strict=True)
    ]
    assert [m["case_insensitive_str_match"] for m in got] == EXP["strmatch"]["per_item"]
    assert sum(m["exact_match"] for m in got) / len(got) == approx(
        EXP["strmatch"]["exact_str_match"]
    )


def test_numeric_match_equals_bigbench_including_its_corners() -> None:
    n = INP["numeric"]
    got = [
        gen_metrics(t, r, "numeric_match_with_0_1_relative_error")[
            "numeric_match_with_0_1_relative_error"
        ]
        for t, r in zip(n["targets"], n["responses"], strict=True)
    ]
    assert got == EXP["numeric"]["per_item"]
    assert sum(got) / len(got) == approx(EXP["numeric"]["value"])
    # several targets: BIG-bench asserts one, so the item gets no value
    assert "numeric_match_with_0_1_relative_error" not in gen_metrics(
        ["1", "2"], "1", "numeric_match_with_0_1_relative_error"
    )


def test_sequence_f1_equals_bigbench() -> None:
    q = INP["seqf1"]
    got = [
        gen_metrics(t, r, "sequence_f1")["sequence_f1"]
        for t, r in zip(q["targets"], q["responses"], strict=True)
    ]
    assert got == EXP["seqf1"]["per_item"]
    assert sum(got) / len(got) == approx(EXP["seqf1"]["value"])


@pytest.mark.parametrize("key,multi", [("loglik_single", False), ("loglik_multi", True)])
def test_log_likelihood_equals_bigbench(key: str, multi: bool) -> None:
    c = INP[key]
    rows = []
    for targets, lps in zip(c["targets"], c["log_probs_gen"], strict=True):
        meta = (
            ("bigbench_metrics", "log_likelihood"),
            *((("bigbench_multi_target", "1"),) if multi else ()),
        )
        item = Item("i", "Q", targets=tuple(targets), meta=meta)
        # the summed log-probability of each target, split over two tokens
        raw = ItemRaw(target_logprobs=[[lp / 2, lp / 2] for lp in lps])
        rows.append(item_metrics(item, raw))
    for name, value in EXP[key].items():
        assert sum(r[name] for r in rows) / len(rows) == approx(value)
    assert set().union(*rows) >= set(EXP[key])
    if multi:
        assert not any("log_likelihood_per_word" in r for r in rows)
