"""The entry point: stored rows and rungs in, one :class:`Analysis` out.

``analyze`` needs no model and no database: the store hands it
``records(run_id)`` and ``rungs(run_id)``, and everything (curves with CIs,
BIG-bench scores, sigmoid critical scales, verdicts, the mirage test,
loss-to-ability and in-context-learning curves) is recomputed from them. The
same rows and seed give the same document, bit for bit, so a report can be
regenerated at any time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emergetui.analysis.bootstrap import rng_for
from emergetui.analysis.curves import Curve, CurveKey, build_curves
from emergetui.analysis.data import RungInfo
from emergetui.analysis.emergence import (
    Verdict,
    VerdictParams,
    breakthroughness,
    linearity,
    verdict,
    verdict_rule_text,
)
from emergetui.analysis.export import clean_json, emergence_json
from emergetui.analysis.icl import IclResult, icl_curves
from emergetui.analysis.loss_ability import LossAbility, loss_to_ability
from emergetui.analysis.mirage import MirageResult, mirage_test
from emergetui.analysis.sigmoid import SigmoidFit, fit_curve_sigmoid
from emergetui.tasks.records import ItemRecord


@dataclass(frozen=True)
class AnalysisConfig:
    """Bootstrap sizes and rule knobs; the defaults are what reports document.

    ``n_boot_fit`` is smaller than ``n_boot`` because every replicate is a
    nonlinear least-squares refit.
    """

    n_boot: int = 1000
    n_boot_fit: int = 100
    level: float = 0.95
    fix_lower_at_chance: bool = True
    verdict: VerdictParams = field(default_factory=VerdictParams)


@dataclass
class CurveScores:
    """Everything computed for one curve."""

    task: str
    setting: str
    metric: str
    breakthroughness: float
    linearity: float
    verdict: Verdict
    sigmoid: SigmoidFit | None

    def to_dict(self) -> dict[str, Any]:
        """Everything behind the verdict (plateau, jump, fit), for UIs that explain it."""
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "breakthroughness": self.breakthroughness,
            "linearity": self.linearity,
            "verdict": asdict(self.verdict),
            "sigmoid": self.sigmoid.to_dict() if self.sigmoid is not None else None,
        }


@dataclass
class Analysis:
    """The full result of :func:`analyze`; see :meth:`to_dict` for its JSON."""

    seed: int
    config: AnalysisConfig
    rungs: list[RungInfo]
    curves: list[Curve]
    scores: list[CurveScores]
    mirage: list[MirageResult]
    loss_ability: list[LossAbility]
    icl: list[IclResult]
    warnings: list[str] = field(default_factory=list)

    def curve(self, task: str, setting: str, metric: str) -> Curve | None:
        return next((c for c in self.curves if c.key == (task, setting, metric)), None)

    def scores_for(self, key: CurveKey) -> CurveScores | None:
        return next((s for s in self.scores if (s.task, s.setting, s.metric) == key), None)

    def mirage_for(self, task: str, setting: str) -> MirageResult | None:
        return next((m for m in self.mirage if (m.task, m.setting) == (task, setting)), None)

    def loss_for(self, key: CurveKey) -> LossAbility | None:
        return next((x for x in self.loss_ability if (x.task, x.setting, x.metric) == key), None)

    def to_dict(self) -> dict[str, Any]:
        doc = {
            "seed": self.seed,
            "config": asdict(self.config),
            "verdict_rule": verdict_rule_text(self.config.verdict),
            "rungs": [r.to_dict() for r in self.rungs],
            "curves": [c.to_dict() for c in self.curves],
            "emergence": emergence_json(self),
            "scores": [s.to_dict() for s in self.scores],
            "mirage": [m.to_dict() for m in self.mirage],
            "loss_ability": [x.to_dict() for x in self.loss_ability],
            "icl": [r.to_dict() for r in self.icl],
            "warnings": list(self.warnings),
        }
        return clean_json(doc)

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON text (no NaN/Infinity) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def score_curve(curve: Curve, config: AnalysisConfig, seed: int) -> CurveScores:
    """Scores, verdict and sigmoid of one curve.

    A flat curve gets no sigmoid: with nothing rising there is no transition,
    and a fitted midpoint would be an arbitrary number that looks like one.
    """
    y = curve.oriented_means()
    label = verdict(curve, config.verdict)
    fit = None
    if label.label != "flat":
        fit = fit_curve_sigmoid(
            curve,
            rng_for(seed, "sigmoid", *curve.key),
            n_boot=config.n_boot_fit,
            level=config.level,
            fix_lower_at_chance=config.fix_lower_at_chance,
        )
    return CurveScores(
        task=curve.task,
        setting=curve.setting,
        metric=curve.metric,
        breakthroughness=breakthroughness(y),
        linearity=linearity(y),
        verdict=label,
        sigmoid=fit,
    )


def analyze(
    records: Iterable[ItemRecord],
    rungs: Sequence[RungInfo],
    seed: int = 0,
    *,
    chance: Mapping[CurveKey, float] | None = None,
    config: AnalysisConfig | None = None,
) -> Analysis:
    """Analyse one run's stored rows.

    ``chance`` maps ``(task, setting, metric)`` to the runner's stored chance
    level; where absent, the level is derived from the items. ``seed`` fixes
    every bootstrap (see :mod:`emergetui.analysis.bootstrap`).
    """
    cfg = config or AnalysisConfig()
    bad = [r.label for r in rungs if not r.params or r.params <= 0]
    ordered = sorted((r for r in rungs if r.label not in bad), key=lambda r: (r.params, r.label))
    curves, warnings = build_curves(
        records, ordered, chance=chance, seed=seed, n_boot=cfg.n_boot, level=cfg.level
    )
    if bad:
        warnings.insert(0, f"rungs without a positive parameter count ignored: {', '.join(bad)}")
    scores = [score_curve(c, cfg, seed) for c in curves]
    verdicts = {(s.task, s.setting, s.metric): s.verdict for s in scores}
    mirage = mirage_test(curves, verdicts, cfg.verdict)
    losses = []
    for c in curves:
        result = loss_to_ability(
            c, rng_for(seed, "loss", *c.key), n_boot=cfg.n_boot, level=cfg.level
        )
        if result is not None:
            losses.append(result)
    icl = icl_curves(curves, seed=seed, n_boot=cfg.n_boot, level=cfg.level)
    for s in scores:
        if s.sigmoid is not None and s.sigmoid.fail_fraction and s.sigmoid.fail_fraction > 0.5:
            warnings.append(
                f"{s.task}/{s.setting}/{s.metric}: {s.sigmoid.fail_fraction:.0%} of "
                "sigmoid refits failed; the critical scale is poorly determined"
            )
    return Analysis(
        seed=seed,
        config=cfg,
        rungs=list(ordered),
        curves=curves,
        scores=scores,
        mirage=mirage,
        loss_ability=losses,
        icl=icl,
        warnings=warnings,
    )
