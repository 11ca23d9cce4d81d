"""The compact batch output: a 24-task suite on a 7-rung ladder fits about 200 lines on a
100-column terminal, plots included; the long table stays behind --table full."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import bernoulli, ladder, records

from emergetui.analysis.analyze import analyze
from emergetui.report.document import document_from_records
from emergetui.report.ladder_table import WORTH_SEEING, compact_tables, compact_verdict_lines
from emergetui.report.summary import COMPACT_MAX_PLOTS, COMPACT_PLOT_HEIGHT, summary_text
from emergetui.report.termplot import analysis_plots

RUNGS = ladder(7)
EMERGENT = ("logical_deduction", "strategyqa", "winowhy")


def _suite() -> tuple[list, dict]:
    """24 four-choice tasks, 60 items each: three jump at the fifth rung, the rest at chance."""
    rng = np.random.default_rng(7)
    rows = []
    for t in range(24):
        name = EMERGENT[t] if t < len(EMERGENT) else f"lite_task_{t:02d}"
        jump = name in EMERGENT
        per_rung = [
            bernoulli(0.95 if jump and i >= 4 else 0.25, 60, rng) for i in range(len(RUNGS))
        ]
        probs = [
            np.clip((0.9 if jump and i >= 4 else 0.25) + rng.normal(0, 0.05, 60), 0, 1)
            for i in range(len(RUNGS))
        ]

        def metrics(i: int, j: int, per_rung: list = per_rung, probs: list = probs) -> dict:
            return {"multiple_choice_grade": per_rung[i][j], "prob_correct": float(probs[i][j])}

        rows += records(name, "shots=0", RUNGS, metrics, 60, n_choices=4)
    chance = {(r.task, r.setting, "multiple_choice_grade"): 0.25 for r in rows}
    return rows, chance


def test_a_24_task_suite_fits_about_200_lines_with_its_plots() -> None:
    rows, chance = _suite()
    rungs = [{"label": g.label, "params": g.params, "heldout": g.heldout} for g in RUNGS]
    analysis = analyze(rows, RUNGS, chance=chance)
    doc = document_from_records(
        "run", "synthetic", rungs, rows, chance, [], analysis=analysis
    ).to_dict()
    text = summary_text(doc, "compact", width=100)
    plots = analysis_plots(
        analysis,
        width=100,
        height=COMPACT_PLOT_HEIGHT,
        only=WORTH_SEEING,
        max_plots=COMPACT_MAX_PLOTS,
    )
    total = len(text.splitlines()) + sum(len(p.splitlines()) for p in plots)
    full = summary_text(doc, "full", width=100)
    assert total <= 200, total
    assert len(full.splitlines()) > 24 * 7  # the long table: a row per task setting x rung
    # every task setting has its table: a title line naming it and its verdict
    tables = compact_tables(doc, width=100)
    heads = {
        r["task"]: r["verdict"] for r in doc["emergence"] if r["metric"] == "multiple_choice_grade"
    }
    for task, verdict in heads.items():
        assert f"{task} [shots=0]  {verdict.upper()}" in tables
    # a jump seen between two rungs at 60 items: emergent, or inconclusive where the rule
    # cannot exclude a rung inside the rise (docs/verdict-rule.md)
    assert all(heads[name] in ("emergent", "inconclusive") for name in EMERGENT), heads
    flat = [t for t, v in heads.items() if v == "flat"]
    assert len(flat) >= 18  # chance-level noise: a few may come out inconclusive
    # verdicts: one line each (plus evidence) for the jumps, the flat ones named together
    lines = compact_verdict_lines(doc)
    assert sum(v.startswith(f"FLAT ({len(flat)}): ") for v in lines) == 1
    assert sum(("EMERGENT" in v or "INCONCLUSIVE" in v) for v in lines) == 3
    # the plots: only the curves worth seeing (the three jumps), not the 21 flat ones
    titles = [
        p
        for p in plots
        if any(f"multiple_choice_grade: {v}" in p for v in ("emergent", "inconclusive"))
    ]
    assert len(titles) == 3 and not any(": flat" in p for p in plots)


def test_compact_cells_are_means_with_intervals_in_rung_columns() -> None:
    rows, chance = _suite()
    rows = [r for r in rows if r.task == "strategyqa"]
    rungs = [{"label": g.label, "params": g.params, "heldout": g.heldout} for g in RUNGS]
    doc = document_from_records(
        "run", "synthetic", rungs, rows, chance, [], analysis=analyze(rows, RUNGS, chance=chance)
    ).to_dict()
    res = {
        (r["metric"], r["rung"]): r
        for r in doc["results"]
        if r["metric"] == "multiple_choice_grade"
    }
    wide = compact_tables(doc, width=200).splitlines()
    row = next(x for x in wide if x.strip().startswith("MC grade %"))
    cells = row.split("%", 1)[1].split("]")[:-1]
    assert len(cells) == 7
    for g, cell in zip(RUNGS, cells, strict=True):
        r = res[("multiple_choice_grade", g.label)]
        mean, ci = cell.strip().split(" ")
        lo, hi = ci.strip("[").split(",")
        assert int(mean) == round(100 * r["value"])
        assert int(lo) == round(100 * r["ci_low"]) and int(hi) == round(100 * r["ci_high"])
        assert int(lo) < int(hi)  # intervals never collapse
    narrow = compact_tables(doc, width=80).splitlines()
    assert all(len(x) <= 80 for x in narrow)  # the intervals move under their means
    assert len(narrow) > len(wide)


def test_report_writes_the_same_summary_with_the_same_choice(tmp_path, capsys) -> None:
    from test_analysis_store_report import _store_with_run

    from emergetui.cli import main

    _store_with_run(tmp_path / "s.sqlite").close()
    base = ["report", "run1", "--store", str(tmp_path / "s.sqlite"), "--out"]
    assert main([*base, str(tmp_path / "a")]) == 0
    assert main([*base, str(tmp_path / "b"), "--table", "full"]) == 0
    assert str(tmp_path / "a" / "summary.txt") in capsys.readouterr().out
    compact = (tmp_path / "a" / "summary.txt").read_text(encoding="utf-8")
    full = (tmp_path / "b" / "summary.txt").read_text(encoding="utf-8")
    assert "t [shots=0]  EMERGENT" in compact and "MC grade %" in compact
    assert "┃ task" in full and "t [shots=0]  EMERGENT" not in full


def test_analyze_makes_the_same_choice(tmp_path, capsys) -> None:
    import json

    from emergetui.cli import main

    path = tmp_path / "items.jsonl"
    lines = []
    for label, params, p in [("a", 10**7, 0.0), ("b", 10**8, 0.0), ("c", 10**9, 0.0)]:
        for j in range(40):
            row = {"rung": label, "params": params, "task": "t", "setting": "s", "item_id": j}
            row["metrics"] = {"exact_match": float(j < p * 40)}
            lines.append(json.dumps(row) + "\n")
    path.write_text("".join(lines))
    assert main(["analyze", str(path)]) == 0
    compact = capsys.readouterr().out
    assert main(["analyze", str(path), "--table", "full"]) == 0
    full = capsys.readouterr().out
    assert "t [s]" in compact and "exact match %" in compact and "┃ task" not in compact
    assert "┃ task" in full


def test_the_plots_do_not_depend_on_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """A width asked for is the width drawn: plotext would otherwise cut a plot (and drop its
    title) to $COLUMNS, so the batch output and these tests would change with the terminal."""
    rows, chance = _suite()
    analysis = analyze(rows, RUNGS, chance=chance)
    drawn = {}
    for columns in ("40", "250"):
        monkeypatch.setenv("COLUMNS", columns)
        drawn[columns] = analysis_plots(analysis, width=100, height=COMPACT_PLOT_HEIGHT)
    assert drawn["40"] == drawn["250"]
    assert all(max(len(ln) for ln in p.splitlines()) == 100 for p in drawn["40"] if p.strip())
