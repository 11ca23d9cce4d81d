"""Writing small llama-architecture GGUF files with the ``gguf`` package.

Used by the test fixtures (tiny random models) and by the toy ladder's export:
both need a real file that llama.cpp loads, with a tokenizer llama.cpp knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# token types as in llama.cpp's llama_token_type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


@dataclass
class Vocab:
    """A tokenizer description: either SentencePiece-style ("llama") or BPE ("gpt2")."""

    model: str
    tokens: list[str]
    types: list[int]
    scores: list[float] | None = None
    merges: list[str] | None = None
    pre: str | None = None
    bos: int | None = None
    eos: int | None = None
    unk: int | None = None
    pad: int | None = None
    add_bos: bool = True
    add_space_prefix: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.tokens)


def byte_spm_vocab(extra_tokens: Sequence[str] = (), add_space_prefix: bool = False) -> Vocab:
    """A small SentencePiece vocabulary: specials, 256 byte tokens, printable ASCII, extras.

    Byte tokens make every string encodable (byte fallback); extra multi-char
    tokens get higher scores so llama.cpp's SPM merges exercise real merging.
    """
    tokens = ["<unk>", "<s>", "</s>"]
    types = [UNKNOWN, CONTROL, CONTROL]
    scores = [0.0, 0.0, 0.0]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(BYTE)
        scores.append(0.0)
    for c in [chr(i) for i in range(33, 127)] + ["\u2581"]:
        tokens.append(c)
        types.append(NORMAL)
        scores.append(-1.0)
    for i, t in enumerate(extra_tokens):
        if t in tokens:
            continue
        tokens.append(t)
        types.append(NORMAL)
        scores.append(float(len(t)) - i * 1e-3)
    return Vocab(
        model="llama",
        tokens=tokens,
        types=types,
        scores=scores,
        bos=1,
        eos=2,
        unk=0,
        add_bos=True,
        add_space_prefix=add_space_prefix,
    )


def vocab_from_gguf(path: str | Path) -> Vocab:
    """Read the tokenizer fields of an existing GGUF (e.g. a vocab-only file)."""
    import gguf

    r = gguf.GGUFReader(str(path))

    def get(name: str) -> Any:
        f = r.fields.get(name)
        return None if f is None else f.contents()

    return Vocab(
        model=get("tokenizer.ggml.model"),
        tokens=list(get("tokenizer.ggml.tokens")),
        types=[int(x) for x in get("tokenizer.ggml.token_type")],
        scores=get("tokenizer.ggml.scores"),
        merges=get("tokenizer.ggml.merges"),
        pre=get("tokenizer.ggml.pre"),
        bos=get("tokenizer.ggml.bos_token_id"),
        eos=get("tokenizer.ggml.eos_token_id"),
        unk=get("tokenizer.ggml.unknown_token_id"),
        pad=get("tokenizer.ggml.padding_token_id"),
        add_bos=bool(get("tokenizer.ggml.add_bos_token") or False),
        add_space_prefix=get("tokenizer.ggml.add_space_prefix"),
    )


@dataclass
class LlamaShape:
    n_vocab: int
    n_embd: int = 32
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 64
    n_ctx: int = 2048
    rope_base: float = 10000.0
    eps: float = 1e-5
    tied: bool = False

    def n_params(self) -> int:
        hd = self.n_embd // self.n_head
        attn = self.n_embd * self.n_embd * 2 + 2 * self.n_embd * self.n_head_kv * hd
        ffn = 3 * self.n_embd * self.n_ff
        layer = attn + ffn + 2 * self.n_embd
        out = 0 if self.tied else self.n_vocab * self.n_embd
        return self.n_vocab * self.n_embd + self.n_layer * layer + self.n_embd + out


def random_llama_weights(
    shape: LlamaShape, seed: int = 0, scale: float = 0.5
) -> dict[str, np.ndarray]:
    """Random weights in llama's tensor layout (numpy shapes are (out, in)).

    The scale is large enough that the output distribution is far from
    uniform, so argmax/greedy tests are not decided by float noise.
    """
    rng = np.random.default_rng(seed)
    hd = shape.n_embd // shape.n_head

    def m(o: int, i: int) -> np.ndarray:
        return (rng.standard_normal((o, i)) * scale / np.sqrt(i)).astype(np.float32)

    w: dict[str, np.ndarray] = {
        "token_embd.weight": (rng.standard_normal((shape.n_vocab, shape.n_embd))).astype(
            np.float32
        ),
        "output_norm.weight": np.ones(shape.n_embd, dtype=np.float32),
    }
    if not shape.tied:
        w["output.weight"] = m(shape.n_vocab, shape.n_embd) * 4
    for b in range(shape.n_layer):
        p = f"blk.{b}."
        w[p + "attn_norm.weight"] = np.ones(shape.n_embd, dtype=np.float32)
        w[p + "attn_q.weight"] = m(shape.n_head * hd, shape.n_embd)
        w[p + "attn_k.weight"] = m(shape.n_head_kv * hd, shape.n_embd)
        w[p + "attn_v.weight"] = m(shape.n_head_kv * hd, shape.n_embd)
        w[p + "attn_output.weight"] = m(shape.n_embd, shape.n_head * hd)
        w[p + "ffn_norm.weight"] = np.ones(shape.n_embd, dtype=np.float32)
        w[p + "ffn_gate.weight"] = m(shape.n_ff, shape.n_embd)
        w[p + "ffn_up.weight"] = m(shape.n_ff, shape.n_embd)
        w[p + "ffn_down.weight"] = m(shape.n_embd, shape.n_ff)
    return w


def write_llama_gguf(
    path: str | Path,
    shape: LlamaShape,
    vocab: Vocab,
    weights: Mapping[str, np.ndarray],
    *,
    name: str = "tiny",
    metadata: Mapping[str, str] | None = None,
    f16: bool = False,
) -> Path:
    """Write a llama-architecture GGUF that llama.cpp loads.

    ``f16`` stores 2-D matrices as float16 (norms stay float32, as llama.cpp
    expects); the file type is set accordingly.
    """
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    w = gguf.GGUFWriter(str(tmp), "llama")
    w.add_name(name)
    w.add_context_length(shape.n_ctx)
    w.add_embedding_length(shape.n_embd)
    w.add_block_count(shape.n_layer)
    w.add_feed_forward_length(shape.n_ff)
    w.add_head_count(shape.n_head)
    w.add_head_count_kv(shape.n_head_kv)
    w.add_rope_dimension_count(shape.n_embd // shape.n_head)
    w.add_rope_freq_base(shape.rope_base)
    w.add_layer_norm_rms_eps(shape.eps)
    w.add_vocab_size(vocab.size)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    for k, v in (metadata or {}).items():
        w.add_string(k, v)
    w.add_tokenizer_model(vocab.model)
    if vocab.pre:
        w.add_tokenizer_pre(vocab.pre)
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    if vocab.scores is not None:
        w.add_token_scores(list(vocab.scores))
    if vocab.merges:
        w.add_token_merges(list(vocab.merges))
    if vocab.bos is not None:
        w.add_bos_token_id(int(vocab.bos))
    if vocab.eos is not None:
        w.add_eos_token_id(int(vocab.eos))
    if vocab.unk is not None:
        w.add_unk_token_id(int(vocab.unk))
    if vocab.pad is not None:
        w.add_pad_token_id(int(vocab.pad))
    w.add_add_bos_token(vocab.add_bos)
    if vocab.add_space_prefix is not None:
        w.add_add_space_prefix(bool(vocab.add_space_prefix))
    for tname, arr in weights.items():
        a = np.ascontiguousarray(arr)
        if f16 and a.ndim == 2:
            a = a.astype(np.float16)
        else:
            a = a.astype(np.float32)
        w.add_tensor(tname, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path
