"""What the mirage test found for one task setting (:mod:`emergetui.analysis.mirage`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emergetui.analysis.curves import Curve
from emergetui.analysis.mechanism import MechanismFit

#: The continuous metric that is itself p^L: the mechanism's prediction of exact match.
PREDICTOR = "prob_correct"
#: The per-token accuracy whose L-th power is Schaeffer et al.'s prediction of exact match.
ACCURACY = "token_accuracy"


@dataclass
class MirageResult:
    """The outcome for one task setting and how each linear metric behaved."""

    task: str
    setting: str
    outcome: str
    reason: str
    discrete_metric: str | None = None
    jump: tuple[str, str] | None = None
    continuous: dict[str, str] = field(default_factory=dict)
    early_gain: dict[str, list[float]] = field(default_factory=dict)
    observed: list[float] | None = None
    predicted: list[float] | None = None
    rungs: list[str] | None = None
    #: ``a^L`` per rung from the per-token accuracy, and the ``L`` used (mean answer tokens)
    predicted_accuracy: list[float] | None = None
    answer_tokens: float | None = None
    #: the tested mechanism: the discrete curve against its prediction from the continuous one
    fit: MechanismFit | None = None
    #: per-rung means of the choice-level quantities (they are not stored curves)
    choice: dict[str, list[float]] = field(default_factory=dict)

    @property
    def p_value(self) -> float | None:
        """The mechanism fit's p-value (small: the continuous quantity, transformed, does not
        explain the discrete curve, i.e. evidence that the jump survives); ``None`` untested."""
        return self.fit.p_value if self.fit is not None else None

    @property
    def mechanism(self) -> str | None:
        """One line: the discrete curve beside its predictions from the continuous numbers."""
        if self.observed is None or self.predicted is None or not self.rungs:
            return self.fit.line() if self.fit is not None else None
        obs = " ".join(f"{v:.2f}" for v in self.observed)
        pred = " ".join(f"{v:.2f}" for v in self.predicted)
        acc = ""
        if self.predicted_accuracy is not None and self.answer_tokens is not None:
            values = " ".join(f"{v:.2f}" for v in self.predicted_accuracy)
            acc = (
                f"; predicted from per-token accuracy (a^L, L = {self.answer_tokens:.3g} tokens) "
                f"{values}"
            )
        fit = ""
        if self.fit is not None:
            fit = f"; best fit {self.fit.what}: p = {self.fit.p_value:.3g}"
        return (
            f"{self.discrete_metric} observed {obs}{acc}; predicted from per-token probability "
            f"(mean p_token^L = {PREDICTOR}) {pred}{fit}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "setting": self.setting,
            "outcome": self.outcome,
            "reason": self.reason,
            "discrete_metric": self.discrete_metric,
            "jump": list(self.jump) if self.jump else None,
            "continuous": dict(self.continuous),
            "early_gain": {k: list(v) for k, v in self.early_gain.items()},
            "p_value": self.p_value,
            "fit": self.fit.to_dict() if self.fit is not None else None,
            "choice": {k: list(v) for k, v in self.choice.items()},
            "mechanism": {
                "rungs": self.rungs,
                "observed": self.observed,
                "predicted": self.predicted,
                "predicted_accuracy": self.predicted_accuracy,
                "answer_tokens": self.answer_tokens,
                "line": self.mechanism,
            }
            if self.observed is not None or self.fit is not None
            else None,
        }


def mechanism_lines(
    dcurve: Curve, by_metric: Mapping[str, Curve], answer_tokens: float | None
) -> dict[str, Any] | None:
    pred = by_metric.get(PREDICTOR)
    if dcurve.metric != "exact_match" or pred is None:
        return None
    at = {p.rung: p.mean for p in pred.points}
    rungs = [p.rung for p in dcurve.points if p.rung in at]
    out: dict[str, Any] = {
        "rungs": rungs,
        "observed": [p.mean for p in dcurve.points if p.rung in at],
        "predicted": [at[r] for r in rungs],
    }
    acc = by_metric.get(ACCURACY)
    if acc is not None and answer_tokens:
        a = {p.rung: p.mean for p in acc.points}
        if all(r in a for r in rungs):
            out["predicted_accuracy"] = [a[r] ** answer_tokens for r in rungs]
            out["answer_tokens"] = answer_tokens
    return out
