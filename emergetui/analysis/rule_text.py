"""The verdict rule and the mirage test in plain words, for ``--help``, reports and the docs.

Generated from the same parameters the rule runs with, so the text cannot
drift from the code.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emergetui.analysis.emergence import VerdictParams


def verdict_rule_text(params: VerdictParams | None = None, width: int = 79) -> str:
    """The rule, pre-wrapped to ``width`` columns with hanging indents."""
    from emergetui.analysis.emergence import VerdictParams

    p = params or VerdictParams()
    conf = f"{p.level:.0%}"
    band = f"{1 - 2 * p.alpha:.0%}"
    items = [
        (
            "",
            "Verdicts, per task, setting and metric. Rungs are ordered by parameter count; "
            "the metric is oriented so that up is better. All rungs score the same items, "
            "so one item bootstrap (item ids resampled once per replicate, applied to every "
            "rung) gives every cross-rung statement, paired. Rung intervals: Wilson score "
            f"({conf}) for pass/fail metrics, bootstrap percentile otherwise. Corpus "
            "statistics (BLEU, macro-F1, BIG-bench's Brier score and ECE) are curves too: "
            "BIG-bench's value per rung, and the same statistic on the same replicates; "
            "they are judged by the same rule but take no part in the mirage test.",
        ),
        (
            "  flat:         ",
            "no rung above chance: one-sided tests (exact binomial for pass/fail "
            f"metrics), Holm-corrected over the rungs at {p.alpha:g}. Without a chance "
            "level: no rung better than the smallest one (paired).",
        ),
        (
            "  non-monotone: ",
            f"a later rung is worse than an earlier one by at least {p.fall_share:.0%} of "
            "the curve's range, the paired drop significant after Holm over all rung pairs. "
            "A rise that falls back is not emergence.",
        ),
        (
            "",
            "Otherwise fit floor + (ceiling - floor) * sigmoid((log10 N - midpoint) / scale), "
            "and a power law in N beside it, by generalised least squares (covariance from "
            f"the shared bootstrap), and take the {band} likelihood-ratio range of the "
            "10%-90% rise in rung gaps (the distance between the two rungs around the "
            f"midpoint): each end is a one-sided test at {p.alpha:g}.",
        ),
        (
            "  emergent:     ",
            f"the whole range is at most {p.sharp_gaps:g} gaps and a plateau of at least "
            f"{p.min_plateau} rungs before such a sharp rise fits the data: a plateau, then a "
            "transition narrower than the ladder can resolve.",
        ),
        (
            "  smooth:       ",
            f"the whole range is above {p.sharp_gaps:g} gaps (the ladder sees the curve rise "
            f"gradually), or the best fit is wider than {p.sharp_gaps:g} gaps and no "
            f"{p.min_plateau}-rung plateau followed by a sharp rise fits (the only sharp "
            "shapes left rise from the first rungs): gradual, and emergence is rejected.",
        ),
        (
            "  inconclusive: ",
            f"fewer than {p.min_rungs} rungs, a range either side of {p.sharp_gaps:g} gaps "
            f"that still admits a plateau and a sharp rise (width not resolved), or a sharp "
            f"rise with fewer than {p.min_plateau} rungs before it.",
        ),
        (
            "",
            "Mirage test (Schaeffer et al. 2023), per task setting: when a nonlinear metric "
            "(exact match, multiple-choice grade, P(correct) = p^L) is emergent, each linear "
            "one on the same outputs (per-token log-likelihood and accuracy, edit distance, "
            "Brier) 'jumps' if it is emergent or rises as sharply at the same gap, else "
            "'smooth' if its verdict is smooth or it improves significantly (paired) across "
            "the nonlinear metric's plateau. The teacher-forced per-token metrics decide "
            "when stored (edit distance scores free generation, where one wrong token can "
            "derail the rest, and is reported beside them). mirage: some smooth, none "
            "jumps; survives: some jump, none smooth; mixed: both; inconclusive: neither. "
            "Beside it: exact match observed, and predicted from the per-token accuracy "
            "(a^L) and from the per-token probabilities (mean p_token^L).",
        ),
        (
            "",
            "Shown alongside, not used: BIG-bench breakthroughness and linearity "
            "(Srivastava et al. 2022, appendix B; a pure step has infinite "
            'breakthroughness, written "inf").',
        ),
    ]
    return "\n".join(
        textwrap.fill(text, width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix))
        for prefix, text in items
    )
