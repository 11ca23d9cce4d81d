"""Reading GGUF headers and fitting rungs to RAM / VRAM (all memory numbers injected)."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_gguf import write_gguf

from emergetui.models.fit import (
    ALL_LAYERS,
    GB,
    Memory,
    detect_memory,
    fit_rung,
    load_with_retry,
    read_ram_available,
    vram_from_nvidia_smi,
)
from emergetui.models.gguf_info import GGUFHeader, GGUFInfoError, read_model_info


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> GGUFHeader:
    path = tmp_path_factory.mktemp("fit") / "m.gguf"
    return read_model_info(
        write_gguf(path, n_layers=4, n_embd=16, n_head=4, n_head_kv=2, n_ctx=512)
    )


def big(info: GGUFHeader, gb: float) -> GGUFHeader:
    """The same shape scaled to ``gb`` gigabytes of weights: 90% in blocks, 10% elsewhere."""
    total = int(gb * GB)
    per = int(total * 0.9) // info.n_layers
    return replace(info, tensor_bytes=total, layer_bytes=[per] * info.n_layers)


def test_header_fields(info: GGUFHeader) -> None:
    assert (info.architecture, info.n_layers, info.context_length) == ("llama", 4, 512)
    n_vocab = 3 + 256 + 8
    assert (info.n_embd, info.n_head, info.n_head_kv, info.n_vocab) == (16, 4, 2, n_vocab)
    per_block = 4 * (16 + 16 * 16 + 2 * 8 * 16 + 16 * 16 + 16 + 3 * 32 * 16)
    assert info.layer_bytes == [per_block] * 4
    assert info.output_bytes == 4 * (16 + n_vocab * 16)
    assert info.tensor_bytes == sum(info.layer_bytes) + info.output_bytes + 4 * n_vocab * 16
    assert info.kv_bytes(100) == 4 * 100 * 2 * (2 * 4) * 2  # layers*ctx*(K+V)*kv_heads*head_dim*f16


def test_not_a_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all" * 10)
    with pytest.raises(GGUFInfoError, match="not a readable GGUF"):
        read_model_info(bad)
    with pytest.raises(GGUFInfoError, match="missing"):
        read_model_info(tmp_path / "m-00001-of-00002.gguf")


def test_cpu_only(info: GGUFHeader) -> None:
    d = fit_rung("7B", big(info, 4), Memory(ram_free=16 * GB, source="no GPU found"))
    assert (d.n_gpu_layers, d.fits, d.n_layers, d.model_bytes) == (0, True, 4, 4 * GB)
    assert "CPU only" in d.reason


def test_everything_on_a_big_gpu(info: GGUFHeader) -> None:
    d = fit_rung("7B", big(info, 4), Memory(ram_free=8 * GB, vram_free=24 * GB))
    assert (d.n_gpu_layers, d.fits) == (ALL_LAYERS, True) and "all 4 layers" in d.reason
    m = fit_rung("7B", big(info, 4), Memory(ram_free=32 * GB, unified=True))
    assert m.n_gpu_layers == ALL_LAYERS and "unified" in m.reason


def test_partial_offload_counts_layers_that_fit(info: GGUFHeader) -> None:
    model = big(info, 8)  # 1.8 GB per block
    d = fit_rung("14B", model, Memory(ram_free=32 * GB, vram_free=5 * GB), n_ctx=16)
    assert d.fits and d.n_gpu_layers == 2 and "2 of 4 layers on GPU" in d.reason


def test_too_big_for_ram_plus_vram_is_skipped(info: GGUFHeader) -> None:
    d = fit_rung("72B", big(info, 47), Memory(ram_free=16 * GB, vram_free=24 * GB))
    assert (
        not d.fits and d.n_gpu_layers == 0 and "cannot run" in d.reason and "RAM + VRAM" in d.reason
    )


def test_overrides(info: GGUFHeader) -> None:
    mem = Memory(ram_free=64 * GB, vram_free=80 * GB)
    d = fit_rung("32B", big(info, 20), mem, max_model_gb=10)
    assert not d.fits and "--max-model-gb 10" in d.reason
    d = fit_rung("32B", big(info, 20), mem, n_gpu_layers=3)
    assert (d.n_gpu_layers, d.fits) == (3, True) and "--n-gpu-layers" in d.reason


def test_memory_detection_from_meminfo_and_nvidia_smi(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       32000000 kB\nMemFree:  1000 kB\nMemAvailable:   20000000 kB\n"
    )
    assert read_ram_available(meminfo) == 20_000_000 * 1024

    def smi(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        assert args[:2] == ["nvidia-smi", "--query-gpu=memory.free"]
        return subprocess.CompletedProcess(args, 0, "81000\n1000\n", "")

    assert vram_from_nvidia_smi(smi) == 82000 * (1 << 20)
    mem = detect_memory(meminfo=meminfo, run=smi, use_llama_cpp=False, apple_silicon=False)
    assert (mem.ram_free, mem.vram_free, mem.source) == (
        20_000_000 * 1024,
        82000 << 20,
        "nvidia-smi",
    )

    def no_gpu(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("nvidia-smi")

    mem = detect_memory(meminfo=meminfo, run=no_gpu, use_llama_cpp=False, apple_silicon=False)
    assert not mem.has_gpu and mem.vram_free == 0
    assert detect_memory(meminfo=meminfo, apple_silicon=True).unified


def test_load_with_retry_halves_gpu_layers_until_it_loads() -> None:
    tried: list[int] = []

    def load(n: int) -> str:
        tried.append(n)
        if n > 8 or n < 0:
            raise ValueError("Failed to load model from file")
        return f"model@{n}"

    retries: list[tuple[int, int]] = []
    loaded = load_with_retry(
        load, ALL_LAYERS, n_layers=40, on_retry=lambda a, b, e: retries.append((a, b))
    )
    assert tried == [-1, 20, 10, 5] and loaded.model == "model@5" and loaded.n_gpu_layers == 5
    assert retries == [(-1, 20), (20, 10), (10, 5)] and len(loaded.failures) == 3

    def never(n: int) -> str:
        raise ValueError(f"nope {n}")

    with pytest.raises(ValueError, match="nope 0"):
        load_with_retry(never, 3)

    def missing(n: int) -> str:
        raise FileNotFoundError("gone")

    with pytest.raises(FileNotFoundError):
        load_with_retry(missing, 10)
