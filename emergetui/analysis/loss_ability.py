"""Ability against held-out pre-training loss (Du et al. 2024).

Du, Zeng, Dong and Tang (2024, "Understanding Emergent Abilities of Language
Models from the Loss Perspective") argue that an ability appears once the
pre-training loss falls below a task-specific threshold, whatever the size
or data that got the model there. Each rung's loss on the reference corpus
(:attr:`RungInfo.heldout`) places it on that axis.

Threshold estimate: walk the rungs from the highest loss to the lowest and
find the first whose CI lower bound exceeds chance and stays above it at
every lower loss; interpolate linearly in loss between it and the previous
rung, at the point where the lower bound crosses chance. "Stays above"
keeps one lucky plateau rung (a 2.5% event per rung for a 95% interval)
from being read as the ability appearing. Its interval: resample items within each rung, shift every
rung's lower bound by the resampled mean's change (the CI half-width is
kept, which avoids a bootstrap inside the bootstrap), and recompute; the
fraction of replicates where no threshold exists is reported.

The flag ``loss_smooth_ability_jumps`` marks the pattern Du et al. describe:
loss falls monotonically with size (Spearman rho(params, loss) <= -0.8) with
low breakthroughness (at most 1.5 x that of equal steps, i.e. <= 1.5 (n-1)),
while the ability's breakthroughness is high (>= 2 (n-1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from emergetui.analysis.bootstrap import percentile_interval, resample_means
from emergetui.analysis.curves import Curve
from emergetui.analysis.emergence import breakthroughness

LOSS_SMOOTH_RHO = -0.8
LOSS_SMOOTH_B = 1.5
ABILITY_JUMP_B = 2.0


@dataclass
class LossAbility:
    """Ability vs loss for one curve, the threshold and the smooth-loss flag."""

    task: str
    setting: str
    metric: str
    rungs: list[str]
    losses: list[float]
    means: list[float]
    ci_low: list[float]
    ci_high: list[float]
    threshold: float | None
    threshold_ci: tuple[float, float] | None
    threshold_note: str
    undefined_fraction: float | None
    loss_spearman: float | None
    loss_breakthroughness: float | None
    ability_breakthroughness: float | None
    loss_smooth_ability_jumps: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "points": [
                {"rung": r, "loss": loss, "mean": m, "ci_low": lo, "ci_high": hi}
                for r, loss, m, lo, hi in zip(
                    self.rungs,
                    self.losses,
                    self.means,
                    self.ci_low,
                    self.ci_high,
                    strict=True,
                )
            ],
            "threshold": self.threshold,
            "threshold_ci": list(self.threshold_ci) if self.threshold_ci else None,
            "threshold_note": self.threshold_note,
            "undefined_fraction": self.undefined_fraction,
            "loss_spearman": self.loss_spearman,
            "loss_breakthroughness": self.loss_breakthroughness,
            "ability_breakthroughness": self.ability_breakthroughness,
            "loss_smooth_ability_jumps": self.loss_smooth_ability_jumps,
        }


def crossing_threshold(losses: np.ndarray, lower: np.ndarray, chance: float) -> float | None:
    """Loss below which ``lower`` exceeds ``chance`` for good, walking from high loss down.

    ``losses`` must be sorted from highest to lowest. ``None`` when the lower
    bound does not end above chance, or is above it already at the highest
    loss (there is nothing to interpolate from).
    """
    below = np.flatnonzero(~(lower > chance))
    if below.size == 0 or below[-1] == lower.size - 1:
        return None
    i = int(below[-1]) + 1
    l0, l1 = float(losses[i - 1]), float(losses[i])
    b0, b1 = float(lower[i - 1]), float(lower[i])
    t = (chance - b0) / (b1 - b0) if b1 != b0 else 1.0
    return l0 + min(max(t, 0.0), 1.0) * (l1 - l0)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Rank correlation, ``None`` for fewer than 3 points or a constant input."""
    if len(x) < 3:
        return None
    rx, ry = rankdata(x), rankdata(y)
    if float(np.ptp(rx)) == 0.0 or float(np.ptp(ry)) == 0.0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def loss_to_ability(
    curve: Curve, rng: np.random.Generator, *, n_boot: int = 1000, level: float = 0.95
) -> LossAbility | None:
    """Analyse ``curve`` against held-out loss; ``None`` if under 2 rungs have one."""
    idx = [i for i, p in enumerate(curve.points) if p.heldout_loss is not None]
    if len(idx) < 2:
        return None
    y = curve.oriented_means()[idx]
    lo, hi = curve.oriented_ci()
    lo, hi = lo[idx], hi[idx]
    losses = np.array([curve.points[i].heldout_loss for i in idx], dtype=float)
    params = np.array([curve.points[i].params for i in idx], dtype=float)
    chance = curve.oriented_chance()

    threshold: float | None = None
    threshold_ci: tuple[float, float] | None = None
    undefined: float | None = None
    order = np.argsort(-losses, kind="stable")
    if chance is None:
        note = "no chance level known for this metric"
    else:
        threshold = crossing_threshold(losses[order], lo[order], chance)
        if threshold is not None:
            note = "loss below which the CI lower bound stays above chance"
        elif bool(np.all(lo > chance)):
            note = "already above chance at the highest loss"
        else:
            note = "does not end above chance"
        if n_boot > 0:
            samples = [curve.oriented_samples()[i] for i in idx]
            boot = np.column_stack([resample_means(s, n_boot, rng) for s in samples])
            boot_lo = boot - (y - lo)
            values = [crossing_threshold(losses[order], row[order], chance) for row in boot_lo]
            defined = [v for v in values if v is not None]
            undefined = 1.0 - len(defined) / n_boot
            if defined:
                threshold_ci = percentile_interval(np.array(defined), level)

    by_size = np.argsort(params, kind="stable")
    rho = spearman(params[by_size], losses[by_size])
    n = len(idx)
    loss_b = breakthroughness(-losses[by_size])
    ability_b = breakthroughness(y[by_size])
    flag = bool(
        n >= 3
        and rho is not None
        and rho <= LOSS_SMOOTH_RHO
        and loss_b <= LOSS_SMOOTH_B * (n - 1)
        and ability_b >= ABILITY_JUMP_B * (n - 1)
    )
    sign = curve.sign
    return LossAbility(
        task=curve.task,
        setting=curve.setting,
        metric=curve.metric,
        rungs=[curve.points[i].rung for i in idx],
        losses=[float(v) for v in losses],
        means=[float(sign * v) for v in y],
        ci_low=[curve.points[i].ci_low for i in idx],
        ci_high=[curve.points[i].ci_high for i in idx],
        threshold=threshold,
        threshold_ci=threshold_ci,
        threshold_note=note,
        undefined_fraction=undefined,
        loss_spearman=rho,
        loss_breakthroughness=loss_b,
        ability_breakthroughness=ability_b,
        loss_smooth_ability_jumps=flag,
    )
