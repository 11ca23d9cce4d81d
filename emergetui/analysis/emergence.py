"""Emergence scores of a curve and the verdict rule.

Scores (rungs ordered by size, ``y_1..y_n`` oriented so that up is better):

* ``I(y) = sign(argmax y - argmin y) * (max y - min y)``: the signed overall
  change, positive when the best rung is larger than the worst one.
* breakthroughness ``B = I(y) / RootMedianSquare({y_{i+1} - y_i})``
  (Srivastava et al. 2022, "Beyond the Imitation Game", appendix B; used as
  the "emergence score" by Schaeffer et al. 2023). The median ignores the few
  big steps, so one large jump among small ones scores high.
* linearity ``L = I(y) / RootMeanSquare({y_{i+1} - y_i})`` (same appendix).
  The mean is dominated by big steps, so L peaks at ``n - 1`` for equal steps
  and shrinks towards ``sqrt(n - 1)`` for a single step.

Both use the rungs as given (BIG-bench computed them on its own model
series); they are not comparable across ladders of different length, which
is why the verdict below does not rest on them alone.

Verdict rule (the text returned by :func:`verdict_rule_text`, which the CLI
puts into ``--help`` and the README, is generated from the same parameters):

1. Orient the metric so that up is better. The baseline ``b`` is the chance
   level when one is known, otherwise the smallest rung's mean. The margin
   ``d`` is ``margin_sd`` (0.2) times the pooled within-rung item standard
   deviation: a "small" standardized effect, so the rule means the same for
   accuracies, log-probabilities and edit distances.
2. A rung is *above* when the lower bound of its 95% CI exceeds ``b`` and its
   mean exceeds ``b`` by at least ``d``. Otherwise it is *near chance*.
3. ``flat``: no rung is above.
4. With fewer than ``min_rungs`` (3) rungs the shape cannot be judged:
   ``inconclusive``.
5. ``emergent``: the smallest ``k + 1 >= 2`` rungs are near chance (a plateau
   is observed, not assumed), some later rung ``j`` is above with its CI
   lower bound above the CI upper bound of the last plateau rung ``k``, and
   the largest single step after the plateau is at least ``jump_share`` (0.5)
   of the total rise from rung ``k`` to the best later rung.
6. ``smooth``: not emergent, and a least-squares line of the means on
   log10(params) rises with R^2 >= ``smooth_r2`` (0.8).
7. ``inconclusive``: anything else (no plateau to jump from, a zig-zag, a
   decline, or a jump whose CIs overlap).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from emergetui.analysis.curves import Curve


def signed_range(y: np.ndarray) -> float:
    """``I(y)``: max minus min, negative when the minimum comes after the maximum."""
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    span = float(arr.max() - arr.min())
    direction = int(np.argmax(arr)) - int(np.argmin(arr))
    return span if direction >= 0 else -span


def _ratio(numerator: float, denominator: float) -> float:
    """Division that reads 0/0 as 0 and x/0 as a signed infinity."""
    if not math.isfinite(numerator):
        return float("nan")
    if denominator <= 0.0:
        if numerator == 0.0:
            return 0.0
        return math.copysign(math.inf, numerator)
    return numerator / denominator


def breakthroughness(y: np.ndarray) -> float:
    """BIG-bench breakthroughness ``I(y) / sqrt(median((y_{i+1} - y_i)^2))``.

    Srivastava et al. (2022), appendix B; Schaeffer et al. (2023) call it the
    emergence score. ``inf`` when all but a minority of steps are exactly 0
    (a pure step), ``0`` for a constant curve, ``nan`` under 2 points.
    """
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    steps = np.diff(arr)
    return _ratio(signed_range(arr), math.sqrt(float(np.median(steps**2))))


def linearity(y: np.ndarray) -> float:
    """BIG-bench linearity ``I(y) / sqrt(mean((y_{i+1} - y_i)^2))``.

    Srivastava et al. (2022), appendix B ("Definitions of linearity and
    breakthroughness"). Equals ``n - 1`` for equal steps and ``sqrt(n - 1)``
    for a single step, so it rewards steady improvement with scale.
    """
    arr = np.asarray(y, dtype=float)
    if arr.size < 2:
        return float("nan")
    steps = np.diff(arr)
    return _ratio(signed_range(arr), math.sqrt(float(np.mean(steps**2))))


def linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """``(slope, r_squared)`` of an ordinary least-squares line.

    R^2 is 1 for a perfect line and 0 for a constant ``y`` (nothing to explain,
    so nothing is explained), which keeps flat curves out of "smooth".
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.size < 2 or float(np.ptp(xa)) == 0.0:
        return (float("nan"), float("nan"))
    slope, intercept = np.polyfit(xa, ya, 1)
    ss_tot = float(np.sum((ya - ya.mean()) ** 2))
    if ss_tot == 0.0:
        return (float(slope), 0.0)
    ss_res = float(np.sum((ya - (slope * xa + intercept)) ** 2))
    return (float(slope), max(0.0, 1.0 - ss_res / ss_tot))


@dataclass(frozen=True)
class VerdictParams:
    """The knobs of the verdict rule; the defaults are what the CLI documents."""

    margin_sd: float = 0.2
    jump_share: float = 0.5
    smooth_r2: float = 0.8
    min_rungs: int = 3


@dataclass
class Verdict:
    """The label plus everything needed to explain it.

    ``plateau_end`` is the index of the last near-chance rung of the initial
    plateau (-1 when the smallest rung is already above), ``jump_at`` the
    index ``i`` of the largest step ``i -> i+1`` after the plateau, and
    ``separated_at`` the first later rung whose CI clears the plateau's.
    """

    label: str
    reason: str
    baseline: float
    margin: float
    plateau_end: int = -1
    jump_at: int | None = None
    separated_at: int | None = None
    jump_share: float | None = None
    slope: float | None = None
    r2: float | None = None


def largest_step(y: np.ndarray, start: int) -> tuple[int | None, float]:
    """Index ``i >= start`` of the largest step ``y[i+1] - y[i]`` and its share.

    The share is that step divided by the rise from ``y[start]`` to the best
    later point, so a single clean step scores 1 and ``n`` equal steps score
    ``1/n``.
    """
    arr = np.asarray(y, dtype=float)
    start = max(start, 0)
    if arr.size - start < 2:
        return (None, 0.0)
    steps = np.diff(arr[start:])
    i = int(np.argmax(steps))
    rise = float(arr[start + 1 :].max() - arr[start])
    if rise <= 0.0:
        return (start + i, 0.0)
    return (start + i, float(steps[i]) / rise)


def verdict(curve: Curve, params: VerdictParams | None = None) -> Verdict:
    """Apply the rule in this module's docstring to ``curve``."""
    p = params or VerdictParams()
    y = curve.oriented_means()
    lo, hi = curve.oriented_ci()
    n = y.size
    chance = curve.oriented_chance()
    baseline = chance if chance is not None else (float(y[0]) if n else float("nan"))
    margin = p.margin_sd * curve.pooled_sd()
    if n < 2:
        return Verdict("inconclusive", "fewer than 2 rungs", baseline, margin)
    above = (lo > baseline) & (y - baseline >= margin)
    base_name = "chance" if chance is not None else "the smallest rung"
    if not above.any():
        return Verdict("flat", f"no rung is clearly above {base_name}", baseline, margin)
    if n < p.min_rungs:
        return Verdict(
            "inconclusive", f"only {n} rungs: the shape cannot be judged", baseline, margin
        )
    k = int(np.argmax(above)) - 1
    slope, r2 = linear_fit(curve.log_params, y)
    jump_at, share = largest_step(y, k) if k >= 0 else (None, 0.0)
    separated = [j for j in range(k + 1, n) if above[j] and lo[j] > hi[k]] if k >= 0 else []
    common = {
        "baseline": baseline,
        "margin": margin,
        "plateau_end": k,
        "jump_at": jump_at,
        "separated_at": separated[0] if separated else None,
        "jump_share": share,
        "slope": slope,
        "r2": r2,
    }
    if k >= 1 and separated and share >= p.jump_share:
        rung_k = curve.points[k].rung
        rung_j = curve.points[separated[0]].rung
        why = (
            f"near {base_name} up to {rung_k}, then {rung_j} is above it with "
            f"non-overlapping CIs; largest step is {share:.0%} of the rise"
        )
        return Verdict("emergent", why, **common)
    if math.isfinite(slope) and slope > 0 and r2 >= p.smooth_r2:
        why = f"rises steadily with log-params (R^2={r2:.2f}) without a sharp jump"
        return Verdict("smooth", why, **common)
    if k < 1:
        why = "above baseline from the smallest rungs on, not a steady rise"
    elif not separated:
        why = "rises after a plateau, but the CIs of plateau and later rungs overlap"
    elif share < p.jump_share:
        why = f"rises after a plateau, spread over several steps (largest {share:.0%})"
    else:
        why = "neither a sharp jump nor a steady rise"
    if math.isfinite(r2):
        why += f"; linear fit R^2={r2:.2f}"
    return Verdict("inconclusive", why, **common)


def verdict_rule_text(params: VerdictParams | None = None, width: int = 79) -> str:
    """The verdict rule in plain words, for ``--help`` and the README.

    Pre-wrapped to ``width`` columns with hanging indents, so it reads the
    same under argparse's ``RawDescriptionHelpFormatter`` and in Markdown
    code blocks.
    """
    p = params or VerdictParams()
    items = [
        (
            "",
            "Verdicts, per task, setting and metric. Rungs are ordered by parameter "
            "count; the metric is oriented so that up is better.",
        ),
        (
            "  ",
            "baseline = the chance level if known, else the smallest rung's mean; "
            f"margin = {p.margin_sd:g} x the pooled within-rung item standard deviation.",
        ),
        (
            "  ",
            "A rung is ABOVE when its 95% bootstrap CI lower bound exceeds the baseline "
            "and its mean exceeds the baseline by at least the margin; otherwise it is "
            "NEAR CHANCE.",
        ),
        ("  flat:         ", "no rung is above."),
        (
            "  emergent:     ",
            "the smallest two or more rungs are near chance, a later rung is above with "
            "its CI lower bound above the CI upper bound of the last near-chance rung, "
            "and the largest single step after that rung is at least "
            f"{p.jump_share:.0%} of the total rise.",
        ),
        (
            "  smooth:       ",
            "not emergent, and a least-squares line of the means on log10(params) "
            f"rises with R^2 >= {p.smooth_r2:g}.",
        ),
        (
            "  inconclusive: ",
            f"fewer than {p.min_rungs} rungs (the shape cannot be judged), or none of "
            "the rules above applies.",
        ),
        (
            "",
            "Scores shown alongside: breakthroughness I(y)/RootMedianSquare(steps) and "
            "linearity I(y)/RootMeanSquare(steps), with "
            "I(y)=sign(argmax-argmin)*(max-min) (BIG-bench, Srivastava et al. 2022, appendix B). The critical "
            "scale is the midpoint of a sigmoid fitted in log10(params), with a "
            "bootstrap CI over items.",
        ),
    ]
    return "\n".join(
        textwrap.fill(text, width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix))
        for prefix, text in items
    )
