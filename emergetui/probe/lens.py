"""The logit lens: any layer's residual state read through the model's own output head.

``logits = head(norm(h))`` with the final norm and the output matrix read
from the GGUF file itself (``output.weight``, or ``token_embd.weight`` when
the embeddings are tied), so applied to the last block's state it reproduces
the engine's logits; applied to earlier blocks it shows what the model would
say if it stopped there (nostalgebraist 2020).

The output matrix is the largest tensor of a small model (Gemma 3 270M:
262k × 640). F32/F16 matrices are used straight from the memory-mapped file;
quantized ones are dequantized once (in row chunks, ~3 s for Gemma's Q8_0) and
kept as float32 up to 512 MiB, float16 beyond (a 7B model's 152k × 3584 head
is then 1.1 GB). Logits are never materialised for the whole vocabulary at
once: vocabulary chunks are streamed through a running log-sum-exp and argmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gguf.gguf_reader import ReaderTensor

_F32_LIMIT = 512 << 20
_VOCAB_CHUNK = 8192
_STATE_BLOCK = 1024


@dataclass
class LensOut:
    """Per state: log-probability and top-1 flag of its target, logits of its candidates."""

    logp_target: np.ndarray  # [n] float64, full-vocabulary log-softmax
    top1: np.ndarray  # [n] bool: target is the argmax over the vocabulary
    argmax: np.ndarray  # [n] int64
    cand_logits: np.ndarray | None  # [n, k] float64 (NaN where a candidate is padding)


class LensHead:
    """Final norm + output projection of one GGUF model, in numpy."""

    def __init__(
        self,
        weight: np.ndarray,
        norm_w: np.ndarray,
        eps: float,
        *,
        norm_b: np.ndarray | None = None,
        layer_norm: bool = False,
        out_bias: np.ndarray | None = None,
        softcap: float = 0.0,
    ) -> None:
        self.weight = weight  # [n_vocab, n_embd]
        self.norm_w = np.asarray(norm_w, dtype=np.float32)
        self.norm_b = None if norm_b is None else np.asarray(norm_b, dtype=np.float32)
        self.eps = float(eps)
        self.layer_norm = layer_norm
        self.out_bias = None if out_bias is None else np.asarray(out_bias, dtype=np.float32)
        self.softcap = float(softcap)

    @property
    def n_vocab(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_embd(self) -> int:
        return int(self.weight.shape[1])

    @classmethod
    def from_gguf(cls, path: str | Path) -> LensHead:
        """Read the head of a GGUF model.

        RMSNorm unless the file has ``<arch>.attention.layer_norm_epsilon``
        (LayerNorm families such as GPT-2, Pythia, Phi); ``output.bias`` and
        Gemma 2's final logit soft-capping are applied when present.
        """
        import gguf

        r = gguf.GGUFReader(str(path))
        arch_field = r.get_field("general.architecture")
        if arch_field is None:
            raise ValueError(f"{path}: no general.architecture to read the head's settings by")
        arch = str(arch_field.contents())
        tensors = {t.name: t for t in r.tensors}

        def field(key: str) -> float | None:
            f = r.get_field(f"{arch}.{key}")
            return None if f is None else float(f.contents())

        out = (
            tensors["output.weight"]
            if "output.weight" in tensors
            else tensors.get("token_embd.weight")
        )
        if out is None or "output_norm.weight" not in tensors:
            raise ValueError(
                f"{path}: no output_norm.weight / output.weight / token_embd.weight to build a lens"
            )
        ln_eps = field("attention.layer_norm_epsilon")
        rms_eps = field("attention.layer_norm_rms_epsilon")
        layer_norm = ln_eps is not None and rms_eps is None
        eps = (ln_eps if layer_norm else rms_eps) or 1e-6

        def vector(t: ReaderTensor) -> np.ndarray:
            return gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1)

        def small(name: str) -> np.ndarray | None:
            t = tensors.get(name)
            return None if t is None else vector(t)

        return cls(
            _head_matrix(out),
            vector(tensors["output_norm.weight"]),  # there: checked above
            eps,
            norm_b=small("output_norm.bias"),
            layer_norm=layer_norm,
            out_bias=small("output.bias"),
            softcap=field("final_logit_softcapping") or 0.0,
        )

    # -- the maths -----------------------------------------------------------------
    def normalize(self, h: np.ndarray) -> np.ndarray:
        """The final norm as llama.cpp computes it (float32 in, float32 out)."""
        x = np.asarray(h, dtype=np.float32)
        if self.layer_norm:
            x = x - x.mean(axis=-1, keepdims=True)
        y = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps)
        y = y * self.norm_w
        if self.norm_b is not None:
            y = y + self.norm_b
        return y.astype(np.float32)

    def _finish(self, logits: np.ndarray, cols: np.ndarray | slice) -> np.ndarray:
        if self.out_bias is not None:
            logits = logits + self.out_bias[cols]
        if self.softcap > 0:
            logits = np.tanh(logits / self.softcap) * self.softcap
        return logits

    def logits(self, h: np.ndarray) -> np.ndarray:
        """Full logits of a few states (tests and small vocabularies only)."""
        x = self.normalize(h)
        return self._finish(x @ np.asarray(self.weight, dtype=np.float32).T, slice(None))

    def token_logits(self, x_normed: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Logit of ``tokens[i, j]`` for normalised state ``i`` (``tokens < 0`` gives NaN)."""
        tok = np.asarray(tokens, dtype=np.int64)
        safe = np.where(tok < 0, 0, tok)
        w = np.asarray(self.weight[safe.reshape(-1)], dtype=np.float32).reshape(
            *tok.shape, self.n_embd
        )
        lg = np.einsum("nd,nkd->nk", x_normed, w, dtype=np.float32).astype(np.float64)
        if self.out_bias is not None:
            lg = lg + self.out_bias[safe]
        if self.softcap > 0:
            lg = np.tanh(lg / self.softcap) * self.softcap
        return np.where(tok < 0, np.nan, lg)

    def read(
        self, states: np.ndarray, targets: np.ndarray, candidates: np.ndarray | None = None
    ) -> LensOut:
        """Lens every state of ``states`` [n, n_embd] against its target token and candidates.

        The full-vocabulary normaliser is accumulated over vocabulary chunks,
        so memory stays at ``_STATE_BLOCK × _VOCAB_CHUNK`` floats.
        """
        n = len(states)
        targets = np.asarray(targets, dtype=np.int64)
        lse = np.empty(n, dtype=np.float64)
        amax = np.empty(n, dtype=np.int64)
        tgt = np.empty(n, dtype=np.float64)
        cands = None if candidates is None else np.empty(candidates.shape, dtype=np.float64)
        for s0 in range(0, n, _STATE_BLOCK):
            s1 = min(n, s0 + _STATE_BLOCK)
            x = self.normalize(states[s0:s1])
            run_max = np.full(s1 - s0, -np.inf)
            run_sum = np.zeros(s1 - s0)
            run_arg = np.zeros(s1 - s0, dtype=np.int64)
            for v0 in range(0, self.n_vocab, _VOCAB_CHUNK):
                v1 = min(self.n_vocab, v0 + _VOCAB_CHUNK)
                w = np.asarray(self.weight[v0:v1], dtype=np.float32)
                lg = self._finish(x @ w.T, slice(v0, v1))
                cmax = lg.max(axis=1).astype(np.float64)
                carg = lg.argmax(axis=1) + v0
                new_max = np.maximum(run_max, cmax)
                run_sum = run_sum * np.exp(run_max - new_max) + np.exp(
                    lg.astype(np.float64) - new_max[:, None]
                ).sum(axis=1)
                run_arg = np.where(cmax > run_max, carg, run_arg)
                run_max = new_max
            lse[s0:s1] = run_max + np.log(run_sum)
            amax[s0:s1] = run_arg
            tgt[s0:s1] = self.token_logits(x, targets[s0:s1, None])[:, 0]
            if cands is not None and candidates is not None:
                cands[s0:s1] = self.token_logits(x, candidates[s0:s1])
        return LensOut(logp_target=tgt - lse, top1=amax == targets, argmax=amax, cand_logits=cands)


def _head_matrix(t: ReaderTensor) -> np.ndarray:
    """The output matrix as [n_vocab, n_embd]: a view of the file when unquantized."""
    from gguf import GGMLQuantizationType as Q
    from gguf.quants import dequantize

    data, qtype = t.data, t.tensor_type
    n_embd, n_vocab = (int(x) for x in t.shape[:2])
    if qtype in (Q.F32, Q.F16):
        return np.asarray(data).reshape(n_vocab, n_embd)
    dtype = np.float32 if n_vocab * n_embd * 4 <= _F32_LIMIT else np.float16
    out = np.empty((n_vocab, n_embd), dtype=dtype)
    step = 16384  # dequantizing in row chunks is ~2x faster than in one go (cache-friendly)
    for r0 in range(0, n_vocab, step):
        out[r0 : r0 + step] = dequantize(data[r0 : r0 + step], qtype).reshape(-1, n_embd)
    return out
