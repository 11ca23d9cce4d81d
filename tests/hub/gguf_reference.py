"""The GGUF header read through ``gguf.GGUFReader`` (emergetui's reader until issue 32).

Kept for the tests only: the fast reader (``emergetui.models.gguf_parse``) must give the
same numbers as this one, which parses every field (9.5 s for Gemma's vocabulary).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emergetui.models.gguf_info import GGUFHeader, GGUFInfoError, shard_paths

_BLOCK_RE = re.compile(r"^blk\.(\d+)\.")
_OUTPUT_TENSORS = ("output.weight", "output_norm.weight", "output_norm.bias", "output.bias")


def reference_model_info(path: Path | str) -> GGUFHeader:
    """The header as emergetui read it before issue 32: GGUFReader, every field parsed."""
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
