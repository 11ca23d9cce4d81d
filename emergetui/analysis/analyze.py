"""The entry point: stored rows and rungs in, one :class:`Analysis` out.

``analyze`` needs no model and no database: the store hands it
``records(run_id)`` and ``rungs(run_id)``, and everything (curves with CIs,
BIG-bench scores, fitted transitions, verdicts, the mirage test,
loss-to-ability and in-context-learning curves) is recomputed from them. The
same rows and seed give the same document, bit for bit, so a report can be
regenerated at any time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from emergetui.analysis.choice_level import choice_curves, option_tables
from emergetui.analysis.claims import Claims, collect
from emergetui.analysis.corpus_curves import CorpusNote, build_corpus_curves
from emergetui.analysis.curves import Curve, CurveKey, build_curves
from emergetui.analysis.data import HEADLINE_ORDER, RungInfo
from emergetui.analysis.emergence import Verdict, VerdictParams, verdict
from emergetui.analysis.export import emergence_json
from emergetui.analysis.forecast import CurveForecast, forecast_curves
from emergetui.analysis.forecast_rungs import known_ladder_rungs
from emergetui.analysis.icl import IclResult, icl_curves
from emergetui.analysis.jsonable import clean_json, json_float
from emergetui.analysis.loss_ability import LossAbility, loss_to_ability
from emergetui.analysis.mirage import MirageResult, mirage_test
from emergetui.analysis.rule_text import verdict_rule_text
from emergetui.analysis.same_size import one_per_size, same_size_warnings
from emergetui.analysis.scores import breakthroughness, linearity
from emergetui.analysis.transition import Transition
from emergetui.tasks.records import ItemRecord


@dataclass(frozen=True)
class AnalysisConfig:
    """Bootstrap size and rule knobs; the defaults are what reports document.

    One bootstrap size serves everything: the shape fit needs no refits (its
    intervals are likelihood-ratio ranges over a grid, see
    :mod:`emergetui.analysis.shape`), only the covariance of the shared replicates.
    """

    n_boot: int = 1000
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

    @property
    def transition(self) -> Transition | None:
        """The fitted logistic (critical scale, width) behind the verdict, if any."""
        return self.verdict.transition

    @property
    def sigmoid(self) -> Transition | None:
        """Older name of :attr:`transition`."""
        return self.verdict.transition

    def to_dict(self) -> dict[str, Any]:
        """Everything behind the verdict (tests, jump, fit), for UIs that explain it."""
        return {
            "task": self.task,
            "setting": self.setting,
            "metric": self.metric,
            "breakthroughness": json_float(self.breakthroughness),
            "linearity": json_float(self.linearity),
            "verdict": self.verdict.to_dict(),
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
    #: rungs where a listed corpus metric (BLEU, ...) has no value, and why
    corpus_notes: list[CorpusNote] = field(default_factory=list)
    #: backtests of each task setting's headline curve (:mod:`emergetui.analysis.forecast`)
    forecast: list[CurveForecast] = field(default_factory=list)
    #: every claim of the run, Benjamini-Hochberg across them (:mod:`.claims`)
    claims: Claims | None = None

    def curve(self, task: str, setting: str, metric: str) -> Curve | None:
        return next((c for c in self.curves if c.key == (task, setting, metric)), None)

    def headline(self, task: str, setting: str, preferred: str | None = None) -> Curve | None:
        """The curve that speaks for a task setting: ``preferred`` (BIG-bench's preferred_score)
        if present, else the first of :data:`HEADLINE_ORDER`, else its first curve."""
        curves = [c for c in self.curves if (c.task, c.setting) == (task, setting) and c.points]
        for name in (preferred, *HEADLINE_ORDER):
            found = next((c for c in curves if c.metric == name), None)
            if found is not None:
                return found
        return curves[0] if curves else None

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
            "corpus_notes": [n.to_dict() for n in self.corpus_notes],
            "forecast": [f.to_dict() for f in self.forecast],
            "claims": self.claims.to_dict() if self.claims is not None else None,
            "warnings": list(self.warnings),
        }
        return clean_json(doc)

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON text (no NaN/Infinity) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def score_curve(curve: Curve, config: AnalysisConfig) -> CurveScores:
    """BIG-bench scores and the verdict (with its fitted transition) of one curve."""
    y = curve.oriented_means()
    return CurveScores(
        task=curve.task,
        setting=curve.setting,
        metric=curve.metric,
        breakthroughness=breakthroughness(y),
        linearity=linearity(y),
        verdict=verdict(curve, config.verdict),
    )


def answer_lengths(rows: Iterable[ItemRecord]) -> dict[tuple[str, str], float]:
    """Mean number of tokens of the scored answer (the first target) per task setting."""
    sums: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        raw = getattr(r, "raw", None)
        tokens = getattr(raw, "target_tokens", None)
        if tokens and tokens[0]:
            sums.setdefault((r.task, r.setting), []).append(len(tokens[0]))
    return {k: sum(v) / len(v) for k, v in sums.items()}


def analyze(
    records: Iterable[ItemRecord],
    rungs: Sequence[RungInfo],
    seed: int = 0,
    *,
    chance: Mapping[CurveKey, float] | None = None,
    config: AnalysisConfig | None = None,
    corpus: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> Analysis:
    """Analyse one run's stored rows.

    ``chance`` maps ``(task, setting, metric)`` to the runner's stored chance
    level; where absent, the level is derived from the items. ``corpus``
    names the metrics each (task, setting) declares; the corpus-level ones
    (BLEU, macro-F1, BIG-bench's Brier score and ECE) become curves too,
    resampled with the same item replicates as the task setting's mean
    curves, and are judged by the same rule. ``seed`` fixes every bootstrap
    (see :mod:`emergetui.analysis.bootstrap`).
    """
    cfg = config or AnalysisConfig()
    rows = list(records)
    bad = [r.label for r in rungs if not r.params or r.params <= 0]
    ordered = sorted((r for r in rungs if r.label not in bad), key=lambda r: (r.params, r.label))
    curves, warnings = build_curves(
        rows, ordered, chance=chance, seed=seed, n_boot=cfg.n_boot, level=cfg.level
    )
    notes: list[CorpusNote] = []
    if corpus:
        extra, notes = build_corpus_curves(
            rows, ordered, corpus, seed=seed, n_boot=cfg.n_boot, level=cfg.level
        )
        curves = sorted([*curves, *extra], key=lambda c: c.key)
    if bad:
        warnings.insert(0, f"rungs without a positive parameter count ignored: {', '.join(bad)}")
    warnings.extend(same_size_warnings(ordered))
    scores = [score_curve(c, cfg) for c in curves]
    verdicts = {(s.task, s.setting, s.metric): s.verdict for s in scores}
    # the shape-based tests see one file per size, as the verdicts did (same_size.py)
    per_item = [one_per_size(c)[0] for c in curves if not c.corpus]
    lengths = answer_lengths(rows)
    choice = choice_curves(rows, ordered, seed=seed, n_boot=cfg.n_boot, level=cfg.level)
    mirage = mirage_test(
        per_item,
        verdicts,
        cfg.verdict,
        lengths,
        choice,
        option_tables(rows, ordered),
        seed=seed,
        n_boot=cfg.n_boot,
    )
    losses = []
    for c in curves:
        result = loss_to_ability(one_per_size(c)[0], verdicts[c.key].label, level=cfg.level)
        if result is not None:
            losses.append(result)
    icl = icl_curves(
        [c for c in curves if not c.corpus],
        seed=seed,
        n_boot=cfg.n_boot,
        level=cfg.level,
        alpha=cfg.verdict.alpha,
    )
    forecast = forecast_curves(
        per_item,
        lengths,
        verdicts=verdicts,
        seed=seed,
        known_rungs=known_ladder_rungs(),
        rows=rows,
    )
    out = Analysis(
        seed=seed,
        config=cfg,
        rungs=list(ordered),
        curves=curves,
        scores=scores,
        mirage=mirage,
        loss_ability=losses,
        icl=icl,
        warnings=warnings,
        corpus_notes=notes,
        forecast=forecast,
    )
    out.claims = collect(out, cfg.verdict.alpha)
    return out
