"""Every task family end to end on the tiny ladder through the batch CLI."""

from __future__ import annotations

import json
from pathlib import Path

from emergetui.cli import main
from tests.conftest import FIXTURES
from tests.tasks.tasks_testdata import write_mmlu


def _run(capsys, *argv: str) -> dict:
    code = main(["--batch", "--json", "--no-heldout", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_arithmetic_with_shot_sweep(tmp_path: Path, ladder_file: Path, capsys) -> None:
    doc = _run(
        capsys,
        "--ladder",
        str(ladder_file),
        "--task",
        "arith-2digit-add",
        "--limit",
        "3",
        "--shots",
        "0,2",
        "--store",
        str(tmp_path / "s.sqlite"),
    )
    em = {(r["rung"], r["shots"]): r for r in doc["results"] if r["metric"] == "exact_match"}
    assert set(em) == {(r, k) for r in ("small", "large") for k in (0, 2)}
    assert all(r["n"] == 3 and r["chance"] == 0 for r in em.values())
    assert any(r["metric"] == "logprob_correct" for r in doc["results"])


def test_mmlu_local_csv_letter_and_full(tmp_path: Path, ladder_file: Path, capsys) -> None:
    data = write_mmlu(tmp_path / "mmlu")
    doc = _run(
        capsys,
        "--ladder",
        str(ladder_file),
        "--task",
        "mmlu",
        "--mmlu-dir",
        str(data),
        "--shots",
        "1",
        "--store",
        str(tmp_path / "s.sqlite"),
        "--rungs",
        "small",
    )
    settings = {r["setting"] for r in doc["results"]}
    assert any("letter" in s for s in settings) and any("full" in s for s in settings)
    mc = [r for r in doc["results"] if r["metric"] == "multiple_choice_grade"]
    assert mc and all(r["chance"] == 0.25 for r in mc)
    assert sum(r["n"] for r in mc) == 2 * 4  # 4 test questions, two settings


def test_bigbench_folder_of_subtasks(tmp_path: Path, ladder_file: Path, capsys) -> None:
    folder = FIXTURES / "bigbench" / "arithmetic"
    doc = _run(
        capsys,
        "--ladder",
        str(ladder_file),
        "--task",
        str(folder),
        "--limit",
        "2",
        "--store",
        str(tmp_path / "s.sqlite"),
        "--rungs",
        "small",
    )
    tasks = {r["task"] for r in doc["results"]}
    assert any("1_digit_addition" in t for t in tasks) and any(
        "1_digit_multiplication" in t for t in tasks
    )


def test_bigbench_multiple_choice_task(tmp_path: Path, ladder_file: Path, capsys) -> None:
    task = FIXTURES / "bigbench" / "logical_deduction" / "five_objects" / "task.json"
    doc = _run(
        capsys,
        "--ladder",
        str(ladder_file),
        "--task",
        str(task),
        "--limit",
        "3",
        "--shots",
        "0,1",
        "--store",
        str(tmp_path / "s.sqlite"),
    )
    mc = [r for r in doc["results"] if r["metric"] == "multiple_choice_grade"]
    assert len(mc) == 4 and all(abs(r["chance"] - 0.2) < 1e-9 for r in mc)


def test_calibration_reported_for_multiple_choice(
    tmp_path: Path, ladder_file: Path, capsys
) -> None:
    task = FIXTURES / "bigbench" / "logical_deduction" / "five_objects" / "task.json"
    doc = _run(
        capsys,
        "--ladder",
        str(ladder_file),
        "--task",
        str(task),
        "--limit",
        "5",
        "--store",
        str(tmp_path / "s.sqlite"),
        "--rungs",
        "small",
    )
    cal = doc["calibration"]
    assert len(cal) == 1 and cal[0]["n"] == 5
    for key in (
        "expected_calibration_error",
        "ece_10_bins",
        "calibration_multiple_choice_brier_score",
    ):
        assert 0.0 <= cal[0][key] <= 1.0
    corpus = {r["metric"] for r in doc["results"] if r.get("level") == "corpus"}
    assert corpus == {"expected_calibration_error", "calibration_multiple_choice_brier_score"}
