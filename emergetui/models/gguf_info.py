"""What a GGUF file says about the model's shape and memory needs.

Fitting a rung to the machine needs the layer count and how many bytes each
layer weighs *before* llama.cpp tries (and possibly fails) to allocate them.
The header is read by :mod:`emergetui.models.gguf_parse` over a memory map, so a
40 GB model costs its header, not its weights, and the tokenizer's arrays are
stepped over rather than parsed; the numbers are then cached per file
(:mod:`emergetui.models.header_cache`). Split models keep tensors in every shard,
so all shards are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emergetui.errors import EmergetuiError
from emergetui.models.gguf_parse import ArrayValue

if TYPE_CHECKING:
    from emergetui.models.gguf_parse import GGUFMeta

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


def read_model_info(
    path: Path | str, *, use_cache: bool = True, cache_dir: Path | None = None
) -> GGUFHeader:
    """Read the header of a GGUF model; raises :class:`GGUFInfoError` on bad input.

    The numbers come from the header cache when the files are unchanged
    (``cache_dir`` overrides where it lives; ``use_cache=False`` reads the files).
    """
    from emergetui.models import header_cache

    first = Path(path)
    shards = shard_paths(first)
    missing = [s for s in shards if not s.is_file()]
    if missing:
        raise GGUFInfoError(f"{first}: missing file(s): {', '.join(str(m) for m in missing)}")
    stats = header_cache.shard_stats(shards) if use_cache else []
    if stats:
        hit = header_cache.load(stats, cache_dir)
        header = _from_numbers(first, shards, hit) if hit is not None else None
        if header is not None:
            return header
    header = _read_header(first, shards)
    if stats:
        header_cache.store(stats, _to_numbers(header), cache_dir)
    return header


def _read_header(first: Path, shards: list[Path]) -> GGUFHeader:
    from emergetui.models.gguf_parse import GGUFFormatError, read_gguf_meta

    metas: list[GGUFMeta] = []
    for shard in shards:
        try:
            metas.append(read_gguf_meta(shard))
        except (GGUFFormatError, OSError, ValueError) as exc:
            raise GGUFInfoError(f"{shard}: not a readable GGUF file: {exc}") from None
    head = metas[0].fields
    arch = _field(head, "general.architecture")
    if not isinstance(arch, str):
        raise GGUFInfoError(f"{first}: no general.architecture in the GGUF header")
    n_layers = _field(head, f"{arch}.block_count")
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers <= 0:
        raise GGUFInfoError(f"{first}: no {arch}.block_count in the GGUF header")

    layer_bytes = [0] * n_layers
    total = output = 0
    for meta in metas:
        for t in meta.tensors:
            n = t.n_bytes
            total += n
            m = _BLOCK_RE.match(t.name)
            if m and int(m.group(1)) < n_layers:
                layer_bytes[int(m.group(1))] += n
            elif t.name in _OUTPUT_TENSORS:
                output += n
    tokens = head.get("tokenizer.ggml.tokens")
    n_vocab = (
        (tokens.count if isinstance(tokens, ArrayValue) else 1)
        if tokens is not None
        else _int_field(head, f"{arch}.vocab_size")
    )
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
        n_vocab=n_vocab,
        tensor_bytes=total,
        layer_bytes=layer_bytes,
        output_bytes=output,
        shards=tuple(shards),
    )


# GGUFHeader fields kept in the header cache (all but the paths, which the caller gives).
_NUMBERS = (
    "architecture",
    "n_layers",
    "context_length",
    "n_embd",
    "n_head",
    "n_head_kv",
    "key_length",
    "value_length",
    "n_vocab",
    "tensor_bytes",
    "layer_bytes",
    "output_bytes",
)


def _to_numbers(header: GGUFHeader) -> dict[str, Any]:
    return {name: getattr(header, name) for name in _NUMBERS}


def _from_numbers(first: Path, shards: list[Path], data: dict[str, Any]) -> GGUFHeader | None:
    """A header from cached numbers, or None when the entry does not have the expected shape."""
    if set(data) != set(_NUMBERS):
        return None
    try:
        return GGUFHeader(path=first, shards=tuple(shards), **data)
    except TypeError:
        return None


def _field(fields: dict[str, object], key: str) -> Any:
    """A metadata value; of an array, its first entry (per-layer arrays such as some
    models' head_count_kv: the first is representative)."""
    value = fields.get(key)
    if isinstance(value, ArrayValue):
        if value.elem_type == 9:  # arrays of arrays: nothing the fitter can use
            return None
        value = value.first if value.count else None
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value


def _int_field(fields: dict[str, object], key: str) -> int | None:
    value = _field(fields, key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


__all__ = ["GGUFInfoError", "GGUFHeader", "read_model_info", "shard_paths"]
