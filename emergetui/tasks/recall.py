"""Associative recall: a key -> value code that exists only in the prompt.

The classic probe of in-context learning (the lookup induction heads do,
Olsson et al. 2022; "associative recall" in the H3 and Hyena papers): each item
draws a *fresh* code, a random function from ``keys`` to ``values``, writes
``k`` example lines under it and asks for the value of the last key of one more
line::

    CX AS FZ BT        <- shots: lines of distinct keys, each followed by its value
    GS CX HW AS
    DU FZ CX B         <- the question; the answer is B's value (T)

Why a fresh random function per item (not one code shared by all items, as a
BIG-bench JSON file would have): the answer is then independent of everything
in a 0-shot prompt, the other pairs of the question's line included (a shared
permutation would leak "not one of the three values already shown"), so no
model can beat ``1 / len(values)`` without examples, whatever it learnt in
training. The level is declared on every item (``META_CHANCE``) and is what
the analysis tests "above chance" against.

Items are the same in every shot setting (same code, same question, the
first ``k`` lines of one seeded sequence of example lines), so the curves over
shot counts are paired item by item.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from emergetui.tasks.base import Item, ItemSet, TaskError
from emergetui.tasks.fewshot import derived_seed, join_shots, setting_name
from emergetui.tasks.metrics import META_CHANCE, applicable_metrics

#: Example lines drawn per item; the largest shot count a setting may ask for.
MAX_SHOTS = 32


def check(keys: str, values: str, pairs: int, n: int, where: str) -> None:
    """Every problem with the source's fields, as one TaskError naming the field."""
    if len(set(keys)) != len(keys) or len(keys) < 2:
        raise TaskError(f"{where}: field 'keys' must be 2 or more distinct characters")
    if len(set(values)) != len(values) or len(values) < 2:
        raise TaskError(f"{where}: field 'values' must be 2 or more distinct characters")
    if set(keys) & set(values) or any(c.isspace() for c in keys + values):
        raise TaskError(f"{where}: fields 'keys' and 'values' must be disjoint, without spaces")
    if not 1 <= pairs <= len(keys):
        raise TaskError(f"{where}: field 'pairs' must be 1 to {len(keys)} (the number of keys)")
    if n < 1:
        raise TaskError(f"{where}: field 'n' must be >= 1")


def _line(rng: random.Random, code: dict[str, str], keys: str, pairs: int) -> str:
    return " ".join(k + code[k] for k in rng.sample(keys, pairs))


def _item(task: str, i: int, keys: str, values: str, pairs: int, seed: int) -> tuple[str, ...]:
    """The code, the question line (without its last value), its answer and the example
    lines of item ``i``: one stream per item, so every shot setting sees the same item."""
    rng = random.Random(derived_seed(seed, "recall", task, str(i)))
    code = {k: rng.choice(values) for k in keys}
    line = _line(rng, code, keys, pairs)
    shots = [_line(rng, code, keys, pairs) for _ in range(MAX_SHOTS)]
    return ("".join(code[k] for k in keys), line[:-1], line[-1], *shots)


def item_set(
    task: str,
    keys: str,
    values: str,
    pairs: int,
    n: int,
    shots: int,
    seed: int,
    limit: int | None = None,
) -> ItemSet:
    if not 0 <= shots <= MAX_SHOTS:
        raise TaskError(f"{task}: shots must be 0 to {MAX_SHOTS}, got {shots}")
    chance = 1.0 / len(values)
    items = []
    for i in range(min(n, limit) if limit is not None else n):
        code, question, answer, *examples = _item(task, i, keys, values, pairs, seed)
        items.append(
            Item(
                item_id=f"{task}-{i}",
                prompt=join_shots(examples[:shots], question, "\n"),
                targets=(answer,),
                generate=True,
                stop=("\n",),
                max_tokens=2,
                output_regex=f"[{re.escape(values)}]",
                shots=shots,
                meta=((META_CHANCE, repr(chance)), ("code", code)),
            )
        )
    return ItemSet(
        task=task,
        setting=setting_name(shots),
        items=items,
        metrics=applicable_metrics(items[0]) if items else (),
        preferred_metric="exact_match",
        shots=shots,
        description=f"associative recall: {len(keys)} keys, {len(values)} values, a fresh code "
        "per item",
        extra={"source": "recall", "keys": keys, "values": values, "seed": str(seed)},
    )


def item_sets(
    task: str,
    keys: str,
    values: str,
    pairs: int,
    n: int,
    shots: Sequence[int],
    seed: int,
    limit: int | None = None,
) -> list[ItemSet]:
    return [item_set(task, keys, values, pairs, n, k, seed, limit) for k in shots]
