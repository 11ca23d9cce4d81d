"""Formatting helpers for the screens; they live in the core (``emergetui.fmt``) so the CLI shares them."""

from emergetui.fmt import bar, fmt_bytes, fmt_duration, fmt_params, fmt_value, gpu_layers_text

__all__ = ["bar", "fmt_bytes", "fmt_duration", "fmt_params", "fmt_value", "gpu_layers_text"]
