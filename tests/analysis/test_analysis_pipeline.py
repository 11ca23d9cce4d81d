"""analyze() end to end: reproducibility, row handling and the JSON documents."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from analysis_synth import FAST, accuracy_rows, ladder, records

from emergetui.analysis import analyze, augment_results, emergence_json, points_rows
from emergetui.tasks.records import ItemRecord


def _strict_loads(text: str):
    def reject(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=reject)


def _rows(rungs) -> list[ItemRecord]:
    rows = accuracy_rows("step", "shots=0", rungs, [0.25] * 4 + [0.85, 0.9], 120)
    rows += accuracy_rows("lin", "shots=0", rungs, [0.25 + 0.1 * i for i in range(6)], 120)
    return rows


def test_same_seed_same_document_other_seed_other_intervals() -> None:
    rungs = ladder()
    first = analyze(_rows(rungs), rungs, seed=3, config=FAST).to_json()
    again = analyze(_rows(rungs), rungs, seed=3, config=FAST).to_json()
    other = analyze(_rows(rungs), rungs, seed=4, config=FAST).to_json()
    assert first == again
    assert first != other
    # means do not depend on the seed, only the intervals do
    means = lambda doc: [p["mean"] for c in doc["curves"] for p in c["points"]]  # noqa: E731
    assert means(_strict_loads(first)) == means(_strict_loads(other))


def test_adding_a_task_does_not_move_other_tasks_intervals() -> None:
    rungs = ladder()
    base = analyze(_rows(rungs), rungs, seed=0, config=FAST)
    extra = accuracy_rows("zzz", "shots=0", rungs, [0.3] * 6, 50)
    more = analyze(_rows(rungs) + extra, rungs, seed=0, config=FAST)
    key = ("step", "shots=0", "multiple_choice_grade")
    assert base.curve(*key).to_dict() == more.curve(*key).to_dict()


def test_rungs_are_ordered_by_size_not_by_input_order() -> None:
    rungs = ladder()
    analysis = analyze(_rows(rungs), list(reversed(rungs)), seed=0, config=FAST)
    assert [r.label for r in analysis.rungs] == [r.label for r in rungs]
    curve = analysis.curve("step", "shots=0", "multiple_choice_grade")
    assert [p.rung for p in curve.points] == [r.label for r in rungs]


def test_errors_are_excluded_and_counted_duplicates_and_unknown_rungs_handled() -> None:
    rungs = ladder(4)
    rows = accuracy_rows("t", "s", rungs, [0.5] * 4, 10)
    rows[0] = replace(rows[0], metrics={}, error="timeout")
    rows.append(replace(rows[1], metrics={"multiple_choice_grade": 0.0}))  # a resumed re-run
    rows.append(replace(rows[2], rung="ghost"))
    analysis = analyze(rows, rungs, seed=0, config=FAST)
    curve = analysis.curve("t", "s", "multiple_choice_grade")
    first = curve.points[0]
    assert first.n == 9
    assert first.n_errors == 1
    assert first.mean == pytest.approx(3 / 9)  # item 1 now wrong, item 0 errored
    assert any("ghost" in w for w in analysis.warnings)


def test_json_document_is_strict_and_complete() -> None:
    rungs = ladder()
    rows = _rows(rungs)
    rows += records("cont", "shots=0", rungs, lambda i, j: {"logprob_correct": -5.0 + i}, 20)
    doc = _strict_loads(analyze(rows, rungs, seed=0, config=FAST).to_json())
    assert set(doc) >= {"curves", "emergence", "mirage", "loss_ability", "icl", "verdict_rule"}
    step = next(e for e in doc["emergence"] if e["task"] == "step")
    assert step["verdict"] == "emergent"
    assert step["breakthroughness"] == "inf"  # a pure step: infinite, and said so
    assert step["jump"]["ci_low"] > 0 and step["span_in_gaps_ci"][1] <= 2
    lo, hi = step["sigmoid_midpoint_ci"]
    assert lo <= step["sigmoid_midpoint"] <= hi
    assert step["mirage"] == "n/a"
    assert step["loss_threshold"] is not None
    assert len(step["loss_threshold_ci"]) == 2


def test_emergence_json_keys_and_augment_results() -> None:
    rungs = ladder()
    analysis = analyze(_rows(rungs), rungs, seed=0, config=FAST)
    entries = emergence_json(analysis)
    expected = {
        "task",
        "setting",
        "metric",
        "verdict",
        "breakthroughness",
        "linearity",
        "sigmoid_midpoint",
        "sigmoid_midpoint_ci",
        "mirage",
        "loss_threshold",
        "loss_threshold_ci",
    }
    assert all(expected <= set(e) for e in entries)
    results = [
        {
            "rung": "r4",
            "task": "step",
            "shots": 0,
            "metric": "multiple_choice_grade",
            "value": 0.85,
        },
        {"rung": "r4", "task": "step", "metric": "multiple_choice_grade", "setting": "shots=0"},
        {"rung": "r9", "task": "step", "shots": 0, "metric": "multiple_choice_grade"},
    ]
    augment_results(results, analysis)
    point = analysis.curve("step", "shots=0", "multiple_choice_grade").points[4]
    assert results[0]["ci_low"] == point.ci_low and results[0]["ci_high"] == point.ci_high
    assert results[1]["ci_low"] == point.ci_low
    assert results[2]["ci_low"] is None and results[2]["ci_high"] is None
    rows = points_rows(analysis)
    assert len(rows) == sum(len(c.points) for c in analysis.curves)
