"""What a GGUF file says about the model's shape and memory needs.

Fitting a rung to the machine needs the layer count and how many bytes each
layer weighs *before* llama.cpp tries (and possibly fails) to allocate them.
``gguf.GGUFReader`` memory-maps the file, so reading a 40 GB model's header
costs its header, not its weights. Split models keep tensors in every shard,
so all shards are read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.errors import EmergetuiError

_SHARD_RE = re.compile(r"^(?P<stem>.+)-(?P<idx>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
_BLOCK_RE = re.compile(r"^blk\.(\d+)\.")
# Tensors llama.cpp keeps with the output layer (offloaded only with all layers).
_OUTPUT_TENSORS = ("output.weight", "output_norm.weight", "output_norm.bias", "output.bias")


class GGUFInfoError(EmergetuiError, ValueError):
    """The file is not a readable GGUF model (or a shard is missing)."""


@dataclass(frozen=True)
class GGUFHeader:
    """Shape and weight sizes of one model (all shards together)."""

    path: Path
    architecture: str
    n_layers: int
    context_length: int | None
    n_embd: int | None
    n_head: int | None
    n_head_kv: int | None
    key_length: int | None
    value_length: int | None
    n_vocab: int | None
    tensor_bytes: int
    layer_bytes: list[int] = field(default_factory=list)
    output_bytes: int = 0
    shards: tuple[Path, ...] = ()

    @property
    def other_bytes(self) -> int:
        """Weights outside the repeating blocks (embeddings, output head)."""
        return self.tensor_bytes - sum(self.layer_bytes)

    def kv_bytes_per_layer(self, n_ctx: int, bytes_per_value: int = 2) -> int:
        """KV-cache size of one layer at ``n_ctx`` tokens (f16 cache by default)."""
        if not self.n_embd or not self.n_head:
            return 0
        head_dim = self.n_embd // self.n_head
        kv_heads = self.n_head_kv or self.n_head
        width = kv_heads * ((self.key_length or head_dim) + (self.value_length or head_dim))
        return n_ctx * width * bytes_per_value

    def kv_bytes(self, n_ctx: int, bytes_per_value: int = 2) -> int:
        return self.n_layers * self.kv_bytes_per_layer(n_ctx, bytes_per_value)


def shard_paths(first: Path) -> list[Path]:
    """All shard paths of a split model given its first shard (or ``[first]``)."""
    m = _SHARD_RE.match(first.name)
    if not m:
        return [first]
    total = int(m["total"])
    width = len(m["idx"])
    names = [f"{m['stem']}-{i:0{width}d}-of-{m['total']}.gguf" for i in range(1, total + 1)]
    return [first.with_name(n) for n in names]


def read_model_info(path: Path | str) -> GGUFHeader:
    """Read the header of a GGUF model; raises :class:`GGUFInfoError` on bad input."""
    from gguf import GGUFReader  # imported lazily: numpy + gguf cost ~100 ms

    first = Path(path)
    shards = shard_paths(first)
    missing = [s for s in shards if not s.is_file()]
    if missing:
        raise GGUFInfoError(f"{first}: missing file(s): {', '.join(str(m) for m in missing)}")
    readers: list[Any] = []
    for shard in shards:
        try:
            readers.append(GGUFReader(shard))
        except (ValueError, OSError, IndexError, KeyError) as exc:
            raise GGUFInfoError(f"{shard}: not a readable GGUF file: {exc}") from None
    head = readers[0]
    arch = _field(head, "general.architecture")
    if not isinstance(arch, str):
        raise GGUFInfoError(f"{first}: no general.architecture in the GGUF header")
    n_layers = _field(head, f"{arch}.block_count")
    if not isinstance(n_layers, int) or n_layers <= 0:
        raise GGUFInfoError(f"{first}: no {arch}.block_count in the GGUF header")

    layer_bytes = [0] * n_layers
    total = output = 0
    for reader in readers:
        for t in reader.tensors:
            n = int(t.n_bytes)
            total += n
            m = _BLOCK_RE.match(t.name)
            if m and int(m.group(1)) < n_layers:
                layer_bytes[int(m.group(1))] += n
            elif t.name in _OUTPUT_TENSORS:
                output += n
    tokens = head.get_field("tokenizer.ggml.tokens")
    return GGUFHeader(
        path=first,
        architecture=arch,
        n_layers=n_layers,
        context_length=_int_field(head, f"{arch}.context_length"),
        n_embd=_int_field(head, f"{arch}.embedding_length"),
        n_head=_int_field(head, f"{arch}.attention.head_count"),
        n_head_kv=_int_field(head, f"{arch}.attention.head_count_kv"),
        key_length=_int_field(head, f"{arch}.attention.key_length"),
        value_length=_int_field(head, f"{arch}.attention.value_length"),
        n_vocab=len(tokens.data) if tokens is not None else _int_field(head, f"{arch}.vocab_size"),
        tensor_bytes=total,
        layer_bytes=layer_bytes,
        output_bytes=output,
        shards=tuple(shards),
    )


def _field(reader: Any, key: str) -> Any:
    f = reader.get_field(key)
    if f is None:
        return None
    try:
        value = f.contents()
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    # Per-layer arrays (e.g. head_count_kv in some models): the first entry is representative.
    if isinstance(value, Sequence) and not isinstance(value, str):
        return value[0] if value else None
    return value


def _int_field(reader: Any, key: str) -> int | None:
    value = _field(reader, key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


__all__ = ["GGUFInfoError", "GGUFHeader", "read_model_info", "shard_paths"]
