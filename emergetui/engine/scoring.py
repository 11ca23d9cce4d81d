"""Packed, prefix-shared log-likelihood scoring of token sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emergetui.engine.native import NativeModel
from emergetui.engine.plan import Trie, plan_waves, wave_cells
from emergetui.engine.prefill import TrieRunner


@dataclass(frozen=True)
class TokenRequest:
    """Score ``tokens[n_context:]`` given everything before it (``n_context >= 1``)."""

    tokens: tuple[int, ...]
    n_context: int


@dataclass
class TokenScore:
    logprobs: list[float]
    greedy: list[bool]


def score_tokens(
    model: NativeModel,
    requests: Sequence[TokenRequest],
    on_done: Callable[[list[tuple[int, TokenScore]]], None] | None = None,
) -> list[TokenScore]:
    """Score all requests; identical sequences and shared prefixes are decoded once.

    A request's last token is only ever a *target*, never an input, so the
    trie holds ``tokens[:-1]``: the options of a multiple-choice question that
    differ only in their last token collapse into one sequence whose final row
    scores them all. ``on_done`` receives ``(index, score)`` pairs as each wave
    finishes, so a caller can store results while later waves still run.
    """
    inputs = [r.tokens[:-1] for r in requests]
    uniq = sorted(set(inputs))
    index = {s: i for i, s in enumerate(uniq)}
    owners: list[list[int]] = [[] for _ in uniq]
    for i, s in enumerate(inputs):
        owners[index[s]].append(i)
    trie = Trie.build(uniq)
    wants: dict[int, set[int]] = {}
    for r, s in zip(requests, inputs):
        path = trie.paths[index[s]]
        for j in range(r.n_context - 1, len(r.tokens) - 1):
            wants.setdefault(path[j], set()).add(r.tokens[j + 1])
    runner = TrieRunner(model, trie, wants)
    longest = max((len(s) for s in uniq), default=0)
    cells = wave_cells(model.n_ctx, longest)
    model.size_cells(cells)
    waves = plan_waves(trie, n_slots=model.n_seq_max - 1, n_cells=cells)
    results: list[TokenScore | None] = [None] * len(requests)
    for wave in runner.run(waves):
        done: list[tuple[int, TokenScore]] = []
        for u in range(wave.lo, wave.hi + 1):
            path = trie.paths[u]
            for i in owners[u]:
                r = requests[i]
                pairs = [
                    runner.scores[(path[j], r.tokens[j + 1])]
                    for j in range(r.n_context - 1, len(r.tokens) - 1)
                ]
                res = TokenScore([p[0] for p in pairs], [p[1] for p in pairs])
                results[i] = res
                done.append((i, res))
        if on_done is not None:
            on_done(done)
    return [r if r is not None else TokenScore([], []) for r in results]
