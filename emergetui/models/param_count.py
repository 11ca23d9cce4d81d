"""Parameter counts read off a GGUF header: the total and the non-embedding part.

Kaplan et al. (2020) fit scaling laws on *non-embedding* parameters: for a small
model with a large vocabulary (Gemma 3 270M: 170M of its 270M are the
embedding) the total says more about the tokenizer than about the network.
The header lists every tensor's shape, so both counts need no weights: the
non-embedding count leaves out the token (and position) embedding and an
untied output head, which is how the Qwen model cards count it
(Qwen2.5-0.5B: 0.49B total, 0.36B non-embedding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emergetui.models.gguf_info import GGUFInfoError, shard_paths

#: the tensors that map tokens to vectors and back
EMBEDDING_TENSORS = frozenset({"token_embd.weight", "position_embd.weight", "output.weight"})


@dataclass(frozen=True)
class ParamCount:
    total: int
    non_embedding: int


def param_count(path: Path | str) -> ParamCount:
    """Both counts of the GGUF at ``path`` (all shards); :class:`GGUFInfoError` if unreadable."""
    from gguf import GGUFReader

    total = embedding = 0
    for shard in shard_paths(Path(path)):
        try:
            reader = GGUFReader(shard)
        except (ValueError, OSError, IndexError, KeyError) as exc:
            raise GGUFInfoError(f"{shard}: not a readable GGUF file: {exc}") from None
        for t in reader.tensors:
            n = int(t.n_elements)
            total += n
            if t.name in EMBEDDING_TENSORS:
                embedding += n
    return ParamCount(total, total - embedding)


__all__ = ["EMBEDDING_TENSORS", "ParamCount", "param_count"]
