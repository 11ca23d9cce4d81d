"""Arithmetic generators and the shared few-shot selection."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emergetui.tasks import arithmetic
from emergetui.tasks.base import TaskError
from emergetui.tasks.fewshot import ShotOrder, derived_seed, setting_name
from emergetui.tasks.metrics import item_metrics
from emergetui.tasks.records import ItemRaw


def test_generation_is_deterministic_and_distinct() -> None:
    a = arithmetic.generate("mul", 3, 50, seed=1)
    assert a == arithmetic.generate("mul", 3, 50, seed=1)
    assert a != arithmetic.generate("mul", 3, 50, seed=2)
    assert a != arithmetic.generate("mul", 3, 50, 1, "other-salt")
    assert len({(p.a, p.b) for p in a}) == 50


def test_one_digit_space_is_exhausted_not_overdrawn() -> None:
    probs = arithmetic.generate("add", 1, 500, seed=0)
    assert len(probs) == 100 and len(set(probs)) == 100
    divs = arithmetic.generate("div", 1, 500, seed=0)
    assert len(divs) == 90 and all(p.b != 0 for p in divs)


@settings(max_examples=80, deadline=None)
@given(
    op=st.sampled_from(sorted(arithmetic.OPS)), digits=st.integers(1, 5), seed=st.integers(0, 2**32)
)
def test_answers_are_correct_and_operands_have_the_digits(op: str, digits: int, seed: int) -> None:
    lo, hi = arithmetic.operand_range(digits)
    for p in arithmetic.generate(op, digits, 5, seed):
        q = re.fullmatch(
            r"\nQ: What is (\d+) (plus|minus|times|divided by) (\d+)\?\nA: ", p.question("bigbench")
        )
        assert q is not None
        a, b = int(q.group(1)), int(q.group(3))
        if op == "div":
            assert b >= max(lo, 1) and lo <= p.answer <= hi and a == p.answer * b
        else:
            assert lo <= a <= hi and lo <= b <= hi
            assert p.answer == {"add": a + b, "sub": a - b, "mul": a * b}[op]
        plain = p.question("plain")
        assert plain == f"{a}{arithmetic.OPS[op][1]}{b}="


def test_bigbench_style_prompt_and_item_fields() -> None:
    s = arithmetic.item_set("arith-2digit-add", "add", 2, 20, shots=2, seed=3)
    assert s.setting == "shots=2" and s.preferred_metric == "exact_match" and len(s.items) == 20
    item = s.items[0]
    pool = arithmetic.generate("add", 2, 10, 3, "shots")
    test = arithmetic.generate("add", 2, 20, 3, "test")[0]
    assert item.prompt == (
        f"\nQ: What is {pool[0].a} plus {pool[0].b}?\nA: {pool[0].answer}\n"
        f"\nQ: What is {pool[1].a} plus {pool[1].b}?\nA: {pool[1].answer}\n"
        f"\nQ: What is {test.a} plus {test.b}?\nA: "
    )
    assert (
        item.targets == (str(test.answer),) and item.generate and item.output_regex == r"[-+]?\d+"
    )
    assert item.shots == 2 and dict(item.meta)["op"] == "add"
    # all items share the 2-shot context (the pool is separate from the test set)
    context = item.prompt[: item.prompt.rindex("\nQ:")]
    assert sum(it.prompt.startswith(context) for it in s.items) >= len(s.items) - 2
    assert item_metrics(item, ItemRaw(generated_text=f" {test.answer}\n"))["exact_match"] == 1.0


def test_plain_style_and_zero_shot() -> None:
    s = arithmetic.item_set("t", "sub", 1, 5, shots=0, seed=0, style="plain")
    p = arithmetic.generate("sub", 1, 5, 0, "test")[0]
    assert s.items[0].prompt == f"{p.a}-{p.b}="
    assert s.items[0].targets == (str(p.a - p.b),)
    one = arithmetic.item_set("t", "sub", 1, 5, shots=1, seed=0, style="plain", limit=2)
    assert len(one.items) == 2 and one.items[0].prompt.count("\n") == 1


def test_test_item_is_never_its_own_shot() -> None:
    # 1-digit division has only 90 problems, so the test set covers the whole pool
    s = arithmetic.item_set("t", "div", 1, 90, shots=3, seed=5)
    for item in s.items:
        a, b = dict(item.meta)["a"], dict(item.meta)["b"]
        assert f"What is {a} divided by {b}?\nA: {item.targets[0]}" not in item.prompt
    contexts = {it.prompt[: it.prompt.rindex("\nQ:")] for it in s.items}
    assert 2 <= len(contexts) <= 4  # the shared one, plus one per item that was a shot


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"op": "pow"}, "op must be"),
        ({"digits": 6}, "digits must be"),
        ({"digits": 0}, "digits must be"),
        ({"style": "latex"}, "style must be"),
        ({"n": 0}, "n must be"),
    ],
)
def test_bad_arguments(kw: dict, message: str) -> None:
    args = {"task": "t", "op": "add", "digits": 2, "n": 5, "shots": 0, "seed": 0} | kw
    with pytest.raises(TaskError, match=message):
        arithmetic.item_set(**args)


def test_shot_order() -> None:
    order = ShotOrder.seeded(10, 1, "task")
    assert order == ShotOrder.seeded(10, 1, "task") and sorted(order.order) == list(range(10))
    assert order != ShotOrder.seeded(10, 2, "task")
    first = order.order[0]
    assert order.shots_for(2, lambda i: False) == list(order.order[:2])
    assert order.shots_for(2, lambda i: i == first) == list(order.order[1:3])
    assert order.shots_for(0, lambda i: True) == []
    with pytest.raises(TaskError, match="3 shots"):
        ShotOrder.in_order(3).shots_for(3, lambda i: i == 0, "x")
    assert setting_name(5) == "shots=5" and setting_name(5, "letter") == "shots=5,letter"
    assert derived_seed(1, "a") == derived_seed(1, "a") != derived_seed(1, "b")
