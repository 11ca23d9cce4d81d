"""Batch-invariant scoring: a request's log-probs do not depend on what else is scored with it.

llama.cpp's CPU kernels give results that depend on the *geometry* of a decode,
not only on its inputs (measured in ``benchmarks/invariance.py``, written up in
``docs/exactness.md``): a row's result changes with the micro-batch's size and
the row's place in it (consistent with ggml choosing kernels and accumulation
orders by shape: repacked 4-row groups, llamafile tiles, a one-row path), and
with where the sequence's KV cells sit (an offset or gap that is not a multiple
of 16 cells, consistent with attention sums vectorised over the cell index).
Packed scoring (``engine.scoring``) mixes the requests of many items in one
micro-batch and one cache, so an item's numbers followed its neighbours.

Here every decode is made a function of the item alone, so that the arithmetic
is *literally* the same whatever else is in the call; nothing relies on knowing
which kernel ggml picks:

* An item is the set of requests with the same context tokens (the options of a
  multiple-choice question). Items are processed one at a time in sorted order.
* The item's *stem* — its tokens up to the last multiple of ``STEM`` before the
  first place its requests differ or are scored — is decoded in fixed chunks of
  ``STEM`` positions, each chunk alone in its micro-batch, without logits, from
  an otherwise empty cache: chunk ``j`` always sits in cells ``[j*STEM, (j+1)*STEM)``.
  Such chunks depend only on the tokens before them, so they are kept (under the
  keeper sequence) for the next item that starts with the same tokens: a shared
  few-shot prefix is still decoded once per call.
* The rest of the item (its trie beyond the stem: the last part of the context
  and all options) is decoded in micro-batches holding nothing else, in the
  item's own sorted order, in the cells right after the stem; then its cells
  are freed, so the next item starts from the same layout.

What it costs: more decodes (the weights are streamed once per item, not once per
2048 tokens) and up to ``STEM - 1`` tokens of a shared prefix decoded again per
item: 0.82-0.84x the decode limit instead of 0.93x (``docs/exactness.md``).
``Engine.load(invariant=False)`` (CLI ``--fast-packing``) packs across items
instead (``engine.scoring``), faster but only equal within llama.cpp's spread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emergetui.engine.native import NativeModel
from emergetui.engine.plan import KEEPER_SEQ, Trie, Wave, _lcp
from emergetui.engine.prefill import TrieRunner
from emergetui.engine.scoring import TokenRequest, TokenScore

# positions per stem chunk: the granularity at which a prefix is shared between items
STEM = 32
# The cache is never smaller than this, so micro-batches of up to this many tokens (and the
# logits rows cap derived from it) are the same whatever size a call gives the cache.
MIN_CELLS = 512


def _trie_size(uniq: list[tuple[int, ...]]) -> int:
    """Nodes (KV cells) of the trie of sorted unique sequences."""
    return sum(len(s) - (_lcp(uniq[i - 1], s) if i else 0) for i, s in enumerate(uniq))


def _split(uniq: list[tuple[int, ...]], stem: int, n_slots: int, n_cells: int) -> list[list[int]]:
    """Cut an item's sorted unique inputs into parts that fit the sequence slots and the cache.

    Depends only on the item, so the same item is always cut the same way.
    """
    parts: list[list[int]] = []
    cur: list[int] = []
    cells = stem
    prev: tuple[int, ...] = ()
    for i, s in enumerate(uniq):
        need = len(s) - max(stem, _lcp(prev, s) if cur else stem)
        if cur and (len(cur) >= n_slots or cells + need > n_cells):
            parts.append(cur)
            cur, cells = [], stem
            need = len(s) - stem
        cur.append(i)
        cells += need
        prev = s
    if cur:
        parts.append(cur)
    return parts


class InvariantScorer:
    """Scores requests item by item in a geometry that depends on the item only."""

    def __init__(self, model: NativeModel) -> None:
        self.model = model
        self.stem: tuple[int, ...] = ()  # tokens resident under the keeper sequence
        self.tokens_decoded = 0
        # Micro-batch limits that do not depend on the cache size of this call (NativeModel's
        # n_batch and max_outputs shrink with it); a tiny n_batch takes smaller stem chunks.
        self.n_batch = min(model.n_batch_max, MIN_CELLS)
        self.max_out = max(model.n_seq_max, min(self.n_batch, model.outputs_cap))
        self.step = min(STEM, self.n_batch)

    def _decode_stem(self, tokens: tuple[int, ...], start: int, stop: int) -> None:
        b = self.model.batch
        n = stop - start
        b.token[:n] = tokens[start:stop]
        b.pos[:n] = np.arange(start, stop, dtype=np.int32)
        b.n_seq[:n] = 1
        b.seq[:n, 0] = KEEPER_SEQ
        b.logits[:n] = 0
        self.model.decode(n)
        self.tokens_decoded += n

    def _set_stem(self, tokens: tuple[int, ...], length: int) -> None:
        """Make the keeper hold exactly ``tokens[:length]`` (``length`` a multiple of the step)."""
        keep = min(_lcp(self.stem, tokens[:length]), length) // self.step * self.step
        if keep < len(self.stem):
            self.model.seq_rm(KEEPER_SEQ, keep, -1)
        for j in range(keep, length, self.step):
            self._decode_stem(tokens, j, j + self.step)
        self.stem = tuple(tokens[:length])

    def score_item(self, reqs: list[TokenRequest]) -> list[TokenScore]:
        """Scores of one item's requests (all with the same context tokens)."""
        m = self.model
        inputs = [r.tokens[:-1] for r in reqs]
        uniq = sorted(set(inputs))
        n_ctx = reqs[0].n_context
        branch = len(uniq[0])
        for s in uniq[1:]:
            branch = min(branch, _lcp(uniq[0], s))
        stem = min(branch, n_ctx - 1) // self.step * self.step
        self._set_stem(uniq[0], stem)
        index = {s: i for i, s in enumerate(uniq)}
        scores: dict[tuple[tuple[int, ...], int], tuple[float, bool]] = {}
        for part in _split(uniq, stem, m.n_seq_max - 1, m.n_ctx):
            seqs = [uniq[i] for i in part]
            trie = Trie.build(seqs)
            wants: dict[int, set[int]] = {}
            for r, s in zip(reqs, inputs):
                if index[s] not in part:
                    continue
                path = trie.paths[seqs.index(s)]
                for j in range(r.n_context - 1, len(r.tokens) - 1):
                    wants.setdefault(path[j], set()).add(r.tokens[j + 1])
            for k in range(1, len(seqs) + 1):
                m.seq_cp(KEEPER_SEQ, k, 0, stem)
            nodes = [v for v in range(trie.n_nodes) if trie.depth[v] >= stem]
            wave = Wave(lo=0, hi=len(seqs) - 1, resident=0, keep=0, new_nodes=nodes)
            runner = TrieRunner(m, trie, wants)
            runner.decode_nodes(nodes, wave, self.n_batch, self.max_out)
            self.tokens_decoded += runner.tokens_decoded
            for k in range(1, len(seqs) + 1):
                m.seq_rm(k)
            for r, s in zip(reqs, inputs):
                if index[s] not in part:
                    continue
                path = trie.paths[seqs.index(s)]
                for j in range(r.n_context - 1, len(r.tokens) - 1):
                    scores[(r.tokens, j)] = runner.scores[(path[j], r.tokens[j + 1])]
        out = []
        for r in reqs:
            pairs = [scores[(r.tokens, j)] for j in range(r.n_context - 1, len(r.tokens) - 1)]
            out.append(TokenScore([p[0] for p in pairs], [p[1] for p in pairs]))
        return out


