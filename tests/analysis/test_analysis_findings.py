"""The plain-words findings: one line per phenomenon, built from the analysis alone."""

from __future__ import annotations

from analysis_synth import FAST, accuracy_rows, bernoulli, ladder, records
from test_analysis_mirage_loss_icl import _schaeffer

from emergetui.analysis import analyze
from emergetui.analysis.findings import findings

STEP = [0.0, 0.0, 0.0, 0.0, 0.9, 0.9]


def _by_kind(items: list) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in items:
        out.setdefault(f.kind, []).append(f.text)
    return out


def test_a_threshold_a_mirage_icl_and_the_loss_each_get_their_line() -> None:
    rungs = ladder()
    table = [bernoulli(p, 200) for p in STEP]
    level = [-3.0, -3.0, -3.0, -3.0, -0.5, -0.4]
    jump = records(
        "add",
        "shots=0",
        rungs,
        lambda i, j: {
            "exact_match": table[i][j],
            "logprob_correct_mean": level[i] + (j % 7 - 3) * 0.2,
        },
        200,
    )
    zero = accuracy_rows("code", "shots=0", rungs, [0.25] * 6, 200)
    five = accuracy_rows("code", "shots=5", rungs, [0.25, 0.25, 0.25, 0.6, 0.8, 0.9], 200, shots=5)
    analysis = analyze(jump + zero + five, rungs, seed=0, config=FAST)
    got = _by_kind(findings(analysis))

    (threshold,) = got["threshold"]
    assert threshold.startswith("add [shots=0]: exact match jumps 0% -> ")
    assert "between r3 and r4" in threshold and "log-likelihood per token" in threshold
    # 0 shots at chance everywhere and 5 shots: one in-context-learning line tells both
    assert "flat" not in got
    assert not any("shots=5" in t for k, ts in got.items() if k != "loss" for t in ts)
    (icl,) = got["icl"]
    assert icl.startswith("code [default]: in-context learning appears with scale: at 0 shots ")
    assert "every rung is at chance (" in icl and "chance 25%)" in icl
    # the claim is the fitted trend of the gain, never "from the first significant rung"
    assert "the gain from 5 examples grows by +" in icl and "per decade of params" in icl
    assert "from +0.00 at r0 to +0.65 at r5" in icl and "help from" not in icl
    (loss,) = got["loss"]
    assert loss.startswith("held-out loss falls at every rung (4 at r0 -> 2.5 at r5)")
    # the abilities leave chance at fitted onsets (highest first, with intervals), then midpoints
    assert "leave chance at different losses (fitted onset, loss with its likelihood-ratio" in loss
    assert "add [shots=0] exact match at " in loss
    assert "half way up (logistic midpoint) at loss: add [shots=0] near" in loss


def test_the_schaeffer_mirage_is_told_as_a_mirage() -> None:
    rows, rungs = _schaeffer()
    got = _by_kind(findings(analyze(rows, rungs, seed=0, config=FAST)))
    (mirage,) = got["mirage"]
    assert mirage.startswith("gen [shots=0]: exact match looks sudden (")
    assert "per-token scores improve smoothly (log-likelihood per token " in mirage
    assert mirage.endswith("a mirage of the all-or-nothing metric.")


def test_smooth_and_no_icl() -> None:
    rungs = ladder()
    smooth = accuracy_rows("s", "shots=0", rungs, [0.25 + 0.12 * i for i in range(6)], 300)
    same = accuracy_rows("s", "shots=3", rungs, [0.25 + 0.12 * i for i in range(6)], 300, shots=3)
    got = _by_kind(findings(analyze(smooth + same, rungs, seed=0, config=FAST)))
    (line,) = got["smooth"]
    assert line.startswith("s [shots=0]: accuracy rises smoothly, ")
    (none,) = got["no-icl"]
    assert none.startswith("s [default]: no gain from examples in the prompt (accuracy, 3 shots")


def test_many_task_settings_are_capped_and_counted() -> None:
    rungs = ladder()
    rows = []
    for t in range(12):
        rows += accuracy_rows(f"flat{t:02d}", "shots=0", rungs, [0.25] * 6, 100)
    table = [bernoulli(p, 200) for p in STEP]
    rows += records("jump", "shots=0", rungs, lambda i, j: {"exact_match": table[i][j]}, 200)
    got = findings(analyze(rows, rungs, seed=0, config=FAST), max_lines=4)
    kinds = [f.kind for f in got]
    assert kinds[:4].count("flat") == 3 and "emergent" in kinds[:4]  # the jump is kept
    assert (
        got[4].kind == "more"
        and got[4].text == "and 9 more task settings (9 flat): see the verdicts."
    )
