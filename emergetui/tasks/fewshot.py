"""Few-shot example selection shared by every task family.

Choice made here (and why): each (task, shot count, seed) gets ONE seeded order
of the shot pool, and every test item uses the first ``k`` examples of that
order, skipping any that equal the test item itself. This is lm-eval's "fixed
few-shot context" rather than BIG-bench's fresh random draw per item, because
with a fixed context all items of a setting share the long prefix
``task_prefix + shot_1 + ... + shot_k``, which llama.cpp can keep in its KV cache
instead of re-evaluating thousands of tokens per item. An item that appears
among the first ``k`` shots gets the next spare from the same order, so only
that item's prompt diverges, and only from the replaced shot on.

Shot orders do not depend on k, so the 1-shot context is a prefix of the 3-shot
one and curves over shot counts compare like with like.

BIG-bench's own per-item draw (:func:`bigbench_draws`) is still available for
BIG-bench JSON tasks (``shot_sampling = "bigbench"``) when a number has to be
comparable with published BIG-bench results.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from emergetui.tasks.base import TaskError


def setting_name(shots: int, variant: str = "") -> str:
    """The ``ItemSet.setting`` string: shot count first, so settings sort and group by it."""
    return f"shots={shots}" + (f",{variant}" if variant else "")


def derived_seed(seed: int, *parts: str) -> int:
    """A stable sub-seed, so different tasks and purposes never share a random stream.

    Python's ``hash()`` is salted per process; a digest keeps runs reproducible.
    """
    text = "\x1f".join([str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class ShotOrder:
    """A seeded order of a shot pool; the first ``k`` entries are every item's shots."""

    order: tuple[int, ...]

    @classmethod
    def seeded(cls, pool_size: int, seed: int, *salt: str) -> ShotOrder:
        rng = random.Random(derived_seed(seed, "shots", *salt))
        order = list(range(pool_size))
        rng.shuffle(order)
        return cls(tuple(order))

    @classmethod
    def in_order(cls, pool_size: int) -> ShotOrder:
        """The pool as given: for benchmarks whose standard prompt uses the first k (MMLU dev)."""
        return cls(tuple(range(pool_size)))

    def shots_for(self, k: int, is_test_item: Callable[[int], bool], what: str = "") -> list[int]:
        """Pool indices of the ``k`` shots for one test item.

        ``is_test_item(i)`` says whether pool entry ``i`` is the test item (or an
        identical copy of it); such entries are skipped so the answer never leaks
        into the context. The result depends only on the order and on which
        entries are skipped, so it is the same for every item not in the first k.
        """
        if k <= 0:
            return []
        chosen: list[int] = []
        for i in self.order:
            if is_test_item(i):
                continue
            chosen.append(i)
            if len(chosen) == k:
                return chosen
        raise TaskError(
            f"{what or 'task'}: {k} shots need {k} examples besides the test item, "
            f"but the shot pool has only {len(chosen)}"
        )


def join_shots(shot_texts: Sequence[str], query: str, separator: str) -> str:
    """BIG-bench's layout: shots and the query joined by the separator, no trailing one."""
    return separator.join([*shot_texts, query])


def bigbench_draws(
    keys: Sequence[Hashable],
    inputs: Sequence[str],
    targets: Sequence[Sequence[str]],
    shots: int,
    seed: int,
    separator: str,
    what: str = "",
    count: int | None = None,
) -> list[str]:
    """BIG-bench's ``make_nshot_dataset``: for each query, in order, a fresh draw of
    ``shots`` other examples and of one target per shot, all from one
    ``np.random.RandomState(seed)``; returns each query's context (without the
    trailing separator). Examples whose ``keys`` are equal to the query's count
    as the query itself, as BIG-bench compares whole formatted examples.
    ``count`` stops after the first queries (their draws do not depend on later ones).

    ``rng.choice(list, k, replace=False)`` is ``permutation(n)[:k]`` and
    ``rng.choice(list)`` is ``randint(0, n)`` in numpy's legacy generator, so the
    index forms here consume it exactly as BIG-bench's calls do.
    """
    import numpy as np

    rng = np.random.RandomState(seed)
    same: dict[Hashable, list[int]] = {}
    for j, key in enumerate(keys):
        same.setdefault(key, []).append(j)
    everything = np.arange(len(keys))
    contexts = []
    for i in range(len(keys) if count is None else min(count, len(keys))):
        valid = np.delete(everything, same[keys[i]])
        if len(valid) < shots:
            raise TaskError(
                f"{what or 'task'}: {shots} shots need at least {shots + 1} distinct examples"
            )
        picked = valid[rng.permutation(len(valid))[:shots]]
        parts = [inputs[j] + targets[j][int(rng.randint(0, len(targets[j])))] for j in picked]
        contexts.append(separator.join(parts))
    return contexts
