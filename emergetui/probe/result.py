"""A probe pass's result for one (rung, task, setting): plain data, readable without llama.cpp."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ProbeResult:
    """Per-layer curves and per-rung scalars of one (rung, task, setting)."""

    rung: str
    task: str
    setting: str
    n: int
    curves: dict[str, list[float]] = field(default_factory=dict)
    scalars: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return int(self.scalars.get("params", 0) or 0)

    @property
    def n_layer(self) -> int:
        return max((len(v) for v in self.curves.values()), default=0)

    def best(self, kind: str = "probe_acc") -> tuple[int, float]:
        """(layer, value) of the best layer of a curve; (-1, nan) when it has none."""
        v = np.asarray(self.curves.get(kind, []), dtype=np.float64)
        if not len(v) or np.isnan(v).all():
            return -1, float("nan")
        i = int(np.nanargmax(v))
        return i, float(v[i])
