"""Decoding a planned trie wave by wave, reading logits only where they are needed."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from emergetui.engine.native import NativeModel
from emergetui.engine.plan import KEEPER_SEQ, Trie, Wave, resident_lengths
from emergetui.engine.sumexp import best_sum_exp

# rows × vocab floats materialised at once for the log-softmax
_ROW_BLOCK = 32
# decodes whose copied logits rows may wait for the row workers at once (bounds memory)
_MAX_PENDING = 2


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
        workers = model.row_workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rows") if workers > 0 else None
        self._pending: deque[list[Future[None]]] = deque()

    def run(self, waves: list[Wave]) -> Iterator[Wave]:
        """Decode each wave; yields after a wave's prefill, with its sequences still live.

        The caller may append tokens to the wave's sequences (generation)
        before resuming; the wave's sequences are dropped when the generator
        resumes, keeping only what the next wave shares.
        """
        self.model.clear()
        try:
            for wave in waves:
                for i, length in enumerate(resident_lengths(self.trie, wave)):
                    if length:
                        self.model.seq_cp(KEEPER_SEQ, i + 1, 0, length)
                nodes = np.asarray(wave.new_nodes, dtype=np.int64)
                for start, stop in self._chunks(nodes):
                    self._decode_chunk(nodes[start:stop], wave)
                self._drain(0)
                yield wave
                self._next_wave(wave)
        finally:
            self._drain(0)
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        self.model.clear()

    def decode_nodes(self, nodes: list[int], wave: Wave, n_batch: int, max_out: int) -> None:
        """Decode ``nodes`` (pre-order, parents resident or earlier) for ``wave``'s sequences in
        chunks of at most ``n_batch`` tokens and ``max_out`` logits rows, which depend only on
        them; waits for their rows and releases the row workers."""
        arr = np.asarray(nodes, dtype=np.int64)
        try:
            for start, stop in self._chunks(arr, n_batch, max_out):
                self._decode_chunk(arr[start:stop], wave)
            self._drain(0)
        finally:
            self._drain(0)
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def _next_wave(self, wave: Wave) -> None:
        self.model.seq_rm(KEEPER_SEQ)
        if wave.keep:
            self.model.seq_cp(wave.hi - wave.lo + 1, KEEPER_SEQ, 0, wave.keep)
        for s in range(1, wave.n_requests + 1):
            self.model.seq_rm(s)

    def _drain(self, keep: int) -> None:
        """Wait until at most ``keep`` decodes' rows are still being reduced; re-raise their
        errors."""
        while len(self._pending) > keep:
            for fut in self._pending.popleft():
                fut.result()

    def _chunks(
        self, nodes: np.ndarray, n_batch: int | None = None, max_out: int | None = None
    ) -> Iterator[tuple[int, int]]:
        """Slices of at most n_batch tokens and at most ``max_outputs`` logits rows each."""
        n_batch = n_batch or self.model.n_batch
        max_out = max_out or self.model.max_outputs
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
        if not len(out_nodes):
            return
        rows = self.model.output_rows(len(out_nodes))
        if self._pool is None:
            self._consume(rows, out_nodes.tolist())
            return
        # With the model on a GPU the CPU would idle during the next decode:
        # copy the rows out (the next decode overwrites them) and reduce them
        # on worker threads (numpy releases the GIL) while the GPU goes on.
        rows = np.array(rows)
        node_list = out_nodes.tolist()
        self._drain(_MAX_PENDING - 1)
        self._pending.append(
            [
                self._pool.submit(
                    self._consume, rows[i : i + _ROW_BLOCK], node_list[i : i + _ROW_BLOCK]
                )
                for i in range(0, len(node_list), _ROW_BLOCK)
            ]
        )

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
    """Log-softmax normalisers of a few rows: float32 logits, the exp-sum accumulated in float64."""
    # argmax then gather instead of a separate max pass; the exp-and-sum pass
    # (see engine.sumexp) is the only other pass over the n_vocab-wide rows.
    am = block.argmax(axis=1)
    m = block[np.arange(len(block)), am]
    lse = m + np.log(best_sum_exp()(block, m))
    return [RowStats(float(lse[i]), float(m[i]), int(am[i])) for i in range(len(block))]
