"""Simulated ladders for benchmarks/verdicts_mechanisms.py: per-item raw material as the store
holds it (options' per-token log-probabilities, target tokens' log-probabilities and greedy
flags, generated text), turned into metrics by the tasks package's own ``item_metrics``.

Every simulator returns ``(records, rungs)`` for :func:`emergetui.analysis.analyze`, plus the
truth it was built from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emergetui.analysis.data import RungInfo
from emergetui.tasks.base import Item
from emergetui.tasks.metrics import META_CHANCE, item_metrics
from emergetui.tasks.records import ItemRaw, ItemRecord

#: Real ladders (parameters).
LADDERS: dict[str, list[float]] = {
    "qwen2.5": [0.5e9, 1.5e9, 3e9, 7e9, 14e9, 32e9, 72e9],
    "pythia": [70e6, 160e6, 410e6, 1e9, 1.4e9, 2.8e9, 6.9e9, 12e9],
    "gemma3": [270e6, 1e9, 4e9, 12e9, 27e9],
    "llama2": [7e9, 13e9, 70e9],
}


def rungs_for(name: str, losses: Sequence[float] | None = None) -> list[RungInfo]:
    return [
        RungInfo(
            f"{name}-{i}",
            int(p),
            {"loss": float(losses[i])} if losses is not None else None,
        )
        for i, p in enumerate(LADDERS[name])
    ]


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def _split(total: float, tokens: int, rng: np.random.Generator) -> list[float]:
    """Per-token log-probs summing to ``total`` (a Dirichlet split)."""
    share = rng.dirichlet(np.full(tokens, 4.0))
    return [float(total * s) for s in share]


def _record(rung: str, task: str, setting: str, item: Item, raw: ItemRaw) -> ItemRecord:
    return ItemRecord(
        run_id="sim",
        rung=rung,
        task=task,
        setting=setting,
        item_id=item.item_id,
        item_hash="h",
        model_sha256="s",
        prompt=item.prompt,
        choices=list(item.choices),
        target_scores=list(item.target_scores),
        targets=list(item.targets),
        raw=raw,
        metrics=item_metrics(item, raw),
        shots=item.shots,
    )


def mc_records(
    rng: np.random.Generator,
    rungs: Sequence[RungInfo],
    n: int,
    advantage: np.ndarray | None,
    *,
    k_fluency: float,
    correct_scale: np.ndarray | None = None,
    per_token: tuple[float, float] = (1.5, 3.5),
    task: str = "mc",
    setting: str = "shots=0",
    n_choices: int = 4,
) -> list[ItemRecord]:
    """Multiple-choice rows. Each option has a few tokens and a per-token cost in nats at the
    smallest rung; every option's nats fall by ``k_fluency`` decades per decade of params
    (fluency); the right option's nats are multiplied by ``correct_scale[i, r]`` and it gets
    ``advantage[i, r]`` nats on top (the ability). Option lengths differ, except that
    ``per_token`` sets how much the per-token cost varies."""
    x = np.log10([r.params for r in rungs])
    tokens = rng.integers(2, 9, (n, n_choices))
    nats = tokens * rng.uniform(per_token[0], per_token[1], (n, n_choices))
    if advantage is None:
        advantage = np.zeros((n, len(rungs)))
    noise = rng.normal(0.0, 0.1, (n, n_choices, len(rungs)))  # on log nats
    out: list[ItemRecord] = []
    for i in range(n):
        item = Item(
            item_id=f"{task}-{i}",
            prompt="q",
            choices=tuple(f"option {j} " * int(tokens[i, j]) for j in range(n_choices)),
            target_scores=(1.0,) + (0.0,) * (n_choices - 1),
        )
        for r, rung in enumerate(rungs):
            scale = 10 ** (-k_fluency * (x[r] - x[0]))
            cost = nats[i] * scale
            if correct_scale is not None:
                cost[0] *= correct_scale[i, r]
            sums = -cost * np.exp(noise[i, :, r])
            sums[0] += advantage[i, r]
            lps = [_split(float(min(s, -1e-3)), int(t), rng) for s, t in zip(sums, tokens[i])]
            raw = ItemRaw(choice_logprobs=lps, choice_tokens=[[1] * int(t) for t in tokens[i]])
            out.append(_record(rung.label, task, setting, item, raw))
    return out


def generation_records(
    rng: np.random.Generator,
    rungs: Sequence[RungInfo],
    per_token_loss: np.ndarray,
    lengths: np.ndarray,
    *,
    task: str = "gen",
    setting: str = "shots=0",
    shots: int = 0,
    chance: float | None = None,
) -> list[ItemRecord]:
    """Generative rows: item ``i`` at rung ``r`` has per-token nats ``per_token_loss[i, r]``
    (jittered per token); a token is right when a shared uniform falls below its probability
    (so a sampler's and greedy's exact match agree), exact match when all are."""
    n, n_rungs = per_token_loss.shape
    top = int(lengths.max())
    u = rng.random((n, top))
    jitter = rng.gamma(8.0, 1 / 8.0, (n, top, n_rungs))
    meta = ((META_CHANCE, str(chance)),) if chance is not None else ()
    out: list[ItemRecord] = []
    for i in range(n):
        length = int(lengths[i])
        item = Item(
            item_id=f"{task}-{i}",
            prompt="q",
            targets=("a" * length,),
            generate=True,
            shots=shots,
            meta=meta,
        )
        for r, rung in enumerate(rungs):
            logp = -per_token_loss[i, r] * jitter[i, :length, r]
            right = u[i, :length] < np.exp(logp)
            text = "a" * length if right.all() else "b"
            raw = ItemRaw(
                target_tokens=[[1] * length],
                target_logprobs=[[float(v) for v in logp]],
                target_greedy=[[bool(v) for v in right]],
                generated_text=text,
                stop_reason="stop",
                response=text,
                edit_response_tokens=[1] * int(right.sum()) + [2] * int((~right).sum()),
                edit_target_tokens=[[1] * length],
            )
            out.append(_record(rung.label, task, setting, item, raw))
    return out


def binary_records(
    rng: np.random.Generator,
    rungs: Sequence[RungInfo],
    probs: Sequence[float],
    uniforms: np.ndarray,
    *,
    task: str,
    setting: str,
    shots: int = 0,
    chance: float = 0.25,
) -> list[ItemRecord]:
    """Four-option rows right with probability ``probs[r]`` at rung ``r``: item ``i`` knows the
    answer when ``uniforms[i] < q_r`` (nested across rungs: a bigger model keeps what a smaller
    one knew), else guesses, so the rung mean is ``chance + (1 - chance) q_r`` in expectation."""
    n = uniforms.size
    out: list[ItemRecord] = []
    for r, rung in enumerate(rungs):
        q = float(np.clip((probs[r] - chance) / (1 - chance), 0.0, 1.0))
        knows = uniforms < q
        guess = rng.random(n) < chance
        for i in range(n):
            right = bool(knows[i] or guess[i])
            item = Item(
                item_id=f"{task}-{i}",
                prompt="q",
                choices=("a", "b", "c", "d"),
                target_scores=(1.0, 0.0, 0.0, 0.0),
                shots=shots,
            )
            lps = [[-1.0], [-2.0], [-2.0], [-2.0]] if right else [[-2.0], [-1.0], [-2.0], [-2.0]]
            raw = ItemRaw(choice_logprobs=lps, choice_tokens=[[1]] * 4)
            out.append(_record(rung.label, task, setting, item, raw))
    return out


def correlated_uniforms(rng: np.random.Generator, z: np.ndarray, rho: float = 0.7) -> np.ndarray:
    """Uniforms that share item difficulty ``z`` (correlation ``rho`` on the normal scale):
    one draw per setting, so settings are paired over items without being identical."""
    from scipy.stats import norm

    return norm.cdf(rho * z + math.sqrt(1 - rho * rho) * rng.normal(0.0, 1.0, z.size))
