"""Seeded arithmetic problems: the classic emergence task (GPT-3, BIG-bench arithmetic).

Generated rather than shipped so any digit count and any number of items is
available, and the same (op, digits, n, seed) always gives the same items. Two
prompt styles: BIG-bench's wording (``"\\nQ: What is 12 plus 7?\\nA: "``, shots
joined by ``"\\n"`` like its arithmetic task) and a bare ``"12+7="`` form, which
separates "can add" from "understands the question format".

Operands have exactly ``digits`` digits (1-digit operands include 0, as in
BIG-bench). Subtraction may go negative. Division is exact: the dividend is
``quotient * divisor`` with a ``digits``-digit quotient and divisor (divisor > 0).
Answers are scored with BIG-bench's arithmetic regex ``[-+]?\\d+``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from emergetui.tasks.base import Item, ItemSet, TaskError
from emergetui.tasks.fewshot import ShotOrder, derived_seed, join_shots, setting_name
from emergetui.tasks.metrics import applicable_metrics

OPS: dict[str, tuple[str, str]] = {
    "add": ("plus", "+"),
    "sub": ("minus", "-"),
    "mul": ("times", "*"),
    "div": ("divided by", "/"),
}
STYLES = ("bigbench", "plain")
MAX_DIGITS = 5
MAX_PROBLEMS = 1_000_000
ANSWER_REGEX = r"[-+]?\d+"


@dataclass(frozen=True)
class Problem:
    """``a <op> b``; for division ``a`` is already the exact dividend."""

    op: str
    a: int
    b: int

    @property
    def answer(self) -> int:
        if self.op == "add":
            return self.a + self.b
        if self.op == "sub":
            return self.a - self.b
        if self.op == "mul":
            return self.a * self.b
        return self.a // self.b

    def question(self, style: str) -> str:
        word, symbol = OPS[self.op]
        if style == "plain":
            return f"{self.a}{symbol}{self.b}="
        return f"\nQ: What is {self.a} {word} {self.b}?\nA: "


def operand_range(digits: int) -> tuple[int, int]:
    """Inclusive range of ``digits``-digit numbers (0..9 for one digit)."""
    return (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1


def _check(op: str, digits: int, style: str = "bigbench") -> None:
    if op not in OPS:
        raise TaskError(f"arithmetic: op must be one of {sorted(OPS)}, got {op!r}")
    if not isinstance(digits, int) or isinstance(digits, bool) or not 1 <= digits <= MAX_DIGITS:
        raise TaskError(f"arithmetic: digits must be an integer 1-{MAX_DIGITS}, got {digits!r}")
    if style not in STYLES:
        raise TaskError(f"arithmetic: style must be one of {STYLES}, got {style!r}")


def generate(op: str, digits: int, n: int, seed: int, *salt: str) -> list[Problem]:
    """``n`` distinct problems (fewer only if fewer exist, e.g. 1-digit), seeded.

    ``salt`` separates streams, so the shot pool and the test set never share draws.
    """
    _check(op, digits)
    if not isinstance(n, int) or n < 1:
        raise TaskError(f"arithmetic: n must be an integer >= 1, got {n!r}")
    if n > MAX_PROBLEMS:  # a typo like n = 10_000_000_000 would otherwise exhaust memory, not fail
        raise TaskError(
            f"arithmetic: cannot draw {n} problems (items or shots), at most {MAX_PROBLEMS}"
        )
    lo, hi = operand_range(digits)
    b_lo = max(lo, 1) if op == "div" else lo
    rng = random.Random(derived_seed(seed, "arithmetic", op, str(digits), *salt))
    space = (hi - lo + 1) * (hi - b_lo + 1)

    def make(x: int, y: int) -> Problem:
        return Problem(op, x * y, y) if op == "div" else Problem(op, x, y)

    if n >= space // 2:  # dense: shuffle the whole space instead of rejection sampling
        pairs = [(x, y) for x in range(lo, hi + 1) for y in range(b_lo, hi + 1)]
        rng.shuffle(pairs)
        return [make(x, y) for x, y in pairs[:n]]
    seen: set[tuple[int, int]] = set()
    out: list[Problem] = []
    while len(out) < n:
        pair = (rng.randint(lo, hi), rng.randint(b_lo, hi))
        if pair not in seen:
            seen.add(pair)
            out.append(make(*pair))
    return out


def _is_at(pool: Sequence[Problem], problem: Problem, j: int) -> bool:
    """Whether shot ``j`` of the pool is this test problem (then it is not shown as a shot)."""
    return pool[j] == problem


def item_set(
    task: str,
    op: str,
    digits: int,
    n: int,
    shots: int,
    seed: int,
    style: str = "bigbench",
    limit: int | None = None,
) -> ItemSet:
    """Items for one shot count. Shots come from a separately seeded pool; every item
    uses the pool's first ``shots`` problems, skipping one equal to the item itself."""
    _check(op, digits, style)
    problems = generate(op, digits, n, seed, "test")
    pool = generate(op, digits, shots + 8, seed, "shots") if shots else []
    order = ShotOrder.in_order(len(pool))
    sep = "\n"
    items: list[Item] = []
    for i, p in enumerate(problems[:limit] if limit is not None else problems):
        picked = order.shots_for(shots, partial(_is_at, pool, p), f"{task} (shot pool)")
        shot_texts = [pool[j].question(style) + str(pool[j].answer) for j in picked]
        items.append(
            Item(
                item_id=f"{op}{digits}-{i}",
                prompt=join_shots(shot_texts, p.question(style), sep),
                targets=(str(p.answer),),
                generate=True,
                stop=("\n",),
                max_tokens=2 * digits + 8,
                output_regex=ANSWER_REGEX,
                shots=shots,
                meta=(
                    ("op", op),
                    ("digits", str(digits)),
                    ("a", str(p.a)),
                    ("b", str(p.b)),
                    ("style", style),
                ),
            )
        )
    return ItemSet(
        task=task,
        setting=setting_name(shots),
        items=items,
        metrics=applicable_metrics(items[0]) if items else (),
        preferred_metric="exact_match",
        shots=shots,
        description=f"{digits}-digit {OPS[op][0]} ({style} style)",
        extra={
            "source": "arithmetic",
            "op": op,
            "digits": str(digits),
            "style": style,
            "seed": str(seed),
        },
    )


def item_sets(
    task: str,
    op: str,
    digits: int,
    n: int,
    shots: Sequence[int],
    seed: int,
    style: str = "bigbench",
    limit: int | None = None,
) -> list[ItemSet]:
    return [item_set(task, op, digits, n, k, seed, style, limit) for k in shots]
