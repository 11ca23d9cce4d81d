"""Associative recall: a fresh code per item, nested shots, a declared chance of 1/len(values)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from emergetui.tasks.metrics import chance_levels
from emergetui.tasks.recall import MAX_SHOTS, item_sets
from emergetui.tasks.registry import resolve_tasks

KEYS, VALUES = "ABCDEFGH", "STUVWXYZ"


def _code(item) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(KEYS, dict(item.meta)["code"], strict=True))


def test_items_are_the_same_in_every_shot_setting_and_shots_are_nested() -> None:
    zero, one, four = item_sets("rc", KEYS, VALUES, 4, 50, (0, 1, 4), seed=0)
    assert [s.setting for s in (zero, one, four)] == ["shots=0", "shots=1", "shots=4"]
    for a, b, c in zip(zero.items, one.items, four.items, strict=True):
        assert a.item_id == b.item_id == c.item_id
        assert a.targets == b.targets == c.targets and len(a.targets[0]) == 1
        assert b.prompt.endswith("\n" + a.prompt) and c.prompt.endswith("\n" + a.prompt)
        assert c.prompt.startswith(b.prompt.split("\n")[0] + "\n")  # 1 shot is 4's first line
        code = _code(a)
        *shots, question = c.prompt.split("\n")
        assert len(shots) == 4
        for line in [*shots, question + a.targets[0]]:
            pairs = line.split(" ")
            assert len(pairs) == 4 and len({p[0] for p in pairs}) == 4
            assert all(code[p[0]] == p[1] for p in pairs)  # every line under the item's code
        assert re.fullmatch(a.output_regex or "", a.targets[0])


def test_codes_are_fresh_random_functions_and_chance_is_declared() -> None:
    (zero,) = item_sets("rc", KEYS, VALUES, 4, 400, (0,), seed=0)
    codes = [dict(i.meta)["code"] for i in zero.items]
    assert len(set(codes)) == len(codes)  # a new code for every question
    assert any(len(set(c)) < len(c) for c in codes)  # values may repeat: not a permutation
    answers = Counter(i.targets[0] for i in zero.items)
    assert set(answers) == set(VALUES) and max(answers.values()) < 2 * 400 / 8
    # the question line's other values say nothing about the answer: it is one of them
    # about as often as three independent draws of 1 in 8 are (1 - (7/8)^3 = 33%)
    seen = sum(i.targets[0] in i.prompt for i in zero.items) / len(zero.items)
    assert 0.25 < seen < 0.42
    assert chance_levels(zero.items[0])["exact_match"] == pytest.approx(1 / 8)
    assert item_sets("rc", KEYS, VALUES, 4, 3, (0,), seed=1)[0].items[0] != zero.items[0]


def test_a_toml_task_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "rc.toml"
    good.write_text(
        'name = "rc"\nshots = [0, 2]\n[source]\ntype = "recall"\nkeys = "abcd"\n'
        'values = "wxyz"\npairs = 2\nn = 10\n',
        encoding="utf-8",
    )
    sets, errors = resolve_tasks([str(good)], None, None, 0, [])
    assert not errors and [s.setting for s in sets] == ["shots=0", "shots=2"]
    assert sets[1].items[0].prompt.count("\n") == 2 and sets[0].shots == 0
    for source, message in [
        ('keys = "aab"', "field 'keys'"),
        ('values = "ab"\nkeys = "bc"', "disjoint"),
        ("pairs = 9", "field 'pairs'"),
        ("n = 0", "field 'n'"),
        ("pair = 2", "unknown field 'source.pair'"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(f'name = "bad"\n[source]\ntype = "recall"\n{source}\n', encoding="utf-8")
        sets, errors = resolve_tasks([str(bad)], None, None, 0, [])
        assert not sets and len(errors) == 1
        assert str(bad) in str(errors[0]) and message in str(errors[0]), errors[0]
    too_many = tmp_path / "many.toml"
    too_many.write_text(
        f'name = "many"\nshots = [{MAX_SHOTS + 1}]\n[source]\ntype = "recall"\n', encoding="utf-8"
    )
    sets, errors = resolve_tasks([str(too_many)], None, None, 0, [])
    assert not sets and f"0 to {MAX_SHOTS}" in str(errors[0])
