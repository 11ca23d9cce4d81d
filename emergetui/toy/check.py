"""Proof that an exported GGUF is the trained model: llama.cpp's logits vs torch's.

Two routes are compared against torch on the same token ids:

* the raw logits of one llama.cpp decode with every position output, in a
  context whose KV cache is F32 (llama.cpp's default is F16, which alone
  moves trained log-probabilities by up to ~0.06): with nothing rounded, any layout, RoPE or
  norm mismatch shows, and agreement is at float32 level;
* the engine's ``score`` per-token log-probabilities, with the engine's own
  settings (F16 KV cache): the path every measurement in the lab goes
  through, so tokenization and packing are checked too (agreement to ~0.06
  nats at worst on the smallest rungs, all of it from the F16 cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp as ll
import numpy as np
import torch

from emergetui.engine import Engine
from emergetui.engine.native import NumpyBatch
from emergetui.toy.corpus import CharTokenizer
from emergetui.toy.model import ToyLlama


@dataclass
class LogitsCheck:
    file: str
    n_tokens: int
    max_abs_logit: float
    max_abs_logprob: float
    max_abs_score: float
    tokens_match: bool

    @property
    def max_abs(self) -> float:
        """The exact route's difference (F32 everywhere); the engine's is ``max_abs_score``."""
        return max(self.max_abs_logit, self.max_abs_logprob)


def llama_logits_f32(
    path: str | Path, token_lists: Sequence[Sequence[int]], n_ctx: int = 512
) -> list[np.ndarray]:
    """Every position's logits for each token list, one decode each, F32 KV cache, no flash
    attention.

    Call after an :class:`Engine` exists, so llama.cpp's log is already routed.
    """
    mp = ll.llama_model_default_params()
    mp.n_gpu_layers = 0
    model = ll.llama_model_load_from_file(str(path).encode(), mp)
    if not model:
        raise RuntimeError(f"{path}: llama.cpp could not load it")
    cp = ll.llama_context_default_params()
    cp.n_ctx = cp.n_batch = cp.n_ubatch = n_ctx
    cp.n_seq_max = 1
    cp.n_threads = cp.n_threads_batch = 1
    cp.type_k = cp.type_v = ll.GGML_TYPE_F32
    cp.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
    ctx = ll.llama_init_from_model(model, cp)
    try:
        n_vocab = ll.llama_vocab_n_tokens(ll.llama_model_get_vocab(model))
        batch = NumpyBatch(n_ctx, 1)
        out = []
        for tokens in token_lists:
            n = len(tokens)
            ll.llama_memory_clear(ll.llama_get_memory(ctx), True)
            batch.token[:n] = tokens
            batch.pos[:n] = np.arange(n)
            batch.n_seq[:n] = 1
            batch.seq[:n, 0] = 0
            batch.logits[:n] = 1
            batch.set_n(n)
            if ll.llama_decode(ctx, batch.struct) != 0:
                raise RuntimeError(f"{path}: llama_decode failed")
            out.append(np.ctypeslib.as_array(ll.llama_get_logits(ctx), shape=(n, n_vocab)).copy())
        return out
    finally:
        ll.llama_free(ctx)
        ll.llama_model_free(model)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


@torch.no_grad()
def check_gguf(
    model: ToyLlama, path: str | Path, tok: CharTokenizer, texts: Sequence[str]
) -> LogitsCheck:
    model.eval()
    worst_logit = worst_lp = worst_score = 0.0
    n_total = 0
    tokens_match = True
    encoded = [tok.encode(text, add_bos=True) for text in texts]
    with Engine.load(path, n_gpu_layers=0, n_ctx=512, n_threads=1) as eng:
        for text, ids in zip(texts, encoded):
            tokens_match &= eng.tokenize(text, add_bos=True) == ids
            ref_lp = _log_softmax(model(torch.tensor([ids]))[0].double().numpy())
            scored = eng.score([(text[:1], text[1:])])[0]
            want = [ref_lp[i, ids[i + 1]] for i in range(1, len(ids) - 1)]
            if scored.error or len(scored.logprobs) != len(want):
                tokens_match = False
            else:
                worst_score = max(
                    worst_score, float(np.abs(np.array(scored.logprobs) - want).max())
                )
    for ids, got in zip(encoded, llama_logits_f32(path, encoded)):
        ref = model(torch.tensor([ids]))[0].double().numpy()
        worst_logit = max(worst_logit, float(np.abs(ref - got).max()))
        worst_lp = max(worst_lp, float(np.abs(_log_softmax(ref) - _log_softmax(got)).max()))
        n_total += len(ids)
    return LogitsCheck(str(path), n_total, worst_logit, worst_lp, worst_score, tokens_match)
