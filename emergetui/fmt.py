"""Human formatting of sizes, rates and durations, shared by every screen."""

from __future__ import annotations

import math


def fmt_bytes(n: float | None) -> str:
    """``1_500_000_000`` -> ``"1.4 GiB"``; ``None`` -> ``"?"``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - loop always returns


def fmt_params(n: float) -> str:
    """``1_400_000_000`` -> ``"1.4B"``: the way ladders name their rungs."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.3g}"


def fmt_duration(seconds: float | None) -> str:
    """``3725`` -> ``"1h02m"``; short enough for a progress line."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def fmt_value(x: float | None, digits: int = 3) -> str:
    """A metric value; NaN and missing values read as an empty cell, not as a number."""
    if x is None or not math.isfinite(x):
        return ""
    return f"{x:.{digits}f}"


def bar(fraction: float, width: int) -> str:
    """A text progress bar: Rich markup free, so it survives text captures."""
    fraction = min(1.0, max(0.0, fraction))
    full = int(fraction * width)
    half = 1 if fraction * width - full >= 0.5 and full < width else 0
    return "█" * full + "▌" * half + "░" * (width - full - half)


def gpu_layers_text(n_gpu_layers: int | None, n_layers: int | None = None) -> str:
    """llama.cpp's ``n_gpu_layers`` as a person reads it: -1 is "all", 0 is "CPU"."""
    if n_gpu_layers is None:
        return "?"
    if n_gpu_layers < 0:
        return "all"
    if n_gpu_layers == 0:
        return "CPU"
    return f"{n_gpu_layers}/{n_layers}" if n_layers else str(n_gpu_layers)
