"""Ability against held-out pre-training loss (Du et al. 2024).

Du, Zeng, Dong and Tang (2024, "Understanding Emergent Abilities of Language
Models from the Loss Perspective") argue that an ability appears once the
pre-training loss falls below a task-specific threshold, whatever the size
or data that got the model there. Each rung's loss on the reference corpus
(:attr:`RungInfo.heldout`) places it on that axis.

Onset (the headline, Du et al.'s threshold): the loss where the ability leaves its plateau,
a fitted hinge with a continuous likelihood-ratio interval
(:mod:`emergetui.analysis.loss_onset`).

Midpoint (``threshold``, shown beside it): the midpoint of the same logistic the verdict fits
(:mod:`emergetui.analysis.transition`), here in ``x = -loss``: the loss at
which the ability is half way from its floor to its ceiling, with the
likelihood-ratio interval over the shapes the data do not reject (rung
covariance from the shared item bootstrap). It is a property of the fitted
curve, so more items narrow its interval without moving it -- unlike "the
first rung whose CI clears chance", which moves with the item count. No
threshold when the ability is flat or its midpoint lies outside the
measured losses.

Size and loss are confounded when every size has one checkpoint and loss
falls with size (Spearman rho(params, loss) <= -0.8, as on every built-in
ladder): the loss threshold then restates the critical scale and cannot
show that loss, rather than size, predicts the ability. The flag
``loss_smooth_ability_jumps`` marks the pattern Du et al. describe: loss
falls with size while the ability's verdict (against size) is emergent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from emergetui.analysis.curves import Curve
from emergetui.analysis.loss_onset import Onset, fit_onset
from emergetui.analysis.scores import breakthroughness
from emergetui.analysis.shape import rung_covariance
from emergetui.analysis.transition import assess

LOSS_SMOOTH_RHO = -0.8


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
    confounded: bool = False
    #: where the ability leaves its plateau (Du et al.'s threshold), with its interval
    onset: Onset | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.task, self.setting, self.metric)

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
            "onset": self.onset.value if self.onset else None,
            "onset_ci": list(self.onset.ci) if self.onset else None,
            "onset_open_above": self.onset.open_above if self.onset else None,
            "onset_note": self.onset.note if self.onset else None,
            "threshold": self.threshold,
            "threshold_ci": list(self.threshold_ci) if self.threshold_ci else None,
            "threshold_note": self.threshold_note,
            "undefined_fraction": self.undefined_fraction,
            "loss_spearman": self.loss_spearman,
            "loss_breakthroughness": self.loss_breakthroughness,
            "ability_breakthroughness": self.ability_breakthroughness,
            "loss_smooth_ability_jumps": self.loss_smooth_ability_jumps,
            "size_loss_confounded": self.confounded,
        }


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Rank correlation, ``None`` for fewer than 3 points or a constant input."""
    if len(x) < 3:
        return None
    from scipy.stats import rankdata  # here: scipy.stats costs ~0.5 s to import

    rx, ry = rankdata(x), rankdata(y)
    if float(np.ptp(rx)) == 0.0 or float(np.ptp(ry)) == 0.0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def loss_to_ability(
    curve: Curve, verdict_label: str | None = None, *, level: float = 0.95
) -> LossAbility | None:
    """Analyse ``curve`` against held-out loss; ``None`` if under 2 rungs have one."""
    idx = [i for i, p in enumerate(curve.points) if p.heldout_loss is not None]
    if len(idx) < 2:
        return None
    losses = np.array([curve.points[i].heldout_loss for i in idx], dtype=float)
    params = np.array([curve.points[i].params for i in idx], dtype=float)
    y = curve.oriented_means()[idx]
    threshold: float | None = None
    threshold_ci: tuple[float, float] | None = None
    order = np.argsort(-losses, kind="stable")  # rising ability: falling loss
    onset: Onset | None = None
    if verdict_label == "flat":
        note = "ability is flat: no threshold"
    elif len(idx) < 3 or float(np.ptp(losses)) <= 0.0:
        note = "fewer than 3 distinct losses: no threshold"
    else:
        counts = np.array([curve.points[i].n for i in idx])[order]
        boot = curve.oriented_boot()[:, idx][:, order]
        cov = rung_covariance(boot, y[order], counts, curve.binary)
        onset = fit_onset(losses[order], y[order], cov)
        t = assess(-losses[order], y[order], cov, curve.oriented_bounds(), level)
        lo_x, hi_x = float(-losses.max()), float(-losses.min())
        if t is None:
            note = "no rising logistic fits ability against loss"
        elif not lo_x <= t.midpoint <= hi_x:
            note = "the fitted transition lies outside the measured losses"
        else:
            threshold = -t.midpoint
            threshold_ci = (-t.midpoint_ci[1], -t.midpoint_ci[0])
            note = "loss at the midpoint of a logistic in -loss (likelihood-ratio CI)"
    by_size = np.argsort(params, kind="stable")
    rho = spearman(params[by_size], losses[by_size])
    confounded = rho is not None and rho <= LOSS_SMOOTH_RHO
    if confounded:
        note += "; size and loss confounded (one checkpoint per size, loss falls with size)"
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
        undefined_fraction=None,
        loss_spearman=rho,
        loss_breakthroughness=breakthroughness(-losses[by_size]),
        ability_breakthroughness=breakthroughness(y[by_size]),
        loss_smooth_ability_jumps=bool(
            len(idx) >= 3 and confounded and verdict_label == "emergent"
        ),
        confounded=bool(confounded),
        onset=onset,
    )
