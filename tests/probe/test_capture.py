"""Hidden states read through llama.cpp's evaluation callback are the engine's own states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine.reference import logits_all
from emergetui.models.gguf_writer import (
    LlamaShape,
    byte_spm_vocab,
    random_llama_weights,
    write_llama_gguf,
)
from emergetui.probe import HiddenCapture, LensHead, capture_hidden
from tests.conftest import GPU_LAYERS

PROMPTS = ["hello world", "the cat is in the", "a", "12+34=", "Q: What is 7 plus 8?\nA:"]


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> Engine:
    eng = Engine.load(tiny_model, n_gpu_layers=GPU_LAYERS, n_ctx=512)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def states(tiny_model: Path) -> np.ndarray:
    return capture_hidden(tiny_model, PROMPTS, n_gpu_layers=GPU_LAYERS)


def test_one_state_per_layer_and_item(states: np.ndarray) -> None:
    assert states.shape == (len(PROMPTS), 2, 32)
    assert states.dtype == np.float32
    assert np.isfinite(states).all()
    # residual streams of different prompts and layers differ (rows are not copies of one another)
    assert not np.allclose(states[0], states[1])
    assert not np.allclose(states[:, 0], states[:, 1])


def test_last_layer_through_head_equals_engine_logits(
    tiny_model: Path, engine: Engine, states: np.ndarray
) -> None:
    head = LensHead.from_gguf(tiny_model)
    for i, p in enumerate(PROMPTS):
        ref = logits_all(engine, engine.tokenize(p))[-1]
        np.testing.assert_allclose(head.logits(states[i, -1]), ref, rtol=1e-4, atol=1e-4)


def test_lens_logprob_equals_engine_score(
    tiny_model: Path, engine: Engine, states: np.ndarray
) -> None:
    """The full-vocabulary lens log-softmax is the scorer's log-probability of the next token."""
    head = LensHead.from_gguf(tiny_model)
    prompt, cont = "the cat is in the", " hat"
    ctx, toks = engine.encode_pair(prompt, cont)
    assert ctx == engine.tokenize(prompt)
    scored = engine.score([(prompt, cont)])[0]
    out = head.read(states[1, -1:], np.array([toks[0]]))
    assert out.logp_target[0] == pytest.approx(scored.logprobs[0], abs=1e-4)
    assert bool(out.top1[0]) == scored.greedy[0]


def test_packed_equals_one_at_a_time(tiny_model: Path, states: np.ndarray) -> None:
    """Several prompts per decode map rows to items exactly as one prompt per decode does."""
    with HiddenCapture(tiny_model, n_gpu_layers=GPU_LAYERS) as cap:
        toks = [cap.engine.tokenize(p) for p in PROMPTS]
        assert len(cap._groups(toks)) == 1  # all in one decode
        alone = np.stack([cap.capture_tokens([t])[0] for t in toks])
    np.testing.assert_allclose(states, alone, rtol=1e-5, atol=1e-5)


def test_long_prompt_in_chunks_and_layer_subset(tiny_model: Path, engine: Engine) -> None:
    """A prompt longer than a micro-batch is decoded in chunks; early chunks capture nothing."""
    text = "the cat is in the hat and the dog is on the mat; " * 2
    with HiddenCapture(
        tiny_model, n_gpu_layers=GPU_LAYERS, n_batch=16, n_seq_max=4, layers=[1]
    ) as cap:
        assert cap.n_ubatch == 16
        toks = cap.engine.tokenize(text)
        assert len(toks) > 40
        short = cap.engine.tokenize("a")
        got = cap.capture_tokens([short, toks, short])
        assert got.shape == (3, 1, 32)
    head = LensHead.from_gguf(tiny_model)
    np.testing.assert_allclose(
        head.logits(got[1, 0]), logits_all(engine, toks)[-1], rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(got[0], got[2], rtol=1e-5, atol=1e-5)


def test_bad_layers_rejected(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="out of range"):
        HiddenCapture(tiny_model, n_gpu_layers=GPU_LAYERS, layers=[2])


def test_tied_f16_model(tmp_path: Path) -> None:
    """Tied embeddings: the lens falls back to token_embd.weight (here stored as float16)."""
    vocab = byte_spm_vocab(["\u2581the", "he"])
    shape = LlamaShape(
        n_vocab=vocab.size, n_embd=32, n_layer=3, n_head=4, n_head_kv=2, n_ff=64, tied=True
    )
    path = write_llama_gguf(
        tmp_path / "tied.gguf", shape, vocab, random_llama_weights(shape, seed=5), f16=True
    )
    h = capture_hidden(path, ["the the he", "he"], n_gpu_layers=GPU_LAYERS)
    assert h.shape == (2, 3, 32)
    head = LensHead.from_gguf(path)
    assert head.weight.dtype == np.float16
    with Engine.load(path, n_gpu_layers=GPU_LAYERS, n_ctx=256) as eng:
        ref = logits_all(eng, eng.tokenize("the the he"))[-1]
    got = head.logits(h[0, -1])
    # llama.cpp multiplies f16 weights with f16-rounded activations: agree to f16 precision
    np.testing.assert_allclose(got, ref, rtol=2e-2, atol=2e-2 * np.abs(ref).max())
    assert int(got.argmax()) == int(ref.argmax())


def test_capture_after_engine_scoring_resized_the_context(tiny_model: Path) -> None:
    """Scoring through the capture's engine sizes the KV cache to its waves; a long capture
    afterwards still fits."""
    text = "the cat is in the hat. " * 40
    with HiddenCapture(tiny_model, n_gpu_layers=GPU_LAYERS, n_ctx=2048, layers=[1]) as cap:
        assert cap.engine.score([("the cat", " is")])[0].error is None
        assert cap.native.cells == 512
        toks = cap.engine.tokenize(text)
        assert len(toks) > 600
        got = cap.capture_tokens([toks])
    with Engine.load(tiny_model, n_gpu_layers=GPU_LAYERS, n_ctx=2048) as ref:
        want = logits_all(ref, toks)[-1]
    np.testing.assert_allclose(
        LensHead.from_gguf(tiny_model).logits(got[0, 0]), want, rtol=1e-4, atol=1e-4
    )
