"""Strict JSON from analysis values: NaN is not JSON, and an infinite score must stay visible."""

from __future__ import annotations

import math
from typing import Any


def json_float(value: float) -> float | str | None:
    """A score for JSON: infinities stay visible as ``"inf"``/``"-inf"``, NaN is ``None``.

    Breakthroughness of a pure step is infinite; writing it as null would
    hide the strongest possible value.
    """
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value if math.isfinite(value) else None


def clean_json(value: Any) -> Any:
    """Make ``value`` strict JSON: NaN and infinities (not JSON) become ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return clean_json(value.item())
    return value
