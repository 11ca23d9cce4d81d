"""Batched greedy generation: prompts prefilled through the shared trie, then one token per
step for every live sequence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from emergetui.engine.native import NativeModel
from emergetui.engine.plan import Trie, plan_waves, wave_cells
from emergetui.engine.prefill import TrieRunner, row_stats
from emergetui.engine.types import Generated


@dataclass
class _Live:
    """One sequence being generated: bytes are kept so multi-byte characters split across
    tokens decode right."""

    slot: int
    pos: int
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    ends: list[int] = field(default_factory=list)
    result: Generated | None = None


def generate_greedy(
    model: NativeModel,
    prompts: Sequence[tuple[int, ...]],
    max_tokens: int,
    stop: Sequence[str],
    on_done: Callable[[list[tuple[int, Generated]]], None] | None = None,
) -> list[Generated]:
    """Greedy continuations of token prompts; identical prompts are generated once.

    The text is cut at the first stop string (the stop string itself is not
    part of it); ``tokens`` keeps the tokens that begin before the cut.
    """
    uniq = sorted(set(prompts))
    index = {p: i for i, p in enumerate(uniq)}
    owners: list[list[int]] = [[] for _ in uniq]
    for i, p in enumerate(prompts):
        owners[index[p]].append(i)
    trie = Trie.build(uniq)
    wants: dict[int, set[int]] = {trie.paths[u][-1]: set() for u in range(len(uniq))}
    runner = TrieRunner(model, trie, wants)
    longest = max((len(p) for p in uniq), default=0) + max_tokens
    cells = wave_cells(model.n_ctx, longest)
    model.size_cells(cells)
    waves = plan_waves(trie, model.n_seq_max - 1, cells, extra_per_request=max_tokens)
    out: list[Generated | None] = [None] * len(prompts)
    for wave in runner.run(waves):
        live = [_Live(slot=u - wave.lo + 1, pos=len(uniq[u])) for u in range(wave.lo, wave.hi + 1)]
        firsts = [runner.stats[trie.paths[u][-1]] for u in range(wave.lo, wave.hi + 1)]
        for seq, st in zip(live, firsts):
            _accept(model, seq, st.argmax, st.max - st.lse, max_tokens, stop)
        _steps(model, [s for s in live if s.result is None], max_tokens, stop)
        done: list[tuple[int, Generated]] = []
        for u, seq in zip(range(wave.lo, wave.hi + 1), live):
            assert seq.result is not None
            seq.result.prompt_tokens = len(uniq[u])
            for i in owners[u]:
                out[i] = seq.result
                done.append((i, seq.result))
        if on_done is not None:
            on_done(done)
    return [
        g if g is not None else Generated(stop_reason="error", error="not generated") for g in out
    ]


def _steps(model: NativeModel, live: list[_Live], max_tokens: int, stop: Sequence[str]) -> None:
    b = model.batch
    while live:
        step = min(model.n_batch, model.max_outputs)
        for start in range(0, len(live), step):
            group = live[start : start + step]
            n = len(group)
            b.token[:n] = [s.tokens[-1] for s in group]
            b.pos[:n] = [s.pos for s in group]
            b.n_seq[:n] = 1
            b.seq[:n, 0] = [s.slot for s in group]
            b.logits[:n] = 1
            model.decode(n)
            rows = model.output_rows(n)
            for seq, st in zip(group, row_stats(rows)):
                seq.pos += 1
                _accept(model, seq, st.argmax, st.max - st.lse, max_tokens, stop)
        live = [s for s in live if s.result is None]


def _accept(
    model: NativeModel, seq: _Live, token: int, logprob: float, max_tokens: int, stop: Sequence[str]
) -> None:
    """Take one greedy token and decide whether the sequence is finished."""
    if max_tokens <= 0:
        seq.result = _finish(seq, "length", None)
        return
    if model.is_eog(token):
        seq.result = _finish(seq, "eos", None)
        return
    seq.tokens.append(token)
    seq.logprobs.append(float(logprob))
    seq.data += model.piece(token)
    seq.ends.append(len(seq.data))
    cut = _first_stop(bytes(seq.data), stop)
    if cut is not None:
        seq.result = _finish(seq, "stop", cut)
    elif len(seq.tokens) >= max_tokens:
        seq.result = _finish(seq, "length", None)


def _first_stop(data: bytes, stop: Sequence[str]) -> int | None:
    """Byte offset of the earliest stop string after the first byte.

    A stop string at offset 0 does not stop generation, as in BIG-bench's
    ``postprocess_output`` (``index > 0``): a model that opens its answer
    with a newline still gets to give the answer. UTF-8 is self-synchronising,
    so a byte search is exact.
    """
    hits = [i for i in (data.find(s.encode("utf-8"), 1) for s in stop if s) if i > 0]
    return min(hits) if hits else None


def _finish(seq: _Live, reason: str, cut: int | None) -> Generated:
    tokens, logprobs, data = seq.tokens, seq.logprobs, bytes(seq.data)
    if cut is not None:
        data = data[:cut]
        starts = np.concatenate([[0], np.asarray(seq.ends[:-1], dtype=np.int64)])
        keep = int((starts < cut).sum()) if cut > 0 else 0
        tokens, logprobs = tokens[:keep], logprobs[:keep]
    text = data.decode("utf-8", errors="replace")
    return Generated(text=text, tokens=list(tokens), logprobs=list(logprobs), stop_reason=reason)
