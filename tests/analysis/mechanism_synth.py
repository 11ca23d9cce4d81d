"""Stored rows with the raw material of multiple-choice items (options' per-token
log-probabilities), turned into metrics by the tasks package's own ``item_metrics``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emergetui.analysis import RungInfo
from emergetui.tasks.base import Item
from emergetui.tasks.metrics import item_metrics
from emergetui.tasks.records import ItemRaw, ItemRecord

#: Qwen2.5's sizes: real ladder spacing.
QWEN = [0.5e9, 1.5e9, 3e9, 7e9, 14e9, 32e9, 72e9]


def qwen_rungs(losses: Sequence[float] | None = None) -> list[RungInfo]:
    return [
        RungInfo(f"q{i}", int(p), {"loss": float(losses[i])} if losses is not None else None)
        for i, p in enumerate(QWEN)
    ]


def mc_rows(
    rng: np.random.Generator,
    rungs: Sequence[RungInfo],
    n: int,
    *,
    advantage: np.ndarray | None = None,
    correct_scale: np.ndarray | None = None,
    fluency: float = 0.1,
    per_token: tuple[float, float] = (1.5, 3.5),
) -> list[ItemRecord]:
    """Four options of 2-8 tokens; every option's nats fall by ``fluency`` decades per decade
    of params; the right option (the first) has its nats times ``correct_scale[i, r]`` and
    ``advantage[i, r]`` nats more log-likelihood."""
    x = np.log10([r.params for r in rungs])
    tokens = rng.integers(2, 9, (n, 4))
    nats = tokens * rng.uniform(per_token[0], per_token[1], (n, 4))
    noise = rng.normal(0.0, 0.1, (n, 4, len(rungs)))
    out: list[ItemRecord] = []
    for i in range(n):
        item = Item(
            item_id=f"mc-{i}",
            prompt="q",
            choices=tuple("word " * int(t) for t in tokens[i]),
            target_scores=(1.0, 0.0, 0.0, 0.0),
        )
        for r, rung in enumerate(rungs):
            cost = nats[i] * 10 ** (-fluency * (x[r] - x[0]))
            if correct_scale is not None:
                cost[0] *= correct_scale[i, r]
            sums = -cost * np.exp(noise[i, :, r])
            if advantage is not None:
                sums[0] = min(sums[0] + advantage[i, r], -1e-3)
            lps = [[float(s) / int(t)] * int(t) for s, t in zip(sums, tokens[i], strict=True)]
            raw = ItemRaw(choice_logprobs=lps, choice_tokens=[[1] * int(t) for t in tokens[i]])
            out.append(
                ItemRecord(
                    run_id="run",
                    rung=rung.label,
                    task="mc",
                    setting="shots=0",
                    item_id=item.item_id,
                    item_hash="h",
                    model_sha256="s",
                    prompt="q",
                    choices=list(item.choices),
                    target_scores=list(item.target_scores),
                    targets=[],
                    raw=raw,
                    metrics=item_metrics(item, raw),
                )
            )
    return out
