"""The run's findings in plain words: one line per phenomenon, for the top of every output.

The verdict lines say, per curve, which rule fired and on what evidence; a
reader new to the debate first wants the story: *what happened, at which
rung, and what the continuous metric says about it*. These lines are built
only from the analysis (verdicts, mirage test, in-context-learning
comparisons, loss-to-ability), never from knowledge of the task, so the same
sentences describe the toy ladder and a Qwen ladder on BIG-bench.

One line per task setting (its headline metric, or the mirage test's metric
when that test says ``mirage``), one per family of shot settings where
in-context learning was measured, and one for the held-out loss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emergetui.analysis.curves import Curve
from emergetui.analysis.icl import IclResult, setting_family
from emergetui.analysis.loss_ability import LossAbility
from emergetui.analysis.mirage import GRADES

if TYPE_CHECKING:
    from emergetui.analysis.analyze import Analysis

#: Short names that read as words in a sentence.
WORDS = {
    "exact_match": "exact match",
    "multiple_choice_grade": "accuracy",
    "prob_correct": "P(correct answer)",
    "logprob_correct": "log-likelihood of the answer",
    "logprob_correct_mean": "log-likelihood per token",
    "token_edit_distance": "edit distance",
    "token_accuracy": "per-token accuracy",
    "choice_prob_correct": "P(right option among the options)",
    "choice_logprob_correct": "log P(right option among the options)",
    "choice_margin": "margin to the best wrong option",
    "choice_margin_norm": "margin per character",
    "brier_sum": "Brier score",
}
CHOICE_PROB = "choice_prob_correct"


@dataclass(frozen=True)
class Finding:
    """One plain-words line; ``kind`` says which phenomenon it reports."""

    kind: str
    text: str
    task: str | None = None
    setting: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "task": self.task, "setting": self.setting, "text": self.text}


def _word(metric: str) -> str:
    return WORDS.get(metric, metric.replace("_", " "))


#: Metrics that are probabilities or rates, written as percentages.
PERCENT = {"exact_match", "multiple_choice_grade", "prob_correct", "token_accuracy"}

#: Continuous metrics to quote for a mirage, the per-token ones first.
CONTINUOUS_ORDER = ("token_accuracy", "logprob_correct_mean", "logprob_correct")


def _value(curve: Curve, v: float) -> str:
    """A percentage for scores on [0, 1], else three significant figures."""
    bounded = curve.binary or curve.metric in PERCENT or curve.value_range == (0.0, 1.0)
    return f"{100 * v:.0f}%" if bounded else f"{v:.3g}"


def _values(curve: Curve) -> str:
    return ", ".join(_value(curve, p.mean) for p in curve.points)


def _at(curve: Curve, rung: str) -> float:
    return next(p.mean for p in curve.points if p.rung == rung)


def _label(analysis: Analysis, curve: Curve) -> str:
    scores = analysis.scores_for(curve.key)
    return scores.verdict.label if scores is not None else "inconclusive"


def _ability_line(analysis: Analysis, curve: Curve) -> Finding:
    task, setting = curve.task, curve.setting
    where = f"{task} [{setting}]"
    mirage = analysis.mirage_for(task, setting)
    if mirage is not None and mirage.outcome == "mirage" and mirage.jump and mirage.discrete_metric:
        shown = analysis.curve(task, setting, mirage.discrete_metric) or curve
        lo, hi = mirage.jump
        smooth = [m for m, how in mirage.continuous.items() if how == "smooth"]
        also = f"; {_word(curve.metric)} {_values(curve)}" if curve.metric != shown.metric else ""
        sudden = (
            f"{where}: {_word(shown.metric)} looks sudden ({_value(shown, _at(shown, lo))} -> "
            f"{_value(shown, _at(shown, hi))} between {lo} and {hi}{also})"
        )
        if mirage.discrete_metric in GRADES:
            probs = mirage.choice.get(CHOICE_PROB, [])
            fit = f"; fit p = {mirage.p_value:.2g}" if mirage.p_value is not None else ""
            text = (
                f"{sudden}, but the probability of the right option among the options improves "
                f"steadily ({', '.join(f'{100 * v:.2g}%' for v in probs)}) and the options' "
                f"smooth log-likelihoods predict the grade{fit}: a mirage of the argmax."
            )
            return Finding("mirage", text, task, setting)
        quoted = next((m for m in CONTINUOUS_ORDER if m in smooth), smooth[0] if smooth else None)
        cont = analysis.curve(task, setting, quoted) if quoted else None
        rise = f"{_word(cont.metric)} {_values(cont)}" if cont is not None else ""
        text = (
            f"{sudden}, but the per-token scores improve smoothly ({rise}): a mirage of the "
            "all-or-nothing metric."
        )
        return Finding("mirage", text, task, setting)
    scores = analysis.scores_for(curve.key)
    label = scores.verdict.label if scores is not None else "inconclusive"
    first, last = curve.points[0], curve.points[-1]
    name = _word(curve.metric)
    if label == "emergent" and scores is not None and scores.verdict.jump is not None:
        jump = scores.verdict.jump
        a, b = _value(curve, _at(curve, jump.from_rung)), _value(curve, _at(curve, jump.to_rung))
        text = f"{where}: {name} jumps {a} -> {b} between {jump.from_rung} and {jump.to_rung}"
        if mirage is not None and mirage.outcome == "survives" and mirage.fit is not None:
            if mirage.discrete_metric in GRADES:
                text += (
                    f", more than the options' smooth log-likelihoods predict (fit p = "
                    f"{mirage.fit.p_value:.2g}, largest miss {mirage.fit.max_miss:.2f}): a "
                    "real threshold, not an artefact of the argmax."
                )
                return Finding("threshold", text, task, setting)
        if mirage is not None and mirage.outcome == "survives":
            jumps = [m for m, how in mirage.continuous.items() if how == "jumps"]
            text += (
                f", and {', '.join(_word(m) for m in jumps)} jump at the same rung: a real "
                "threshold, not an artefact of the metric."
            )
            return Finding("threshold", text, task, setting)
        if mirage is not None and mirage.outcome not in ("n/a", "survives"):
            text += f"; the continuous metrics say: {mirage.outcome} ({mirage.reason})."
        else:
            text += " (emergent)."
        return Finding("emergent", text, task, setting)
    verdict = scores.verdict if scores is not None else None
    if label == "step" and verdict is not None and verdict.jump is not None:
        jump = verdict.jump
        a, b = _value(curve, _at(curve, jump.from_rung)), _value(curve, _at(curve, jump.to_rung))
        text = (
            f"{where}: {name} steps up {a} -> {b} between {jump.from_rung} and {jump.to_rung} "
            f"from a level already above chance ({_values(curve)}): a step, not emergence "
            "from chance."
        )
        return Finding("step", text, task, setting)
    if label == "does-not-scale" and verdict is not None and verdict.constancy is not None:
        c_lo, c_hi = verdict.constancy.change_ci
        at_chance = f", chance {_value(curve, curve.chance)}" if curve.chance is not None else ""
        text = (
            f"{where}: {name} does not change with scale ({_values(curve)}{at_chance}; change "
            f"across the ladder {verdict.constancy.change:+.2g} [{c_lo:+.2g}, {c_hi:+.2g}])."
        )
        return Finding("does-not-scale", text, task, setting)
    if label == "flat":
        chance = f" (chance {_value(curve, curve.chance)})" if curve.chance is not None else ""
        text = f"{where}: {name} stays at chance on every rung{chance}: {_values(curve)}."
        return Finding("flat", text, task, setting)
    if label == "smooth":
        text = (
            f"{where}: {name} rises smoothly, {_value(curve, first.mean)} ({first.rung}) -> "
            f"{_value(curve, last.mean)} ({last.rung}): no threshold."
        )
        return Finding("smooth", text, task, setting)
    if label == "non-monotone" and scores is not None and scores.verdict.fall is not None:
        fall = scores.verdict.fall
        text = (
            f"{where}: {name} gets worse from {fall.from_rung} to {fall.to_rung}: {_values(curve)}."
        )
        return Finding("non-monotone", text, task, setting)
    decide = verdict.decide_params if verdict is not None else None
    near = f"; a rung near {decide:.2g} params would decide it" if decide is not None else ""
    text = (
        f"{where}: {name} goes {_values(curve)} ({first.rung} .. {last.rung}); the ladder "
        f"cannot tell a jump from a smooth rise{near}."
    )
    return Finding("inconclusive", text, task, setting)


def _signed(v: float, fmt: str) -> str:
    text = fmt.format(v)
    return text if text.startswith("-") else "+" + text


def _icl_line(result: IclResult, zero_flat: bool, chance: float | None) -> Finding:
    """The in-context-learning line: "appears with scale" only when the gain's trend test
    says the gain grows with size; otherwise the gain with its interval."""
    zero = [c for c in result.cells if c.shots == 0]
    top = max(result.shots)
    at_top = [c for c in result.cells if c.shots == top]
    bounded = all(0.0 <= c.mean <= 1.0 for c in result.cells)
    fmt = "{:.0%}" if bounded else "{:.3g}"
    gfmt = "{:.2f}" if bounded else "{:.3g}"
    zeros = f"{fmt.format(min(c.mean for c in zero))}-{fmt.format(max(c.mean for c in zero))}"
    tops = ", ".join(f"{c.rung} {fmt.format(c.mean)}" for c in at_top)
    where = f"{result.task} [{result.family}]"
    name = _word(result.metric)
    t = result.trend
    if t is None:
        text = f"{where}: {name} {zeros} at 0 shots; {top} shots: {tops} (no paired items)."
        return Finding("no-icl", text, result.task, result.family)
    mean = (
        f"{_signed(t.mean_gain, gfmt)} [{_signed(t.mean_ci[0], gfmt)}, "
        f"{_signed(t.mean_ci[1], gfmt)}]"
    )
    slope = (
        f"{_signed(t.slope, gfmt)} [{_signed(t.slope_ci[0], gfmt)}, "
        f"{_signed(t.slope_ci[1], gfmt)}] per decade of params (one-sided p = {t.p_value:.2g})"
    )
    if result.grows:
        level = f", chance {fmt.format(chance)}" if chance is not None else ""
        at_zero = (
            f"at 0 shots every rung is at chance ({zeros}{level})"
            if zero_flat
            else f"{name} {zeros} at 0 shots across the rungs"
        )
        ends = (
            f"{_signed(t.gains[0], gfmt)} at {t.rungs[0]} to "
            f"{_signed(t.gains[-1], gfmt)} at {t.rungs[-1]}"
        )
        text = (
            f"{where}: in-context learning appears with scale: {at_zero}; the gain from "
            f"{t.shots} examples grows by {slope}, from {ends}; {name} at {top} shots: {tops}."
        )
        return Finding("icl", text, result.task, result.family)
    if t.mean_ci[0] > 0:
        text = (
            f"{where}: examples help by {mean} ({name}, {t.shots} shots over 0, mean over "
            f"the rungs) at every size: the gain does not grow with size (slope {slope})."
        )
        return Finding("icl-gain", text, result.task, result.family)
    text = (
        f"{where}: no gain from examples in the prompt ({name}, {t.shots} shots over 0: "
        f"{mean}; {zeros} at 0 shots; {top} shots: {tops})."
    )
    return Finding("no-icl", text, result.task, result.family)


def ability_curves(
    analysis: Analysis, preferred: Mapping[tuple[str, str], str] | None = None
) -> list[Curve]:
    """The abilities the findings talk about: each task's 0-shot headline curve, and for a
    family where examples help, its curve at the largest shot count. These are what the
    loss-to-ability plot draws together."""
    preferred = preferred or {}
    keys = sorted({(c.task, c.setting) for c in analysis.curves})
    heads = [
        c
        for task, setting in keys
        if (c := analysis.headline(task, setting, preferred.get((task, setting)))) is not None
    ]
    out = [c for c in heads if c.shots == 0] or heads
    out = [c for c in out if _label(analysis, c) != "flat"]
    for result in analysis.icl:
        t = result.trend
        if t is None or not (result.grows or t.mean_ci[0] > 0):
            continue
        top = max(result.shots)
        out += [
            c
            for c in heads
            if c.task == result.task
            and c.shots == top
            and setting_family(c.setting) == result.family
            and c.metric == result.metric
        ]
    return out


def ability_losses(
    analysis: Analysis, preferred: Mapping[tuple[str, str], str] | None = None
) -> list[LossAbility]:
    """:func:`ability_curves` against held-out loss (those with a loss view)."""
    curves = ability_curves(analysis, preferred)
    return [x for c in curves if (x := analysis.loss_for(c.key)) is not None]


def _loss_line(analysis: Analysis, heads: Sequence[Curve]) -> Finding | None:
    rungs = [r for r in analysis.rungs if r.heldout_loss is not None]
    if len(rungs) < 2:
        return None
    losses = [float(r.heldout_loss or 0.0) for r in rungs]
    falls = sum(b < a for a, b in zip(losses, losses[1:]))
    how = "at every rung" if falls == len(losses) - 1 else f"at {falls} of {len(losses) - 1} steps"
    text = (
        f"held-out loss falls {how} ({losses[0]:.3g} at {rungs[0].label} -> {losses[-1]:.3g} at "
        f"{rungs[-1].label})"
    )
    leaves: list[tuple[float, tuple[float, float], str]] = []
    halves = []
    for curve in heads:
        name = f"{curve.task} [{curve.setting}] {_word(curve.metric)}"
        loss = analysis.loss_for(curve.key)
        if loss is None:
            continue
        if loss.onset is not None:
            o = loss.onset
            hi = f"{o.ci[1]:.3g}+" if o.open_above else f"{o.ci[1]:.3g}"
            leaves.append((o.value, o.ci, f"{name} at {o.value:.3g} [{o.ci[0]:.3g}, {hi}]"))
        if loss.threshold is not None:
            ci = loss.threshold_ci
            where = f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else ""
            halves.append(f"{curve.task} [{curve.setting}] near {loss.threshold:.3g}{where}")
    if leaves:
        ordered = [t for _, _, t in sorted(leaves, key=lambda x: -x[0])]
        apart = any(
            a[1][1] < b[1][0] or b[1][1] < a[1][0] for a in leaves for b in leaves if a is not b
        )
        how = "at different losses" if apart else "at losses these rungs cannot tell apart"
        text += (
            f"; the abilities leave chance {how} (fitted onset, loss with its likelihood-ratio "
            "range): " + ", ".join(ordered)
        )
    if halves:
        text += "; half way up (logistic midpoint) at loss: " + ", ".join(halves)
    return Finding("loss", text + ".")


def _capped(lines: list[Finding], max_lines: int) -> list[Finding]:
    """At most ``max_lines`` ability lines, the telling ones first (a 57-subject MMLU run
    must not bury the story): the rest are counted by kind in one more line."""
    if len(lines) <= max_lines:
        return lines
    rank = {
        "threshold": 0,
        "mirage": 1,
        "emergent": 2,
        "step": 3,
        "non-monotone": 4,
        "smooth": 5,
        "does-not-scale": 6,
    }
    keep = sorted(lines, key=lambda f: rank.get(f.kind, 7))[:max_lines]
    rest = [f for f in lines if f not in keep]
    counts = Counter(f.kind for f in rest)
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    text = f"and {len(rest)} more task settings ({summary}): see the verdicts."
    return [f for f in lines if f in keep] + [Finding("more", text)]


def findings(
    analysis: Analysis,
    preferred: Mapping[tuple[str, str], str] | None = None,
    max_lines: int = 8,
) -> list[Finding]:
    """The plain-words lines for ``analysis``; ``preferred`` names each task setting's
    headline metric (BIG-bench's preferred_score), else :meth:`Analysis.headline`'s order decides;
    at most ``max_lines`` lines about single task settings."""
    preferred = preferred or {}
    keys = sorted({(c.task, c.setting) for c in analysis.curves})
    icl_families = {(r.task, r.family) for r in analysis.icl}
    out: list[Finding] = []
    heads: list[Curve] = []
    for task, setting in keys:
        curve = analysis.headline(task, setting, preferred.get((task, setting)))
        if curve is None:
            continue
        heads.append(curve)
        in_family = (task, setting_family(setting)) in icl_families
        if in_family and (curve.shots > 0 or _label(analysis, curve) == "flat"):
            continue  # its story is the in-context-learning line
        out.append(_ability_line(analysis, curve))
    out = _capped(out, max_lines)
    zero_heads = {(c.task, setting_family(c.setting)): c for c in heads if c.shots == 0}
    for result in analysis.icl:
        zero = zero_heads.get((result.task, result.family))
        if zero is not None and zero.metric == result.metric:
            out.append(_icl_line(result, _label(analysis, zero) == "flat", zero.chance))
    loss = _loss_line(analysis, ability_curves(analysis, preferred))
    if loss is not None:
        out.append(loss)
    return out
