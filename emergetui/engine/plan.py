"""Packing token sequences into llama.cpp batches with shared prefixes computed once.

This is the scheduling half of the scorer, kept free of llama.cpp so that it can
be reasoned about (and tested) on its own.

The idea is the one of llama.cpp's perplexity/hellaswag tools, generalised:

* All requests (token sequences) are deduplicated, sorted and inserted into a
  token trie. Sorted insertion creates the nodes in depth-first pre-order, so a
  parent is always decoded before its children and every node is *one* KV cell.
* Requests are cut into *waves*: consecutive runs of sorted requests that fit
  the sequence slots and the KV cache at once. Each request of a wave gets its
  own sequence id; a trie node carries the ids of every request of the wave
  passing through it (a contiguous range, thanks to the sorting), so a shared
  prefix is decoded once and attended to by all of them.
* Between waves, the prefix the next wave still needs (the common prefix of the
  last request of this wave and the first of the next) stays in the KV cache
  under a keeper sequence and is copied to the new sequences with
  ``llama_memory_seq_cp`` instead of being decoded again. Because of the sorting
  no other node is ever needed by two waves, so every distinct token of the
  workload is decoded exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

KEEPER_SEQ = 0


@dataclass
class Trie:
    """Token trie over deduplicated, sorted token sequences.

    Node arrays are parallel lists indexed by node id; ids follow pre-order.
    ``first``/``last`` give the range of (sorted, unique) requests whose path
    goes through the node.
    """

    token: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    first: list[int] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
    # requests: sorted unique token tuples and each one's node path
    seqs: list[tuple[int, ...]] = field(default_factory=list)
    paths: list[list[int]] = field(default_factory=list)
    lcp_prev: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, seqs: Sequence[tuple[int, ...]]) -> Trie:
        """Build from already sorted, unique, non-empty token tuples."""
        t = cls()
        prev: tuple[int, ...] = ()
        prev_path: list[int] = []
        for r, s in enumerate(seqs):
            lcp = _lcp(prev, s)
            path = prev_path[:lcp]
            for d in range(lcp, len(s)):
                node = len(t.token)
                t.token.append(s[d])
                t.depth.append(d)
                t.first.append(r)
                path.append(node)
            t.seqs.append(s)
            t.paths.append(path)
            t.lcp_prev.append(lcp)
            prev, prev_path = s, path
        t.last = _subtree_last(t.depth, t.first, len(seqs))
        return t

    @property
    def n_nodes(self) -> int:
        return len(self.token)


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common prefix, by bisection on slice equality (compared in C, not a
    Python loop)."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _subtree_last(depth: list[int], first: list[int], n_requests: int) -> list[int]:
    """The last request through each node: one less than the first request of the next node
    outside its subtree.

    Nodes are numbered in pre-order and requests are sorted, so a node's
    subtree is a contiguous run of node ids and the requests through it a
    contiguous run of request indices; the first node after the subtree (the
    next one no deeper than the node) is created by the first request that
    does not pass through it. One stack pass instead of touching every shared
    node once per request.
    """
    last = [n_requests - 1] * len(depth)
    stack: list[int] = []
    for v, d in enumerate(depth):
        while stack and depth[stack[-1]] >= d:
            last[stack.pop()] = first[v] - 1
        stack.append(v)
    return last


@dataclass
class Wave:
    """Requests ``lo..hi`` (inclusive, sorted indices) decoded together.

    ``resident`` is the number of leading nodes of the keeper path that are in
    the KV cache when the wave starts; ``keep`` how many of them (on the last
    request's path) must stay for the next wave.
    """

    lo: int
    hi: int
    resident: int
    keep: int
    new_nodes: list[int]

    @property
    def n_requests(self) -> int:
        return self.hi - self.lo + 1


def plan_waves(trie: Trie, n_slots: int, n_cells: int, extra_per_request: int = 0) -> list[Wave]:
    """Cut the sorted requests into waves that fit ``n_slots`` sequences and ``n_cells`` KV cells.

    ``extra_per_request`` reserves cells per request (generation appends tokens
    after the prompt). A single request that cannot fit on its own is the
    caller's job to reject beforehand.
    """
    waves: list[Wave] = []
    n = len(trie.seqs)
    r = 0
    resident = 0
    while r < n:
        lo = r
        cells = resident
        new_nodes: list[int] = []
        while r < n:
            path = trie.paths[r]
            start = trie.lcp_prev[r] if r > lo else resident
            need = len(path) - start + extra_per_request
            if r > lo and (r - lo >= n_slots or cells + need > n_cells):
                break
            cells += need
            new_nodes.extend(path[start:])
            r += 1
        hi = r - 1
        keep = trie.lcp_prev[r] if r < n else 0
        waves.append(Wave(lo=lo, hi=hi, resident=resident, keep=keep, new_nodes=new_nodes))
        resident = keep
    return waves


def resident_lengths(trie: Trie, wave: Wave) -> list[int]:
    """How many leading nodes each request of the wave finds already in the cache.

    The resident nodes are the first ``wave.resident`` nodes of request
    ``wave.lo``'s path; deeper nodes serve a shrinking, contiguous range of
    requests, so a request's share is the count of resident nodes whose range
    still reaches it.
    """
    if wave.resident == 0:
        return [0] * wave.n_requests
    lasts = [trie.last[node] for node in trie.paths[wave.lo][: wave.resident]]
    # lasts is non-increasing along the path; count entries >= r
    neg = [-x for x in lasts]
    return [bisect.bisect_right(neg, -r) for r in range(wave.lo, wave.hi + 1)]


def seq_range(trie: Trie, node: int, wave: Wave) -> tuple[int, int]:
    """Sequence ids (inclusive range) of the wave's requests that pass through ``node``."""
    a = max(trie.first[node], wave.lo) - wave.lo + 1
    b = min(trie.last[node], wave.hi) - wave.lo + 1
    return a, b


def wave_cells(n_ctx: int, longest: int, floor: int = 512) -> int:
    """KV cells one wave may use: one and a half of the longest request, at least ``floor``.

    Without flash attention every token of a decode is scored against every
    occupied cell of the unified cache (masked or not), so a wave that fills a
    4096-cell cache pays for attention over 4096 cells per token even when its
    sequences are 300 tokens long. Smaller waves keep that cost near the real
    sequence lengths; the shared prefix is still decoded only once (it stays
    resident between waves).
    """
    want = max(floor, (3 * longest) // 2)
    want = (want + 255) // 256 * 256
    return max(longest, min(n_ctx, want))
