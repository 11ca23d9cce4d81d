"""Torch model -> GGUF, through the project's own llama GGUF writer.

F32 on purpose: the ladder is small enough that the shipped files stay far
under the size budget, and an exact format lets the logits check demand
agreement to float-rounding level instead of a quantization tolerance.
"""

from __future__ import annotations

from pathlib import Path

from emergetui.models.gguf_writer import Vocab, write_llama_gguf
from emergetui.toy.model import ToyLlama, gguf_weights


def export_gguf(
    model: ToyLlama,
    path: str | Path,
    vocab: Vocab,
    *,
    name: str,
    metadata: dict[str, str] | None = None,
) -> Path:
    return write_llama_gguf(
        path, model.c.shape(), vocab, gguf_weights(model), name=name, metadata=metadata
    )
