"""Tiny but valid GGUF files for the hub/fit tests, written with the ``gguf`` package."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_gguf(
    path: Path,
    *,
    n_layers: int = 2,
    n_embd: int = 16,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ctx: int = 256,
    n_extra_tokens: int = 8,
    layers: range | None = None,
    split: tuple[int, int] | None = None,
) -> Path:
    """Write a small but valid llama-architecture GGUF (random f32 weights).

    ``layers`` restricts which blocks' tensors go into this file and ``split``
    = (index, count) adds llama.cpp's split.* keys, to build shards of one model.
    """
    import gguf

    rng = np.random.default_rng(0)
    # A byte-fallback SentencePiece vocabulary: the least llama.cpp needs to load the model.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(n_extra_tokens)]
    types = [2, 3, 3] + [6] * 256 + [1] * n_extra_tokens
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(str(path), "llama")
    first = split is None or split[0] == 0
    if first:
        w.add_block_count(n_layers)
        w.add_context_length(n_ctx)
        w.add_embedding_length(n_embd)
        w.add_feed_forward_length(2 * n_embd)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_head_kv)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores([0.0] * 3 + [-1000.0] * 256 + [-float(i) for i in range(n_extra_tokens)])
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    if split is not None:  # llama.cpp's gguf-split keys; it loads every shard from the first
        w.add_uint16("split.no", split[0])
        w.add_uint16("split.count", split[1])
        w.add_int32("split.tensors.count", 3 + 9 * n_layers)
    if first:
        w.add_tensor("token_embd.weight", rng.standard_normal((n_vocab, n_embd), dtype=np.float32))
    kv = n_embd // n_head * n_head_kv
    for i in layers if layers is not None else range(n_layers):
        for name, shape in [
            ("attn_norm", (n_embd,)),
            ("attn_q", (n_embd, n_embd)),
            ("attn_k", (kv, n_embd)),
            ("attn_v", (kv, n_embd)),
            ("attn_output", (n_embd, n_embd)),
            ("ffn_norm", (n_embd,)),
            ("ffn_gate", (2 * n_embd, n_embd)),
            ("ffn_up", (2 * n_embd, n_embd)),
            ("ffn_down", (n_embd, 2 * n_embd)),
        ]:
            w.add_tensor(f"blk.{i}.{name}.weight", rng.standard_normal(shape, dtype=np.float32))
    if split is None or split[0] == split[1] - 1:
        w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor("output.weight", rng.standard_normal((n_vocab, n_embd), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
