"""A llama-architecture transformer in torch that computes exactly what llama.cpp's
``llama`` graph computes, so a GGUF export needs no weight surgery.

Points where a "llama-like" torch model usually differs from llama.cpp, and
what this one does:

* RoPE: llama.cpp's llama arch uses rope type NORM, which rotates adjacent
  pairs ``(x[2i], x[2i+1])`` by ``pos * base**(-2i/head_dim)``. Hugging Face's
  Llama rotates the halves ``(x[i], x[i+d/2])`` instead, which is why its
  converter permutes q/k rows. Here the rotation is NORM already, so q/k are
  exported as they are.
* RMSNorm: ``x / sqrt(mean(x^2) + eps) * w`` with llama.cpp's eps from the
  file's ``layer_norm_rms_epsilon``.
* Attention: scale ``1/sqrt(head_dim)``; grouped-query heads share K/V in
  consecutive groups (head ``h`` reads kv head ``h // (n_head / n_head_kv)``),
  as ggml's broadcasting in ``mul_mat`` does.
* Feed-forward: ``down(silu(gate(x)) * up(x))``; no biases anywhere.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from emergetui.models.gguf_writer import LlamaShape


@dataclass(frozen=True)
class ToyConfig:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    n_ctx: int = 128
    rope_base: float = 10000.0
    eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def shape(self) -> LlamaShape:
        return LlamaShape(
            n_vocab=self.n_vocab,
            n_embd=self.n_embd,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_head_kv=self.n_head_kv,
            n_ff=self.n_ff,
            n_ctx=self.n_ctx,
            rope_base=self.rope_base,
            eps=self.eps,
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(n_pos: int, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (n_pos, head_dim/2), in float64 then float32 like ggml's theta."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """NORM rope on (batch, heads, time, head_dim): rotate pairs (2i, 2i+1)."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    r0 = x0 * cos - x1 * sin
    r1 = x0 * sin + x1 * cos
    return torch.stack((r0, r1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, c: ToyConfig) -> None:
        super().__init__()
        self.c = c
        hd = c.head_dim
        self.attn_norm = RMSNorm(c.n_embd, c.eps)
        self.wq = nn.Linear(c.n_embd, c.n_head * hd, bias=False)
        self.wk = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.wv = nn.Linear(c.n_embd, c.n_head_kv * hd, bias=False)
        self.wo = nn.Linear(c.n_head * hd, c.n_embd, bias=False)
        self.ffn_norm = RMSNorm(c.n_embd, c.eps)
        self.w_gate = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.w_up = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.w_down = nn.Linear(c.n_ff, c.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        c = self.c
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, t, c.n_head, c.head_dim).transpose(1, 2)
        k = self.wk(h).view(b, t, c.n_head_kv, c.head_dim).transpose(1, 2)
        v = self.wv(h).view(b, t, c.n_head_kv, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if c.n_head_kv != c.n_head:
            rep = c.n_head // c.n_head_kv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=1.0 / math.sqrt(c.head_dim)
        )
        x = x + self.wo(a.transpose(1, 2).reshape(b, t, c.n_head * c.head_dim))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class ToyLlama(nn.Module):
    def __init__(self, c: ToyConfig) -> None:
        super().__init__()
        self.c = c
        self.tok_embeddings = nn.Embedding(c.n_vocab, c.n_embd)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.norm = RMSNorm(c.n_embd, c.eps)
        self.output = nn.Linear(c.n_embd, c.n_vocab, bias=False)
        # n_ctx is the training length (what the GGUF declares); the table is
        # longer so that checks and experiments may look past it.
        cos, sin = rope_tables(max(c.n_ctx, 1024), c.head_dim, c.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2 style: N(0, 0.02), residual projections scaled down by depth."""
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if name.endswith(("wo.weight", "w_down.weight")):
                    std /= math.sqrt(2 * self.c.n_layer)
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits for every position of ``idx`` (batch, time); positions start at 0."""
        t = idx.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        x = self.tok_embeddings(idx)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.output(self.norm(x))

    def n_params(self, embeddings: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if not embeddings:
            n -= self.tok_embeddings.weight.numel() + self.output.weight.numel()
        return n


def gguf_weights(model: ToyLlama) -> dict[str, Any]:
    """The state dict under llama.cpp's tensor names, as float32 numpy arrays."""
    w: dict[str, Any] = {  # torch tensors
        "token_embd.weight": model.tok_embeddings.weight,
        "output_norm.weight": model.norm.weight,
        "output.weight": model.output.weight,
    }
    for i, blk in enumerate(model.layers):
        p = f"blk.{i}."
        w[p + "attn_norm.weight"] = blk.attn_norm.weight
        w[p + "attn_q.weight"] = blk.wq.weight
        w[p + "attn_k.weight"] = blk.wk.weight
        w[p + "attn_v.weight"] = blk.wv.weight
        w[p + "attn_output.weight"] = blk.wo.weight
        w[p + "ffn_norm.weight"] = blk.ffn_norm.weight
        w[p + "ffn_gate.weight"] = blk.w_gate.weight
        w[p + "ffn_up.weight"] = blk.w_up.weight
        w[p + "ffn_down.weight"] = blk.w_down.weight
    return {k: v.detach().cpu().float().numpy() for k, v in w.items()}
