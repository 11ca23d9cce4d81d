"""Decoding a planned trie wave by wave, reading logits only where they are needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from emergetui.engine.native import NativeModel
from emergetui.engine.plan import KEEPER_SEQ, Trie, Wave, resident_lengths

# rows × vocab floats materialised at once for the log-softmax
_ROW_BLOCK = 32


@dataclass
class RowStats:
    """What is kept of one logits row: its log-normaliser, max and argmax.

    Together with the raw logit of a target token these give that token's
    log-probability and greedy flag; the row itself is never kept.
    """

    lse: float
    max: float
    argmax: int


class TrieRunner:
    """Runs the waves of one trie on one model.

    ``wants[node]`` lists the next tokens whose log-probability is needed at a
    node; a node with an entry (possibly empty, meaning "just the argmax")
    gets its logits computed. Results land in ``scores[(node, token)]`` and
    ``stats[node]``.
    """

    def __init__(self, model: NativeModel, trie: Trie, wants: dict[int, set[int]]) -> None:
        self.model = model
        self.trie = trie
        self.wants = wants
        self.scores: dict[tuple[int, int], tuple[float, bool]] = {}
        self.stats: dict[int, RowStats] = {}
        n = trie.n_nodes
        self._tok = np.asarray(trie.token, dtype=np.int32)
        self._depth = np.asarray(trie.depth, dtype=np.int32)
        self._first = np.asarray(trie.first, dtype=np.int32)
        self._last = np.asarray(trie.last, dtype=np.int32)
        self._flag = np.zeros(n, dtype=np.int8)
        if wants:
            self._flag[np.fromiter(wants.keys(), dtype=np.int64)] = 1
        self._arange = np.arange(model.n_seq_max, dtype=np.int32)
        self.tokens_decoded = 0

    def run(self, waves: list[Wave]) -> Iterator[Wave]:
        """Decode each wave; yields after a wave's prefill, with its sequences still live.

        The caller may append tokens to the wave's sequences (generation)
        before resuming; the wave's sequences are dropped when the generator
        resumes, keeping only what the next wave shares.
        """
        self.model.clear()
        for wave in waves:
            for i, length in enumerate(resident_lengths(self.trie, wave)):
                if length:
                    self.model.seq_cp(KEEPER_SEQ, i + 1, 0, length)
            nodes = np.asarray(wave.new_nodes, dtype=np.int64)
            for start, stop in self._chunks(nodes):
                self._decode_chunk(nodes[start:stop], wave)
            yield wave
            self.model.seq_rm(KEEPER_SEQ)
            if wave.keep:
                self.model.seq_cp(wave.hi - wave.lo + 1, KEEPER_SEQ, 0, wave.keep)
            for s in range(1, wave.n_requests + 1):
                self.model.seq_rm(s)
        self.model.clear()

    def _chunks(self, nodes: np.ndarray) -> Iterator[tuple[int, int]]:
        """Slices of at most n_batch tokens and at most ``max_outputs`` logits rows each."""
        n_batch, max_out = self.model.n_batch, self.model.max_outputs
        outs = np.cumsum(self._flag[nodes], dtype=np.int64)
        start = 0
        while start < len(nodes):
            before = outs[start - 1] if start else 0
            # last index whose cumulative outputs stay within the cap
            by_out = int(np.searchsorted(outs, before + max_out, side="right"))
            stop = min(start + n_batch, len(nodes), max(by_out, start + 1))
            yield start, stop
            start = stop

    def _decode_chunk(self, nodes: np.ndarray, wave: Wave) -> None:
        b = self.model.batch
        n = len(nodes)
        b.token[:n] = self._tok[nodes]
        b.pos[:n] = self._depth[nodes]
        lo = np.maximum(self._first[nodes], wave.lo) - wave.lo + 1
        hi = np.minimum(self._last[nodes], wave.hi) - wave.lo + 1
        b.n_seq[:n] = hi - lo + 1
        b.seq[:n] = lo[:, None] + self._arange[None, :]
        flags = self._flag[nodes]
        b.logits[:n] = flags
        self.model.decode(n)
        self.tokens_decoded += n
        out_nodes = nodes[flags.astype(bool)]
        if len(out_nodes):
            self._consume(self.model.output_rows(len(out_nodes)), out_nodes.tolist())

    def _consume(self, rows: np.ndarray, nodes: list[int]) -> None:
        for start in range(0, len(nodes), _ROW_BLOCK):
            block = rows[start : start + _ROW_BLOCK]
            stats = row_stats(block)
            for j, node in enumerate(nodes[start : start + _ROW_BLOCK]):
                st = stats[j]
                self.stats[node] = st
                row = block[j]
                for tok in self.wants.get(node, ()):
                    x = float(row[tok])
                    self.scores[(node, tok)] = (x - st.lse, x >= st.max)


def row_stats(block: np.ndarray) -> list[RowStats]:
    """Log-softmax normalisers of a few rows, in float32 like llama.cpp's own tools."""
    m = block.max(axis=1)
    am = block.argmax(axis=1)
    lse = m + np.log(np.exp(block - m[:, None]).sum(axis=1, dtype=np.float32))
    return [RowStats(float(lse[i]), float(m[i]), int(am[i])) for i in range(len(block))]


def single_row_stats(row: np.ndarray) -> RowStats:
    return row_stats(row[None, :])[0]


OnDone = Callable[[int], None]
