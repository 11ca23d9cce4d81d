"""What each rung of a ladder would cost on this machine: size on disk, cached or not, fits or not.

Shared by `emergetui ladders` and the lab's start screen, so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emergetui.fmt import fmt_bytes, gpu_layers_text
from emergetui.models.fit import Memory, fit_rung
from emergetui.models.ladders import Ladder, RungSpec

DEFAULT_N_CTX = 4096


@dataclass(frozen=True)
class RungRow:
    """One rung as the start screen lists it: size, cache, and how it would be loaded here."""

    label: str
    params: int
    source: str
    size_bytes: int | None
    cached: bool
    fits: bool | None
    gpu_layers: str
    reason: str


def memory_note(mem: Memory) -> str:
    gpu = f", {fmt_bytes(mem.vram_free)} VRAM" if mem.vram_free else ""
    return f"free: {fmt_bytes(mem.ram_free)} RAM{gpu} ({mem.source or 'unknown'})"


def rung_rows(
    ladder: Ladder, memory: Memory, n_ctx: int | None = None, n_gpu_layers: int | None = None
) -> list[RungRow]:
    """Size on disk, cache state and the fitter's decision for every rung of ``ladder``."""
    return [_rung_row(spec, memory, n_ctx or DEFAULT_N_CTX, n_gpu_layers) for spec in ladder.rungs]


def _local_path(spec: RungSpec) -> Path | None:
    from emergetui.models import hub

    if spec.path is not None:
        return spec.path if spec.path.is_file() else None
    try:
        return hub.ensure_rung(spec, offline=True) if hub.is_cached(spec) else None
    except Exception:  # noqa: BLE001 - a broken cache entry just reads as "not cached"
        return None


def _rung_row(spec: RungSpec, memory: Memory, n_ctx: int, n_gpu_layers: int | None) -> RungRow:
    from emergetui.models.gguf_info import GGUFInfoError, read_model_info, shard_paths

    path = _local_path(spec)
    size = spec.size
    if path is not None:
        try:
            size = sum(p.stat().st_size for p in shard_paths(path))
        except OSError:
            pass
        try:
            info = read_model_info(path)
        except (GGUFInfoError, OSError, ValueError) as e:
            return RungRow(
                spec.label,
                spec.params,
                spec.describe(),
                size,
                True,
                None,
                "?",
                f"unreadable GGUF: {e}",
            )
        d = fit_rung(spec.label, info, memory, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers)
        layers = gpu_layers_text(d.n_gpu_layers, d.n_layers)
        return RungRow(
            spec.label, spec.params, spec.describe(), size, True, d.fits, layers, d.reason
        )
    estimated = False
    if not size:
        size = estimated_size(spec)
        estimated = size is not None
    if size:
        pool = memory.ram_free if memory.unified else memory.ram_free + memory.vram_free
        fits = size * 1.2 <= pool
        what = (
            f"~{fmt_bytes(size)} from {spec.params:,} params at {spec.pattern}"
            if estimated
            else f"its {fmt_bytes(size)} file"
        )
        why = f"not downloaded; estimated from {what} against {fmt_bytes(pool)} free"
        return RungRow(spec.label, spec.params, spec.describe(), size, False, fits, "?", why)
    return RungRow(
        spec.label,
        spec.params,
        spec.describe(),
        None,
        False,
        None,
        "?",
        "not downloaded and no size in the ladder: fit is decided after download",
    )


# bits per weight of common llama.cpp quantisations (whole-file averages)
_BITS = {
    "Q2_K": 3.0,
    "Q3_K_M": 3.9,
    "Q4_0": 4.55,
    "Q4_K_M": 4.85,
    "Q4_K_S": 4.6,
    "Q5_K_M": 5.7,
    "Q6_K": 6.6,
    "Q8_0": 8.5,
    "F16": 16.0,
    "BF16": 16.0,
    "F32": 32.0,
}


def estimated_size(spec: RungSpec) -> int | None:
    """File size guessed from the parameter count and the quant, for rungs not yet downloaded."""
    quant = (spec.pattern or spec.file or "").upper()
    bits = next((b for q, b in _BITS.items() if q in quant), None)
    return int(spec.params * bits / 8) if bits else None
