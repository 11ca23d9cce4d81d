"""Emergence analysis over stored item rows: pure Python, no model needed.

Entry point: :func:`analyze` (``records, rungs, seed`` -> :class:`Analysis`).
Each concept lives in its own module: ``curves`` (means with bootstrap CIs),
``bootstrap`` (the shared item bootstrap), ``scores`` (BIG-bench),
``shape``/``transition`` (the logistic and its width against the rung
gaps), ``emergence`` (the verdict rule), ``mirage`` (Schaeffer et al. 2023),
``loss_ability`` (Du et al. 2024), ``icl`` (shots) and ``export`` (JSON/CSV
views for the batch CLI).
"""

from emergetui.analysis.analyze import Analysis, AnalysisConfig, CurveScores, analyze
from emergetui.analysis.curves import Curve, CurvePoint, build_curves, make_curve
from emergetui.analysis.data import MetricKind, RungInfo, metric_kind
from emergetui.analysis.emergence import Verdict, VerdictParams, verdict
from emergetui.analysis.export import augment_results, emergence_json, points_rows
from emergetui.analysis.rule_text import verdict_rule_text
from emergetui.analysis.scores import breakthroughness, linearity

__all__ = [
    "Analysis",
    "AnalysisConfig",
    "Curve",
    "CurvePoint",
    "CurveScores",
    "MetricKind",
    "RungInfo",
    "Verdict",
    "VerdictParams",
    "analyze",
    "augment_results",
    "breakthroughness",
    "build_curves",
    "emergence_json",
    "linearity",
    "make_curve",
    "metric_kind",
    "points_rows",
    "verdict",
    "verdict_rule_text",
]
