"""Packed, prefix-shared scoring equals the naive one-request-at-a-time path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emergetui import Engine
from emergetui.engine.reference import generate_naive, score_naive
from tests.conftest import ENGINE_KW

TOL = 1e-4

PREFIXES = [
    "",
    "Q: What is the capital of France?\nA:",
    "The following are questions.\n\nQ: 12+34=\nA: 46\n\nQ: 7+8=\nA:",
    "the the the ",
]
WORDS = ["Paris", " Paris", " the", " a", "46", " 15", "\n", "xyz", " of is", "é", "12 34", " thin"]


@pytest.fixture(scope="module")
def small_engine(tiny_model: Path) -> Engine:
    """Tiny batch, few sequence slots, small context: forces chunking, many waves and the
    keeper path."""
    eng = Engine.load(tiny_model, **ENGINE_KW, n_ctx=256, n_batch=16, n_seq_max=4)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def big_engine(tiny_model: Path) -> Engine:
    eng = Engine.load(tiny_model, **ENGINE_KW, n_ctx=2048)
    yield eng
    eng.close()


def _assert_same(packed, naive) -> None:
    assert len(packed) == len(naive)
    for p, n in zip(packed, naive):
        assert p.error is None
        assert p.tokens == n.tokens
        assert len(p.logprobs) == len(n.logprobs) == len(p.tokens)
        np.testing.assert_allclose(p.logprobs, n.logprobs, atol=TOL, rtol=0)
        assert p.greedy == n.greedy


pair = st.tuples(
    st.sampled_from(PREFIXES).flatmap(
        lambda p: st.lists(st.sampled_from(WORDS), max_size=3).map(lambda w: p + "".join(w))
    ),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map("".join),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=st.lists(pair, min_size=1, max_size=14))
def test_packed_equals_naive_randomised(small_engine: Engine, pairs: list[tuple[str, str]]) -> None:
    _assert_same(small_engine.score(pairs), score_naive(small_engine, pairs))


def test_many_requests_more_than_slots_and_batch(small_engine: Engine, big_engine: Engine) -> None:
    """Multiple-choice items behind one shared few-shot prefix: > n_batch tokens,
    > n_seq_max requests."""
    shots = "".join(f"Q: {a}+{b}=\nA: {a + b}\n\n" for a, b in [(1, 2), (30, 4), (12, 9), (7, 7)])
    pairs = [
        (shots + f"Q: {i}+{i}=\nA:", f" {c}") for i in range(12) for c in (2 * i, 2 * i + 1, i, 99)
    ]
    naive = score_naive(big_engine, pairs)
    _assert_same(small_engine.score(pairs), naive)
    _assert_same(big_engine.score(pairs), naive)


def test_results_stream_in_waves(small_engine: Engine) -> None:
    pairs = [(f"item {i}: ", "the answer") for i in range(10)]
    seen: list[int] = []
    out = small_engine.score(pairs, on_result=lambda i, s: seen.append(i))
    assert sorted(seen) == list(range(10))
    assert all(s.error is None for s in out)


def test_summed_logprob_and_greedy_flags(big_engine: Engine) -> None:
    s = big_engine.score([("the", " the the")])[0]
    assert s.n_tokens == len(s.tokens) == len(s.greedy)
    assert s.logprob == pytest.approx(sum(s.logprobs))
    assert all(lp <= 0 for lp in s.logprobs)


def test_generate_matches_naive_argmax(big_engine: Engine, small_engine: Engine) -> None:
    prompts = ["Q: 12+34=\nA:", "the", "Q: 12+34=\nA: 4", "the"]
    for eng in (big_engine, small_engine):
        gens = eng.generate(prompts, max_tokens=6, stop=[])
        for p, g in zip(prompts, gens):
            ref = generate_naive(eng, p, 6)
            n = len(g.tokens)
            assert g.tokens == ref[:n]
            if g.stop_reason == "length":
                assert n == 6
            assert len(g.logprobs) == n and all(lp <= 1e-6 for lp in g.logprobs)


def test_generate_logprobs_equal_scoring(big_engine: Engine) -> None:
    prompt = "Q: 7+8=\nA:"
    g = big_engine.generate([prompt], max_tokens=5, stop=[])[0]
    ctx = big_engine.tokenize(prompt)
    s = big_engine.score_tokens([(ctx, g.tokens)])[0]
    np.testing.assert_allclose(g.logprobs, s.logprobs, atol=TOL)
    assert all(s.greedy)


def test_stop_string_cuts_text(big_engine: Engine) -> None:
    g = big_engine.generate(["the"], max_tokens=20, stop=[])[0]
    printable = [c for c in g.text[1:] if c.isascii() and c.isprintable()]
    assert printable, g.text
    stop = printable[len(printable) // 2]
    cut = big_engine.generate(["the"], max_tokens=20, stop=[stop])[0]
    assert cut.stop_reason == "stop"
    assert cut.text == g.text[: g.text.index(stop)]
    assert stop not in cut.text
    assert cut.tokens == g.tokens[: len(cut.tokens)]


def test_max_tokens_bound(big_engine: Engine) -> None:
    g = big_engine.generate(["the"], max_tokens=3, stop=["NEVER-APPEARS"])[0]
    assert g.stop_reason in ("length", "eos")
    assert len(g.tokens) <= 3


def test_rolling_loss_matches_scoring(small_engine: Engine, big_engine: Engine) -> None:
    text = "the quick brown fox jumps over the lazy dog. " * 12
    full = big_engine.rolling_loss(text)
    toks = big_engine.tokenize(text, add_bos=False)
    ref = score_naive(big_engine, [])  # noqa: F841 - warm call, nothing to score
    s = big_engine.score_tokens([([1], toks)])[0]
    assert full.n_tokens == len(toks)
    np.testing.assert_allclose(full.logprobs, s.logprobs, atol=TOL)
    windowed = small_engine.rolling_loss(text, window=64, stride=16)
    assert windowed.n_tokens == len(toks)
    assert windowed.perplexity > 1
    assert windowed.bits_per_byte > 0
    # the first window's tokens see identical context either way
    np.testing.assert_allclose(windowed.logprobs[:60], full.logprobs[:60], atol=TOL)


def test_output_row_cap_splits_decodes(tiny_model: Path, big_engine: Engine) -> None:
    """With few logits rows allowed per decode, chunks split on the row count and results do
    not change."""
    with Engine.load(tiny_model, **ENGINE_KW, n_ctx=512, n_batch=64, n_seq_max=4) as eng:
        eng.native.max_outputs = 4
        pairs = [(f"Q: {i} and {i}?\nA:", " the answer is long enough") for i in range(6)]
        _assert_same(eng.score(pairs), score_naive(big_engine, pairs))
        gens = eng.generate(["the", "a"], max_tokens=4, stop=[])
        assert [g.tokens for g in gens] == [
            g.tokens for g in big_engine.generate(["the", "a"], max_tokens=4, stop=[])
        ]


def test_stop_string_at_start_does_not_stop(big_engine: Engine) -> None:
    g = big_engine.generate(["the"], max_tokens=8, stop=[])[0]
    first = g.text[:1]
    if not first or not first.isprintable():
        pytest.skip("random model's first character is not printable")
    again = big_engine.generate(["the"], max_tokens=8, stop=[first])[0]
    # the first character equals the stop string: BIG-bench ignores a stop at position 0
    assert again.text.startswith(first) and len(again.tokens) >= 1
    rest = g.text[1:]
    if first in rest:
        assert again.stop_reason == "stop" and again.text == g.text[: 1 + rest.index(first)]


def test_row_workers_reduce_rows_off_thread(tiny_model: Path, big_engine: Engine) -> None:
    """The GPU-side pipelining (rows reduced on worker threads during the next decode) changes
    nothing."""
    with Engine.load(
        tiny_model, **ENGINE_KW, n_ctx=512, n_batch=64, n_seq_max=4, row_workers=2
    ) as eng:
        eng.native.max_outputs = 5  # many decodes, several pending at once
        shots = "Q: 1+2=\nA: 3\n\nQ: 30+4=\nA: 34\n\n"
        pairs = [(shots + f"Q: {i}+{i}=\nA:", f" {c}") for i in range(5) for c in (2 * i, 99, i)]
        _assert_same(eng.score(pairs), score_naive(big_engine, pairs))
        gens = eng.generate(["the", "a"], max_tokens=4, stop=[])
        assert [g.tokens for g in gens] == [
            g.tokens for g in big_engine.generate(["the", "a"], max_tokens=4, stop=[])
        ]


def test_context_sized_to_what_requests_need(tiny_model: Path, big_engine: Engine) -> None:
    """The KV cache starts small (resident memory), grows for long requests up to n_ctx,
    shrinks back for short ones."""
    with Engine.load(tiny_model, **ENGINE_KW, n_ctx=2048) as eng:
        assert eng.native.cells == 512 and eng.n_ctx == 2048
        short = [("Q: 7+8=\nA:", " 15")]
        _assert_same(eng.score(short), score_naive(big_engine, short))
        assert eng.native.cells == 512
        long_ctx = "the quick brown fox jumps over the lazy dog. " * 25
        pair = [(long_ctx, " the end")]
        assert len(eng.tokenize(long_ctx)) > 700
        _assert_same(eng.score(pair), score_naive(big_engine, pair))
        assert 1024 <= eng.native.cells <= 2048
        _assert_same(eng.score(short), score_naive(big_engine, short))
        assert eng.native.cells == 512
        too_long = eng.score([("the " * 3000, " x")])[0]
        assert too_long.error and "do not fit the context of 2048" in too_long.error


def test_gpu_request_on_a_cpu_build_keeps_cpu_settings(
    tiny_model: Path, big_engine: Engine
) -> None:
    """n_gpu_layers=-1 on a build without GPU offload must not switch on CPU flash attention
    or row threads."""
    from emergetui.engine.engine import gpu_offload_supported

    if gpu_offload_supported():
        pytest.skip("this llama.cpp build offloads to a GPU")
    with Engine.load(tiny_model, n_gpu_layers=-1, n_ctx=512) as eng:
        assert eng.native.row_workers == 0
        pairs = [(f"Q: {i}+{i}=\nA: the", f" {w}") for i in range(40) for w in ("a", "the")]
        _assert_same(eng.score(pairs), score_naive(big_engine, pairs))
