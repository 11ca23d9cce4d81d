"""Metric functions against hand-computed values."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergetui.tasks.base import Item
from emergetui.tasks.calibration import ece_10_bins, reliability_bins
from emergetui.tasks.metrics import (
    BIGBENCH_DEFAULT_REGEX,
    BIGBENCH_METRIC_INFOS,
    METRICS,
    applicable_metrics,
    chance_levels,
    item_metrics,
    levenshtein,
    postprocess_output,
    response_text,
)
from emergetui.tasks.records import ItemRaw

LN = math.log


def mc_item(choices=("a", "bb", "c"), scores=(0.0, 1.0, 0.0)) -> Item:
    return Item(item_id="1", prompt="Q", choices=tuple(choices), target_scores=tuple(scores))


def test_metric_catalogue_metadata() -> None:
    assert METRICS["exact_match"].discrete and METRICS["exact_match"].higher_is_better
    assert not METRICS["brier_sum"].higher_is_better and not METRICS["brier_sum"].discrete
    assert not METRICS["token_edit_distance"].higher_is_better
    assert not METRICS["logprob_correct"].discrete
    with pytest.raises(TypeError):
        METRICS["x"] = METRICS["brier_sum"]  # type: ignore[index]


def test_multiple_choice_grade_and_logprob() -> None:
    raw = ItemRaw(choice_logprobs=[[-1.0, -0.5], [-1.2], [-3.0]])
    m = item_metrics(mc_item(), raw)
    assert m["multiple_choice_grade"] == 1.0  # sums -1.5, -1.2, -3.0
    assert m["logprob_correct"] == pytest.approx(-1.2)
    assert m["logprob_correct_mean"] == pytest.approx(-1.2)
    assert m["prob_correct"] == pytest.approx(math.exp(-1.2))
    assert "exact_match" not in m and "token_edit_distance" not in m


def test_ties_are_broken_by_bigbench_sha256_argmax_not_by_position() -> None:
    # Normalised log-probs of three equal choices are all -log(3); BIG-bench's
    # argmax picks index int(sha256(float64 bytes), 16) % 3, here 1 (the same
    # index computed by BIG-bench 1.0.0's task_metrics.argmax, see
    # test_bigbench_reference.py). A first-maximum rule would give choice 0.
    raw = ItemRaw(choice_logprobs=[[-1.0], [-1.0], [-1.0]])
    for scores in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)):
        grade = item_metrics(mc_item(scores=scores), raw)["multiple_choice_grade"]
        assert grade == scores[1]


def test_graded_target_scores() -> None:
    raw = ItemRaw(choice_logprobs=[[-2.0], [-1.0], [-3.0]])
    m = item_metrics(mc_item(scores=(1.0, 0.5, 0.0)), raw)
    assert m["multiple_choice_grade"] == 0.5
    assert m["logprob_correct"] == -2.0  # the correct answer is the best-scored choice


def test_mc_grade_norm_divides_by_characters() -> None:
    item = mc_item(choices=("a", "bbbb"), scores=(0.0, 1.0))
    raw = ItemRaw(choice_logprobs=[[-2.0], [-2.0, -2.0]])  # sums -2, -4; per char -2, -1
    m = item_metrics(item, raw)
    assert m["multiple_choice_grade"] == 0.0
    assert m["mc_grade_norm"] == 1.0


def test_best_scoring_correct_choice_is_used() -> None:
    item = mc_item(scores=(1.0, 1.0, 0.0))
    raw = ItemRaw(choice_logprobs=[[-1.0, -1.0], [-0.5, -0.5], [-0.1]])
    m = item_metrics(item, raw)
    assert m["logprob_correct"] == pytest.approx(-1.0)
    assert m["logprob_correct_mean"] == pytest.approx(-0.5)


def test_brier_against_hand_value_and_chance() -> None:
    item = mc_item(scores=(1.0, 0.0, 0.0))
    raw = ItemRaw(choice_logprobs=[[LN(0.5)], [LN(0.25)], [LN(0.25)]])
    assert item_metrics(item, raw)["brier_sum"] == pytest.approx(0.25 + 0.0625 + 0.0625)
    chance = chance_levels(item)
    assert chance["brier_sum"] == pytest.approx(4 / 9 + 2 / 9)
    assert chance["multiple_choice_grade"] == pytest.approx(1 / 3)
    assert "exact_match" not in chance
    # the softmax is over the choices only: shifting all log-likelihoods changes nothing
    shifted = ItemRaw(choice_logprobs=[[LN(0.5) - 7], [LN(0.25) - 7], [LN(0.25) - 7]])
    assert item_metrics(item, shifted)["brier_sum"] == pytest.approx(0.375)


def test_all_choices_impossible_is_uniform() -> None:
    raw = ItemRaw(choice_logprobs=[[-math.inf], [-math.inf], [-math.inf]])
    m = item_metrics(mc_item(scores=(1.0, 0.0, 0.0)), raw)
    assert m["brier_sum"] == pytest.approx(2 / 3)
    # a three-way tie at -inf, broken by BIG-bench's hash (index 2 for these bytes)
    assert m["multiple_choice_grade"] == 0.0
    assert item_metrics(mc_item(scores=(0.0, 0.0, 1.0)), raw)["multiple_choice_grade"] == 1.0


def gen_item(**kw) -> Item:
    base = dict(
        item_id="g", prompt="Q: 2+2?\nA: ", targets=("4",), generate=True, output_regex=r"[-+]?\d+"
    )
    base.update(kw)
    return Item(**base)


def test_exact_match_uses_regex_and_compares_strings() -> None:
    item = gen_item()
    assert item_metrics(item, ItemRaw(generated_text=" 4 apples"))["exact_match"] == 1.0
    assert item_metrics(item, ItemRaw(generated_text="44"))["exact_match"] == 0.0
    assert item_metrics(item, ItemRaw(generated_text="no digits"))["exact_match"] == 0.0
    assert item_metrics(item, ItemRaw(generated_text=None)) == {}
    assert chance_levels(item) == {"exact_match": 0.0}


def test_exact_match_default_regex_keeps_leading_space_like_bigbench() -> None:
    item = gen_item(targets=("Paris",), output_regex=BIGBENCH_DEFAULT_REGEX)
    assert item_metrics(item, ItemRaw(generated_text="Paris. It is"))["exact_match"] == 1.0
    assert item_metrics(item, ItemRaw(generated_text=" Paris"))["exact_match"] == 0.0
    item2 = gen_item(targets=("a", "b"), output_regex=None)
    assert item_metrics(item2, ItemRaw(generated_text="b"))["exact_match"] == 1.0


def test_bigbench_stop_string_is_put_back() -> None:
    item = gen_item(
        targets=("The apple is on the ground.",),
        output_regex=None,
        stop=(".",),
        meta=(("stop_string", "."),),
    )
    raw = ItemRaw(generated_text="The apple is on the ground", stop_reason="stop")
    assert response_text(item, raw) == "The apple is on the ground."
    assert item_metrics(item, raw)["exact_match"] == 1.0
    # stopped for another reason: nothing is added
    assert (
        response_text(item, ItemRaw(generated_text="The apple", stop_reason="length"))
        == "The apple"
    )


def test_postprocess_output_matches_bigbench() -> None:
    assert (
        postprocess_output("The apple is on the ground. What is", ".", None)
        == "The apple is on the ground."
    )
    assert postprocess_output(".abc.", ".", None) == ".abc."  # a stop string at 0 is ignored
    assert postprocess_output("= 42. 7*7 = 49.", None, r"\d+") == "42"
    assert postprocess_output("x", None, r"\d+") == ""
    assert postprocess_output("ab12", None, r"(a)(b)") == "ab"  # several groups: whole match


def test_token_edit_distance() -> None:
    item = gen_item(targets=("4", "four"))
    raw = ItemRaw(
        generated_text="4",
        generated_tokens=[1, 2, 3],
        target_tokens=[[1, 3], [1, 2, 3, 4]],
        target_logprobs=[[-0.1, -0.2], [-1.0] * 4],
        edit_response_tokens=[1, 2, 3],
        edit_target_tokens=[[1, 3], [1, 2, 3, 4]],
    )
    m = item_metrics(item, raw)
    assert m["token_edit_distance"] == 1.0
    assert "token_accuracy" not in m  # no greedy flags stored: not a wrong 0
    flags = ItemRaw(target_tokens=[[1, 2, 3], [4]], target_greedy=[[True, False, True], [False]])
    assert item_metrics(item, flags)["token_accuracy"] == pytest.approx(2 / 3)  # first target
    assert m["logprob_correct"] == pytest.approx(-0.3)  # first target
    assert m["logprob_correct_mean"] == pytest.approx(-0.15)
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein([], [1, 2]) == 2
    assert levenshtein([5], [5]) == 0
    # records stored before the answer was tokenized alone: no distance, not a wrong one
    old = ItemRaw(generated_text="4", generated_tokens=[1], target_tokens=[[2], [3]])
    assert "token_edit_distance" not in item_metrics(item, old)


def test_applicable_metrics_match_what_is_computed() -> None:
    item = gen_item(choices=("3", "4"), target_scores=(0.0, 1.0))
    raw = ItemRaw(
        choice_logprobs=[[-1.0], [-0.5]],
        target_tokens=[[9]],
        target_logprobs=[[-0.5]],
        target_greedy=[[True]],
        generated_text="4",
        generated_tokens=[9],
        edit_response_tokens=[9],
        edit_target_tokens=[[9]],
    )
    assert set(applicable_metrics(item)) == set(item_metrics(item, raw))
    assert set(applicable_metrics(item)) == {
        m.name for m in METRICS.values() if m not in BIGBENCH_METRIC_INFOS
    }


def test_missing_raw_data_gives_no_metrics() -> None:
    assert item_metrics(mc_item(), ItemRaw()) == {}
    assert item_metrics(mc_item(), ItemRaw(choice_logprobs=[[-1.0]])) == {}


@dataclass
class Rec:
    target_scores: list[float]
    raw: ItemRaw
    error: str | None = None


def test_ece_10_bins_hand_value() -> None:
    records = [
        Rec([1.0, 0.0], ItemRaw(choice_logprobs=[[LN(0.9)], [LN(0.1)]])),  # conf .9, right
        Rec([0.0, 1.0], ItemRaw(choice_logprobs=[[LN(0.6)], [LN(0.4)]])),  # conf .6, wrong
        Rec([1.0, 0.0], ItemRaw(), error="boom"),
        Rec([], ItemRaw()),
    ]
    assert ece_10_bins(records) == pytest.approx(0.5 * 0.1 + 0.5 * 0.6)
    bins = reliability_bins(records)
    assert len(bins) == 10 and bins[9].count == 1 and bins[6].count == 1
    assert math.isnan(ece_10_bins([]))
    certain = [Rec([1.0, 0.0], ItemRaw(choice_logprobs=[[0.0], [-math.inf]]))]
    assert ece_10_bins(certain) == pytest.approx(0.0)  # conf 1.0 goes in the top bin


@settings(max_examples=60, deadline=None)
@given(
    lps=st.lists(st.lists(st.floats(-50, 0), min_size=1, max_size=4), min_size=2, max_size=6),
    data=st.data(),
)
def test_metrics_stay_in_range(lps: list[list[float]], data: st.DataObject) -> None:
    n = len(lps)
    scores = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n).filter(any))
    item = mc_item(choices=[f"c{i}" for i in range(n)], scores=scores)
    m = item_metrics(item, ItemRaw(choice_logprobs=lps))
    assert m["multiple_choice_grade"] in (0.0, 1.0)
    assert 0.0 <= m["brier_sum"] <= 2.0 + 1e-9
    assert 0.0 <= m["prob_correct"] <= 1.0
    assert m["logprob_correct"] <= 0.0
