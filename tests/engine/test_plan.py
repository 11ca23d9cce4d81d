"""The token trie behind packed scoring, against brute-force definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emergetui.engine.plan import Trie, _lcp

sequences = st.lists(
    st.lists(st.integers(0, 3), min_size=1, max_size=9).map(tuple), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(sequences)
def test_trie_matches_brute_force(raw: list[tuple[int, ...]]) -> None:
    seqs = sorted(set(raw))
    t = Trie.build(seqs)
    through: dict[int, list[int]] = {}
    for r, (s, path) in enumerate(zip(t.seqs, t.paths)):
        assert [t.token[v] for v in path] == list(s)
        assert [t.depth[v] for v in path] == list(range(len(s)))
        for v in path:
            through.setdefault(v, []).append(r)
        prev = seqs[r - 1] if r else ()
        assert t.lcp_prev[r] == next(
            (i for i, (a, b) in enumerate(zip(prev, s)) if a != b), min(len(prev), len(s))
        )
    # one node per distinct prefix, each on some request's path
    assert t.n_nodes == len({s[: d + 1] for s in seqs for d in range(len(s))}) == len(through)
    for v, rs in through.items():
        assert (t.first[v], t.last[v]) == (min(rs), max(rs))
        assert rs == list(range(min(rs), max(rs) + 1))  # contiguous, as the waves assume
    # pre-order: parents come before their children
    for path in t.paths:
        assert path == sorted(path)


@given(st.lists(st.integers(0, 2), max_size=12), st.lists(st.integers(0, 2), max_size=12))
def test_lcp(a: list[int], b: list[int]) -> None:
    want = 0
    while want < min(len(a), len(b)) and a[want] == b[want]:
        want += 1
    assert _lcp(tuple(a), tuple(b)) == want
