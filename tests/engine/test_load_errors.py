"""Loading bad GGUF files: one clear error that names the file and the cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine import ModelLoadError


def _unknown_arch(path: Path) -> Path:
    import gguf

    w = gguf.GGUFWriter(str(path), "frobnicator")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda p, m: p, "no such model file"),
        (lambda p, m: (p.write_bytes(b"PK\x03\x04 not a gguf" * 10), p)[1], "not a GGUF file"),
        (
            lambda p, m: (p.write_bytes(m.read_bytes()[: m.stat().st_size // 3]), p)[1],
            "could not load",
        ),
        (lambda p, m: (p.write_bytes(b"GGUF" + b"\x00" * 100), p)[1], "could not load"),
        (lambda p, m: _unknown_arch(p), "architecture frobnicator is not known"),
        (lambda p, m: (p.mkdir(), p)[1], "is a folder"),
    ],
    ids=["missing", "not-gguf", "truncated", "corrupt-header", "unknown-arch", "folder"],
)
def test_bad_model_file(tmp_path: Path, tiny_model: Path, make, needle: str) -> None:
    path = make(tmp_path / "model.gguf", tiny_model)
    with pytest.raises(ModelLoadError) as info:
        Engine.load(path, n_gpu_layers=0)
    msg = str(info.value)
    assert str(path) in msg
    assert needle in msg
    assert "\n" not in msg