def score_invariant(
    model: NativeModel,
    requests: Sequence[TokenRequest],
    on_done: Callable[[list[tuple[int, TokenScore]]], None] | None = None,
) -> list[TokenScore]:
    """Score all requests item by item (see the module docstring); same contract as
    ``engine.scoring.score_tokens``."""
    items: dict[tuple[int, ...], list[int]] = {}
    for i, r in enumerate(requests):
        items.setdefault(r.tokens[: r.n_context], []).append(i)
    # An item's cells stay at the bottom of the cache (each item's are freed before the next),
    # so the cache only has to hold the largest item: the cache size itself changes nothing
    # (measured: the same floats in 512, 1024 and 4096 cells; n_kv follows the cells in use).
    need = max(
        (_trie_size(sorted({requests[i].tokens[:-1] for i in idx})) for idx in items.values()),
        default=0,
    )
    model.size_cells(min(model.n_ctx, max(MIN_CELLS, need + STEM)))
    results: list[TokenScore] = [TokenScore([], []) for _ in requests]
    model.clear()
    scorer = InvariantScorer(model)
    try:
        for ctx in sorted(items):
            idx = items[ctx]
            scored = scorer.score_item([requests[i] for i in idx])
            for i, s in zip(idx, scored):
                results[i] = s
            if on_done is not None:
                on_done(list(zip(idx, scored)))
    finally:
        model.clear()
    return results
