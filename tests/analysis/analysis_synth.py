"""Synthetic stored rows with known answers, for the analysis tests.

Per-item outcomes are deterministic (the first ``round(p * n)`` items are
correct) unless a generator is passed, so means are known exactly and only
the bootstrap intervals depend on the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emergetui.analysis import AnalysisConfig, RungInfo
from emergetui.tasks.records import ItemRaw, ItemRecord

#: Small bootstrap sizes keep the suite fast; the rules do not depend on them.
FAST = AnalysisConfig(n_boot=200)


def ladder(n: int = 6, start: float = 7.0, step: float = 0.5) -> list[RungInfo]:
    """``n`` rungs half a decade apart (1e7, 3.2e7, 1e8, ...), loss falling evenly."""
    return [
        RungInfo(
            label=f"r{i}",
            params=int(round(10 ** (start + step * i))),
            heldout={"loss": 4.0 - 0.3 * i, "bpb": 1.5 - 0.1 * i},
        )
        for i in range(n)
    ]


def bernoulli(p: float, n: int, rng: np.random.Generator | None = None) -> list[float]:
    """``n`` 0/1 outcomes with mean ``p`` (exactly, unless ``rng`` draws them)."""
    if rng is not None:
        return [float(v) for v in (rng.random(n) < p)]
    k = int(round(p * n))
    return [1.0] * k + [0.0] * (n - k)


def records(
    task: str,
    setting: str,
    rungs: Sequence[RungInfo],
    metrics: Callable[[int, int], dict[str, float]],
    n_items: int,
    *,
    shots: int = 0,
    n_choices: int = 0,
    run_id: str = "run",
) -> list[ItemRecord]:
    """Rows for every rung x item, metrics from ``metrics(rung_index, item_index)``.

    ``n_choices`` > 0 gives every item that many choices with one correct,
    so chance levels can be derived from the items.
    """
    choices = [f"c{j}" for j in range(n_choices)]
    scores = [1.0] + [0.0] * (n_choices - 1) if n_choices else []
    out: list[ItemRecord] = []
    for i, rung in enumerate(rungs):
        for j in range(n_items):
            out.append(
                ItemRecord(
                    run_id=run_id,
                    rung=rung.label,
                    task=task,
                    setting=setting,
                    item_id=f"{task}-{j}",
                    item_hash="h",
                    model_sha256="sha",
                    prompt="",
                    choices=list(choices),
                    target_scores=list(scores),
                    targets=[],
                    raw=ItemRaw(),
                    metrics=metrics(i, j),
                    shots=shots,
                )
            )
    return out


def accuracy_rows(
    task: str,
    setting: str,
    rungs: Sequence[RungInfo],
    probs: Sequence[float],
    n_items: int,
    *,
    metric: str = "multiple_choice_grade",
    shots: int = 0,
    n_choices: int = 4,
    rng: np.random.Generator | None = None,
) -> list[ItemRecord]:
    """A discrete metric whose per-rung mean is ``probs[i]``."""
    table = [bernoulli(p, n_items, rng) for p in probs]
    return records(
        task,
        setting,
        rungs,
        lambda i, j: {metric: table[i][j]},
        n_items,
        shots=shots,
        n_choices=n_choices,
    )


def rungs_at(
    log10_params: Sequence[float], losses: Sequence[float] | None = None
) -> list[RungInfo]:
    """Rungs at the given log10 sizes (labels r0, r1, ...), with held-out losses if given."""
    return [
        RungInfo(
            f"r{i}",
            int(round(10**x)),
            {"loss": float(losses[i])} if losses is not None else None,
        )
        for i, x in enumerate(log10_params)
    ]


def shared_binary(probs: Sequence[float], n: int, seed: int) -> list[np.ndarray]:
    """0/1 outcomes whose rung means are about ``probs``, with item difficulty shared by
    all rungs (item ``i`` is right at a rung iff its uniform draw ``u_i < p``): nested, as
    when a bigger model keeps what a smaller one got right."""
    u = np.random.default_rng(seed).random(n)
    return [(u < p).astype(float) for p in probs]
