"""File names for report artefacts, stable across runs so diffs stay readable."""

from __future__ import annotations

import re


def slug(*parts: str) -> str:
    """``("arith", "shots=3", "exact_match")`` -> ``"arith__shots_3__exact_match"``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(parts)).strip("_")
