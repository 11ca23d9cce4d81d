"""Fitting each rung of a ladder to this machine's RAM and VRAM.

A ladder spans 100x in size, so the top rungs rarely fit where the bottom ones
do. Rather than let llama.cpp abort (or swap the machine to death) we decide
per rung, from the GGUF header, how many layers go to the GPU, and say why,
so a skipped or slow rung is explained in the report instead of a mystery.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from emergetui.models.gguf_info import GGUFHeader

ALL_LAYERS = -1
"""``n_gpu_layers`` value meaning every layer and the output head (llama-cpp-python's -1)."""

GB = 1_000_000_000
_GIB = 1 << 30
_MIB = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class Memory:
    """Free memory the fitter may plan with, and where the numbers came from."""

    ram_free: int
    vram_free: int = 0
    unified: bool = False
    source: str = ""
    remote_free: int = 0
    """Free memory of the llama.cpp RPC servers a rung is split over (as each server reports it)."""

    @property
    def has_gpu(self) -> bool:
        return self.unified or self.device_free > 0

    @property
    def device_free(self) -> int:
        """Memory layers can be offloaded to: this machine's VRAM plus the RPC servers'."""
        return self.vram_free + self.remote_free

    @property
    def device_name(self) -> str:
        if self.remote_free and self.vram_free:
            return "VRAM + RPC servers"
        return "RPC servers" if self.remote_free else "VRAM"


@dataclass(frozen=True)
class FitDecision:
    """How one rung will be loaded; ``fits`` is False when it cannot run at all."""

    label: str
    n_gpu_layers: int
    n_layers: int
    model_bytes: int
    fits: bool
    reason: str


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A model loaded by :func:`load_with_retry`, with the attempts that failed first."""

    model: T
    n_gpu_layers: int
    failures: list[tuple[int, str]] = field(default_factory=list)


def _gb(n: int) -> str:
    return f"{n / GB:.1f} GB"


def read_ram_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Available RAM in bytes (MemAvailable counts reclaimable page cache, unlike MemFree)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        pass
    try:  # macOS has no "available pages": plan with 3/4 of physical memory
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 3 // 4
    except (ValueError, OSError, AttributeError):
        return None


def vram_from_llama_cpp() -> int | None:
    """Free memory summed over ggml's dedicated-GPU devices (asked through the engine), or None."""
    from emergetui.engine.devices import gpu_free_memory

    return gpu_free_memory()


def vram_from_nvidia_smi(
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
) -> int | None:
    """Free VRAM in bytes summed over NVIDIA GPUs, or None without a working nvidia-smi."""
    if run is subprocess.run and shutil.which("nvidia-smi") is None:
        return None
    try:
        proc = run(
            ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    try:
        mib = [int(float(x)) for x in proc.stdout.split() if x.strip()]
    except ValueError:
        return None
    return sum(mib) * _MIB if mib else None


def detect_memory(
    *,
    meminfo: Path = Path("/proc/meminfo"),
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    use_llama_cpp: bool = True,
    apple_silicon: bool | None = None,
    rpc: Sequence[str] = (),
) -> Memory:
    """Measure free RAM and VRAM now (call it per run: other programs change both).

    With ``rpc`` endpoints, each server is asked (through ggml-rpc, in a
    child process) how much its devices have free; an unreachable one raises
    the engine's ``RpcError`` naming it.
    """
    if rpc:
        from emergetui.engine.rpc import free_memory

        remote = free_memory(rpc)
        mem = detect_memory(
            meminfo=meminfo, run=run, use_llama_cpp=use_llama_cpp, apple_silicon=apple_silicon
        )
        return replace(mem, remote_free=remote, source=f"{mem.source} + {len(rpc)} RPC server(s)")
    ram = read_ram_available(meminfo) or 0
    if apple_silicon is None:
        apple_silicon = sys.platform == "darwin" and platform.machine() == "arm64"
    if apple_silicon:
        return Memory(ram, 0, unified=True, source="Metal (unified memory = RAM)")
    vram = vram_from_llama_cpp() if use_llama_cpp else None
    if vram is not None:
        return Memory(ram, vram, source="ggml backend devices")
    vram = vram_from_nvidia_smi(run)
    if vram is not None:
        return Memory(ram, vram, source="nvidia-smi")
    return Memory(ram, 0, source="no GPU found")


def fit_rung(
    label: str,
    info: GGUFHeader,
    memory: Memory,
    *,
    n_ctx: int = 4096,
    n_gpu_layers: int | None = None,
    max_model_gb: float | None = None,
    overhead_bytes: int = 512 * _MIB,
    vram_reserve: float = 0.05,
) -> FitDecision:
    """Choose ``n_gpu_layers`` for one rung and explain the choice.

    Budget per layer = its weights + its KV cache at ``n_ctx``; ``overhead_bytes``
    stands for llama.cpp's compute buffers, and ``vram_reserve`` keeps a slice
    of VRAM free for the driver. ``n_gpu_layers`` and ``max_model_gb`` are the
    user's overrides (``--n-gpu-layers``, ``--max-model-gb``).
    """
    n_layers = info.n_layers
    model = info.tensor_bytes
    kv = info.kv_bytes(n_ctx)
    need = model + kv + overhead_bytes

    def decide(layers: int, fits: bool, reason: str) -> FitDecision:
        return FitDecision(label, layers, n_layers, model, fits, reason)

    if max_model_gb is not None and model > max_model_gb * GB:
        return decide(
            0, False, f"skipped: model is {_gb(model)}, above --max-model-gb {max_model_gb:g}"
        )
    pool = memory.ram_free if memory.unified else memory.ram_free + memory.device_free
    if need > pool:
        where = "RAM" if not memory.has_gpu or memory.unified else f"RAM + {memory.device_name}"
        return decide(
            0,
            False,
            f"cannot run: needs ~{_gb(need)} (weights {_gb(model)} + KV cache {_gb(kv)} at "
            f"n_ctx={n_ctx}) but only {_gb(pool)} {where} is free",
        )
    if n_gpu_layers is not None:
        shown = "all" if n_gpu_layers < 0 else str(min(n_gpu_layers, n_layers + 1))
        return decide(
            n_gpu_layers, True, f"{shown} of {n_layers} layers on GPU (set by --n-gpu-layers)"
        )
    if not memory.has_gpu:
        return decide(
            0, True, f"CPU only ({memory.source or 'no GPU'}): ~{_gb(need)} of {_gb(pool)} RAM"
        )
    if memory.unified:
        return decide(
            ALL_LAYERS, True, f"all {n_layers} layers on GPU (unified memory, ~{_gb(need)})"
        )
    dev, free = ("GPU", "VRAM") if not memory.remote_free else ("devices", memory.device_name)
    budget = int(memory.device_free * (1 - vram_reserve))
    if need <= budget:
        return decide(
            ALL_LAYERS,
            True,
            f"all {n_layers} layers on {dev}: "
            f"~{_gb(need)} of {_gb(memory.device_free)} free {free}",
        )
    per_layer = (model - info.other_bytes) / n_layers + info.kv_bytes_per_layer(n_ctx)
    layers = int(max(0, budget - overhead_bytes) // per_layer) if per_layer > 0 else 0
    layers = min(layers, n_layers)
    cpu_part = need - layers * per_layer
    if cpu_part > memory.ram_free:
        return decide(
            layers,
            False,
            f"cannot run: {layers}/{n_layers} layers fit in "
            f"{_gb(memory.device_free)} {free} but the "
            f"remaining ~{_gb(int(cpu_part))} exceed {_gb(memory.ram_free)} free RAM",
        )
    if layers == 0:
        return decide(
            0, True, f"CPU only: not even one layer fits in {_gb(memory.device_free)} free {free}"
        )
    return decide(
        layers,
        True,
        f"{layers} of {n_layers} layers on {dev} ({_gb(memory.device_free)} {free} free), "
        f"the rest (~{_gb(int(cpu_part))}) on CPU",
    )


def looks_retryable(exc: BaseException) -> bool:
    """Whether a failed load might succeed with fewer GPU layers.

    llama-cpp-python reports every load failure as the same ValueError, so
    only errors that are clearly not about memory (missing file, permission)
    are final.
    """
    return isinstance(exc, Exception) and not isinstance(exc, FileNotFoundError | PermissionError)


def load_with_retry(
    load_fn: Callable[[int], T],
    n_layers_start: int,
    *,
    n_layers: int | None = None,
    should_retry: Callable[[BaseException], bool] = looks_retryable,
    on_retry: Callable[[int, int, BaseException], None] | None = None,
) -> Loaded[T]:
    """Call ``load_fn(n_gpu_layers)``, halving the GPU layers after each failure.

    Fit estimates are estimates: when the GPU runs out of memory anyway we
    would rather run slower than not at all. Starting from ``ALL_LAYERS``
    needs ``n_layers`` to know what half is. The last attempt is 0 layers
    (CPU only); its failure is re-raised. ``on_retry(failed, next, exc)`` lets
    the caller log the fallback.
    """
    failures: list[tuple[int, str]] = []
    layers = n_layers_start
    while True:
        try:
            return Loaded(load_fn(layers), layers, failures)
        except BaseException as exc:
            if layers == 0 or not should_retry(exc):
                raise
            if layers < 0:
                if n_layers is None:
                    raise
                nxt = n_layers // 2
            else:
                nxt = layers // 2
            failures.append((layers, f"{type(exc).__name__}: {exc}"))
            if on_retry is not None:
                on_retry(layers, nxt, exc)
            layers = nxt


__all__ = [
    "ALL_LAYERS",
    "FitDecision",
    "Loaded",
    "Memory",
    "detect_memory",
    "fit_rung",
    "load_with_retry",
    "looks_retryable",
    "read_ram_available",
    "vram_from_llama_cpp",
    "vram_from_nvidia_smi",
]
