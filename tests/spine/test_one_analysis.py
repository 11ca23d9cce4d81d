"""Each command reads its run once and analyses it once: the document, the plots, the verdicts
and the report files all show the same `Analysis`."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emergetui.cli import main
from tests.conftest import FIXTURES

# the module (the package's `analyze` attribute is the function it re-exports)
analyze_module = importlib.import_module("emergetui.analysis.analyze")

ADDITION = FIXTURES / "bigbench" / "arithmetic" / "1_digit_addition" / "task.json"


class Calls:
    def __init__(self) -> None:
        self.n = 0


@pytest.fixture()
def analyses(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts calls of ``analyze`` however a module reached it (imported by name at the top, or
    looked up in its module at call time)."""
    calls = Calls()
    real: Callable[..., analyze_module.Analysis] = analyze_module.analyze

    def counting(*args: object, **kwargs: object) -> analyze_module.Analysis:
        calls.n += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    for name, module in list(sys.modules.items()):
        if name.startswith("emergetui") and getattr(module, "analyze", None) is real:
            # (the analysis module itself too: later lazy imports take the name from there)
            monkeypatch.setattr(module, "analyze", counting)
    return calls


def test_batch_analyze_and_report_each_analyse_once(
    tmp_path: Path, ladder_file: Path, analyses: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.sqlite")
    batch = ["--batch", "--ladder", str(ladder_file), "--task", str(ADDITION), "--limit", "4"]
    batch += ["--shots", "0", "--store", store, "--no-heldout"]

    assert main(batch) == 0  # the human output: document, findings, plots, verdicts
    out = capsys.readouterr().out
    assert "Emergence verdicts" in out and "run " in out
    assert analyses.n == 1

    analyses.n = 0
    assert main([*batch, "--json"]) == 0  # resumed: nothing to score, the document again
    doc = json.loads(capsys.readouterr().out)
    assert doc["emergence"] and analyses.n == 1

    analyses.n = 0
    assert main(["report", doc["run_id"], "--store", store, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").is_file() and analyses.n == 1

    items = tmp_path / "items.jsonl"
    assert main(["export", doc["run_id"], "--store", store, "--out", str(items)]) == 0
    capsys.readouterr()
    analyses.n = 0
    out_dir = tmp_path / "a"
    assert main(["analyze", str(items), "--out", str(out_dir), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (out_dir / "report.md").is_file() and analyses.n == 1
    # the exported rows give the stored run's verdicts
    assert [r["verdict"] for r in again["emergence"]] == [r["verdict"] for r in doc["emergence"]]
