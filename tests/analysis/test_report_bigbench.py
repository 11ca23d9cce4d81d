"""The report's BIG-bench section on hand-made rows: layout, notes, calibration, not computed."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from emergetui.analysis.analyze import analyze
from emergetui.report import write_report
from emergetui.report.bigbench import BigBenchSection

NAN = math.nan


def _section() -> BigBenchSection:
    def row(rung: str, metric: str, value: float, lo: float, hi: float, n: int, **kw: str) -> dict:
        return dict(
            rung=rung, task="t", setting="shots=0", metric=metric, value=value,
            ci_low=lo, ci_high=hi, n=n, level="corpus", **kw,
        )  # fmt: skip

    return BigBenchSection(
        corpus=[
            row("big", "expected_calibration_error", 0.5, 0.4, 0.6, 3),
            row("small", "bleu", NAN, NAN, NAN, 0, note="no stored post-processed answers"),
            row("big", "bleu", 12.5, 3.25, 20.0, 3),
        ],
        calibration=[{"rung": "big", "task": "t", "setting": "shots=0", "ece_10_bins": 0.45}],
        not_computed={"bleurt": "BLEURT needs a checkpoint"},
        headline={("t", "shots=0"): "bleu"},
        rung_order=["small", "big"],
    )


def test_markdown_section(tmp_path: Path) -> None:
    md = _section().markdown(analyze([], []))
    lines = md.splitlines()
    assert "| rung | ★ bleu | ECE (15 buckets) | ECE (10 bins) |" in lines
    # rungs in ladder order; a value BIG-bench could not compute is a dash, with its reason
    assert lines.index("| small | – | – | – |") < lines.index(
        "| big | 12.5 [3.25, 20] (n=3) | 0.5 [0.4, 0.6] (n=3) | 0.45 |"
    )
    assert "- small bleu: no stored post-processed answers" in lines
    assert "- `bleurt`: BLEURT needs a checkpoint" in lines


def test_write_report_files(tmp_path: Path) -> None:
    written = write_report(analyze([], []), tmp_path, ("md", "csv", "json"), bigbench=_section())
    names = {p.name for p in written}
    assert {"report.md", "bigbench.csv", "bigbench.json"} <= names
    assert "## BIG-bench metrics" in (tmp_path / "report.md").read_text(encoding="utf-8")
    with (tmp_path / "bigbench.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["rung"], r["metric"]) for r in rows] == [
        ("small", "bleu"),
        ("big", "bleu"),
        ("big", "expected_calibration_error"),
    ]
    assert rows[1]["headline"] == "True" and rows[2]["headline"] == "False"
    data = json.loads((tmp_path / "bigbench.json").read_text(encoding="utf-8"))
    assert data["results"][0]["value"] is None  # strict JSON: NaN becomes null
    assert data["not_computed_reasons"] == {"bleurt": "BLEURT needs a checkpoint"}


def test_no_section_without_bigbench(tmp_path: Path) -> None:
    written = write_report(analyze([], []), tmp_path, ("md", "csv", "json"))
    assert not {"bigbench.csv", "bigbench.json"} & {p.name for p in written}
    assert "BIG-bench metrics" not in (tmp_path / "report.md").read_text(encoding="utf-8")
