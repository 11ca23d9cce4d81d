"""Loading bad GGUF files: one clear error that names the file and the cause."""

from __future__ import annotations

import ctypes
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


def test_the_load_error_is_found_after_many_log_lines() -> None:
    """The log keeps its last 200 lines: a mark taken once it is full (a retried load, a long
    process) must still find the lines logged after it."""
    from emergetui.engine.native import _sink

    NULL = ctypes.c_void_p(0)
    sink = _sink()
    for i in range(450):
        sink._on_log(2, f"llama_model_loader: line {i}\n".encode(), NULL)
    mark = sink.mark()
    sink._on_log(4, b"llama_model_load: error loading model: architecture x is not known\n", NULL)
    assert sink.errors_since(mark) == [
        "llama_model_load: error loading model: architecture x is not known"
    ]
    assert sink.errors_since(sink.mark()) == []
