"""The batch CLI end to end on a ladder of two tiny models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emergetui.cli import main
from tests.conftest import FIXTURES

ADDITION = FIXTURES / "bigbench" / "arithmetic" / "1_digit_addition" / "task.json"


@pytest.fixture()
def addition() -> Path:
    return ADDITION


def test_batch_json_document(tmp_path: Path, ladder_file: Path, addition: Path) -> None:
    store = tmp_path / "s.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "emergetui.cli",
        "--batch",
        "--ladder",
        str(ladder_file),
        "--task",
        str(addition),
        "--limit",
        "6",
        "--shots",
        "0,1",
        "--store",
        str(store),
        "--json",
        "--no-heldout",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= {"run_id", "ladder", "rungs", "results"}
    assert doc["ladder"] == "tiny"
    assert [r["label"] for r in doc["rungs"]] == ["small", "large"]
    assert all(
        len(r["sha256"]) == 64 and r["params"] > 0 and r["path"].endswith(".gguf")
        for r in doc["rungs"]
    )
    res = doc["results"]
    assert {r["shots"] for r in res} == {0, 1}
    em = [r for r in res if r["metric"] == "exact_match"]
    assert len(em) == 4 and all(
        r["n"] == 6 and 0 <= r["value"] <= 1 and r["chance"] == 0 for r in em
    )
    mc = [r for r in res if r["metric"] == "multiple_choice_grade"]
    assert mc and all(r["chance"] == pytest.approx(1 / 6) for r in mc)
    assert all("ci_low" in r and "ci_high" in r for r in res)
    assert isinstance(doc["emergence"], list) and doc["emergence"]
    assert "run " in proc.stderr  # progress goes to stderr, never into the document

    # export: one line per stored item with raw material and metrics
    out = tmp_path / "items.jsonl"
    assert main(["export", doc["run_id"][:6], "--store", str(store), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 * 2 * 6
    first = lines[0]
    assert first["raw"]["choice_logprobs"] and first["raw"]["generated_text"] is not None
    assert "exact_match" in first["metrics"] and first["prompt"].endswith("A: ")


def test_rerun_resumes_and_human_table(
    tmp_path: Path, ladder_file: Path, addition: Path, capsys
) -> None:
    store = tmp_path / "s.sqlite"
    args = [
        "--batch",
        "--ladder",
        str(ladder_file),
        "--task",
        str(addition),
        "--limit",
        "4",
        "--store",
        str(store),
        "--no-plot",
        "--rungs",
        "small",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "resuming with 4 stored items" in err
    assert "4/4 already stored" in err
    assert "small" in out and "exact match" in out
    assert "Emergence verdicts" in out or "inconclusive" in out or "run " in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--batch", "--ladder", "no-such-ladder"], "unknown ladder"),
        (
            ["--batch", "--ladder", "LADDER", "--task", "/nonexistent/task.json"],
            "no task could be loaded",
        ),
        (["--batch", "--ladder", "LADDER", "--rungs", "huge"], "has no rung huge"),
        (["--batch", "--ladder", "LADDER", "--shots", "a,b"], "--shots"),
        (["export", "zzzz", "--store", "STORE"], "no run"),
    ],
)
def test_bad_input_one_line_error(
    tmp_path: Path, ladder_file: Path, argv: list[str], needle: str, capsys
) -> None:
    store = tmp_path / "s.sqlite"
    from emergetui.store.results import Store

    Store(store).close()
    argv = [str(ladder_file) if a == "LADDER" else str(store) if a == "STORE" else a for a in argv]
    if "--store" not in argv:
        argv += ["--store", str(store)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_corrupt_rung_does_not_stop_the_run(
    tmp_path: Path, tiny_model: Path, addition: Path, capsys
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(tiny_model.read_bytes()[:5000])  # truncated
    lad = tmp_path / "l.toml"
    lad.write_text(
        "[ladders.mixed]\ndescription = 'x'\nrungs = [\n"
        f"  {{ label = 'bad', params = 10, path = '{bad}' }},\n"
        f"  {{ label = 'good', params = 20, path = '{tiny_model}' }},\n]\n"
    )
    code = main(
        [
            "--batch",
            "--ladder",
            str(lad),
            "--task",
            str(addition),
            "--limit",
            "3",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--json",
            "--no-heldout",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "rung bad FAILED" in err and str(bad) in err
    doc = json.loads(out)
    status = {r["label"]: (r["status"], r["error"]) for r in doc["rungs"]}
    assert status["bad"][0] == "failed" and str(bad) in status["bad"][1]
    assert status["good"][0] == "done"
    assert {r["rung"] for r in doc["results"]} == {"good"}


def test_tasks_and_ladders_listing(capsys) -> None:
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "arith-2digit-add" in out
    assert main(["ladders"]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-instruct" in out and "0.5B" in out


def test_max_model_gb_skips_rung_with_reason(
    tmp_path: Path, ladder_file: Path, addition: Path, capsys
) -> None:
    code = main(
        [
            "--batch",
            "--ladder",
            str(ladder_file),
            "--task",
            str(addition),
            "--limit",
            "2",
            "--no-heldout",
            "--store",
            str(tmp_path / "s.sqlite"),
            "--max-model-gb",
            "0.0000001",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1  # every rung skipped
    assert "above --max-model-gb" in err
    doc = json.loads(out)
    assert {r["status"] for r in doc["rungs"]} == {"skipped"}
    assert doc["results"] == []


def test_probe_pass_stored_in_document_and_report(
    tmp_path: Path, ladder_file: Path, addition: Path, capsys
) -> None:
    store = tmp_path / "s.sqlite"
    code = main(
        [
            "--batch",
            "--ladder",
            str(ladder_file),
            "--task",
            str(addition),
            "--limit",
            "10",
            "--no-heldout",
            "--store",
            str(store),
            "--probe",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    probes = doc["probes"]
    assert {p["rung"] for p in probes} == {"small", "large"}
    small = next(p for p in probes if p["rung"] == "small")
    assert (
        len(small["curves"]["probe_acc"]) == 2 and len(small["curves"]["lens_prob"]) == 2
    )  # one value per layer
    assert (
        main(["report", doc["run_id"], "--store", str(store), "--out", str(tmp_path / "rep")]) == 0
    )
    text = (tmp_path / "rep" / "probes.md").read_text()
    assert "logit lens" in text and "1_digit_addition" in text
