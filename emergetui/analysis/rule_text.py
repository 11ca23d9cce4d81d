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
    from emergetui.analysis.resolution import BAND

    conf = f"{p.level:.0%}"
    band_lo, band_hi, band_w = (f"{v:.0%}" for v in (BAND[0], BAND[1], BAND[1] - BAND[0]))
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
            "  flat:           ",
            "no rung above chance: one-sided tests (exact binomial for pass/fail "
            f"metrics), Holm-corrected over the rungs at {p.alpha:g}. Without a chance "
            "level: no rung better than the smallest one (paired).",
        ),
        (
            "  does-not-scale: ",
            "above chance, but the level does not move with size: neither a paired "
            "Wald test that all rungs are equal nor the paired slope in log10 N finds a "
            f"change (together at {p.alpha:g}); the evidence gives the change across the "
            f"ladder with its {conf} interval.",
        ),
        (
            "  non-monotone:   ",
            f"a later rung is worse than an earlier one by at least {p.fall_share:.0%} of "
            "the curve's range, the paired drop significant after Holm over all rung pairs. "
            "A rise that falls back is not emergence.",
        ),
        (
            "",
            "Same-size files (two quantisations, base and instruct) are never two rungs: "
            "each curve keeps one file per size (the one scored on the most items), says "
            "which, and the run warns. Otherwise fit floor + (ceiling - floor) * "
            "sigmoid((log10 N - midpoint) / scale), and a power law in N beside it, by "
            "generalised least squares (covariance from the shared bootstrap). A rung lies "
            f"inside the rise when the fitted curve there is {band_lo}-{band_hi} of the way "
            "from floor to ceiling. First, a non-decreasing curve must fit (parametric "
            f"bootstrap of the best one, at {p.alpha:g}, on every ladder): else no shape "
            "verdict (inconclusive), so a partial fall-back is never emergent. A misfit of "
            "the logistic and power law that is still monotone widens every range by the "
            "misfit ratio.",
        ),
        (
            "  emergent:       ",
            "no rung inside the rise under any shape the data accept, at least "
            f"{p.min_plateau} rungs before it and 1 after, and the plateau at chance (Wei "
            "et al.: near random, then well above). Tested against the best shape with a "
            "rung inside, by parametric bootstrap at that bound (one-sided, at "
            f"{p.sharp_alpha:g}, so that its size at the bound stays under {p.alpha:g} on "
            "every ladder). "
            "The evidence names the size of a rung that would show the rise.",
        ),
        (
            "  step:           ",
            "the same sharp rise, but from a raised plateau: even its lowest rung is "
            f"significantly more than {p.raised_share:.0%} of the jump above chance.",
        ),
        (
            "  smooth:         ",
            "at least 2 rungs inside the rise under every accepted shape (so removing one "
            "rung cannot leave it unresolved), or, where the rise runs on beyond the "
            f"ladder, no two neighbouring gaps carrying {band_w} of the part the ladder sees: "
            f"the ladder resolves a gradual rise (likelihood-ratio test, one-sided {p.alpha:g}).",
        ),
        (
            "  inconclusive:   ",
            f"fewer than {p.min_rungs} rungs of distinct size; no monotone shape fits; or "
            "neither claim holds: the evidence says which (a sharp rise and a rung inside "
            "it both fit, or a rise over two gaps with one rung inside it, or fewer than "
            f"{p.min_plateau} rungs before a sharp rise) and, when a gap decides it, the size "
            "of the rung that would (a rung near 10^x params).",
        ),
        (
            "",
            "Mirage test (Schaeffer et al. 2023), per task setting: when a nonlinear metric "
            "(exact match, multiple-choice grade, P(correct) = p^L) rises suddenly at this "
            "ladder's resolution (emergent or step, or a plateau then 70% of the rise within "
            "two gaps), the continuous quantities that carry the task are judged on the same "
            "outputs: for generation the teacher-forced per-token log-likelihoods (per-token "
            "accuracy and free-generation edit distance reported beside them); for multiple "
            "choice only choice-normalised ones (probability of the right option after the "
            "softmax over the options, its log, the margin to the best wrong option, Brier): "
            "raw option log-likelihoods rise with fluency for every option and are not "
            "evidence. Each 'jumps' if it rises as sharply at the same gap, else 'smooth' if "
            "it is smooth or improves significantly (paired) across the plateau. mirage: some "
            "smooth, none jumps; survives: some jump, none smooth; mixed: both; inconclusive: "
            "neither. The mechanism is tested: the discrete curve predicted from the fitted "
            "continuous one (a^L and mean p^L for generation; for multiple choice the chance "
            "that the right option wins under per-option power laws in size) against the "
            "observed one, a chi-square p-value on the paired bootstrap covariance.",
        ),
        (
            "",
            "Benjamini-Hochberg across every claim of a run (emergent, step, smooth, "
            "non-monotone, mirage, in-context gains) is shown beside the per-curve tests. "
            "Shown alongside, not used: BIG-bench breakthroughness and linearity "
            "(Srivastava et al. 2022, appendix B; a pure step has infinite "
            'breakthroughness, written "inf").',
        ),
    ]
    return "\n".join(
        textwrap.fill(text, width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix))
        for prefix, text in items
    )
