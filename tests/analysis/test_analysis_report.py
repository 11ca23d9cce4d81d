"""Report writing: Markdown, CSV, JSON, terminal plots, and figures when possible."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from analysis_synth import FAST, bernoulli, ladder, records

from emergetui.analysis import Analysis, analyze
from emergetui.fmt import fmt_params
from emergetui.report import png, termplot, write_report


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    rungs = ladder()
    step = [bernoulli(p, 60) for p in [0.0, 0.0, 0.0, 0.0, 0.9, 0.9]]
    rows = records(
        "gen",
        "shots=0",
        rungs,
        lambda i, j: {"exact_match": step[i][j], "token_edit_distance": 12.0 - 2 * i + j % 3},
        60,
    )
    rows += records(
        "gen",
        "shots=3",
        rungs,
        lambda i, j: {"exact_match": float(j < 12 * i), "token_edit_distance": 10.0 - i},
        60,
        shots=3,
    )
    return analyze(rows, rungs, seed=0, config=FAST)


def test_markdown_csv_json_and_text_plots(
    analysis: Analysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(png, "matplotlib_available", lambda: False)
    written = write_report(analysis, tmp_path, formats=("md", "csv", "json", "png"))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"report.md", "points.csv", "emergence.csv", "analysis.json"} <= names
    assert all(p.exists() for p in written)

    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    for heading in ("## Verdicts", "## Mirage test", "## Loss to ability", "## In-context"):
        assert heading in md
    assert "**emergent**" in md and "**mirage**" in md
    assert "matplotlib is not installed" in md
    assert not (tmp_path / "figures").exists()

    with (tmp_path / "points.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(len(c.points) for c in analysis.curves)
    assert {"task", "rung", "mean", "ci_low", "ci_high", "chance"} <= set(rows[0])
    doc = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))
    assert len(doc["emergence"]) == len(analysis.curves)

    plots = sorted((tmp_path / "plots").glob("*.txt"))
    assert any("mirage" in p.name for p in plots)
    assert any(p.name.endswith("__icl.txt") for p in plots)
    text = plots[0].read_text(encoding="utf-8")
    assert "\x1b[" not in text  # no colour codes in files


def test_only_requested_formats_are_written(analysis: Analysis, tmp_path: Path) -> None:
    written = write_report(analysis, tmp_path, formats=("json",))
    assert (tmp_path / "analysis.json").exists()
    assert not (tmp_path / "report.md").exists()
    assert all(p.suffix in (".json", ".txt") for p in written)
    with pytest.raises(ValueError, match="unknown report format"):
        write_report(analysis, tmp_path, formats=("pdf",))


def test_png_and_svg_when_matplotlib_is_present(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rungs = ladder(4)
    for r in rungs:
        r.heldout = None  # one figure per format keeps this test quick
    rows = records("t", "s", rungs, lambda i, j: {"exact_match": float(j < 10 * i)}, 30)
    small = analyze(rows, rungs, seed=0, config=FAST)
    written = write_report(small, tmp_path, formats=("md", "png", "svg"))
    forecasts = [p for p in written if "forecast" in p.name]  # the 4th rung from the 3 below
    assert sorted(p.suffix for p in forecasts) == [".png", ".svg"]
    pngs = [p for p in written if p.suffix == ".png" and p not in forecasts]
    svgs = [p for p in written if p.suffix == ".svg" and p not in forecasts]
    assert len(pngs) == 1 and len(svgs) == 1
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svgs[0].read_text(encoding="utf-8")[:2000]
    assert "figures/" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_terminal_plots_are_strings(analysis: Analysis) -> None:
    curve = analysis.curve("gen", "shots=0", "exact_match")
    assert curve is not None
    text = termplot.scaling_plot(curve, width=60, height=15)
    lines = text.splitlines()
    assert len(lines) >= 15
    assert "exact_match" in text
    assert "r0" in text and "r5" in text
    colored = termplot.scaling_plot(curve, width=60, height=15, color=True)
    assert "\x1b[" in colored
    by_loss = termplot.scaling_plot(curve, x="heldout_loss")
    assert "held-out loss" in by_loss
    with pytest.raises(ValueError, match="unknown x axis"):
        termplot.scaling_plot(curve, x="flops")
    assert fmt_params(1_400_000_000) == "1.4B"
    assert fmt_params(135_000_000) == "135M"
