"""Issue 16's "done when", end to end on the bundled toy ladder.

A BIG-bench task file declaring bleu/rouge/bleurt is run on the toy ladder; per rung,
BLEU equals BIG-bench 1.0.0's ``bleu_fn`` on the stored outputs, ROUGE equals the mean of
BIG-bench's ``rouge_fn`` per item and lies within the spread of its bootstrap median, each
with an interval around it; BLEURT is reported as not computed, with the reason. The
expected values come from BIG-bench's own code on these very outputs
(``bigbench_reference.json``, ``toy_run``; the test first checks the outputs are the same).
Then ``emergetui report`` and ``emergetui analyze FILE --out`` show the same corpus rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from emergetui.cli import main
from emergetui.report import write_run_report
from emergetui.store.results import Store

TASK = Path(__file__).resolve().parents[1] / "fixtures" / "toy_bigbench_text" / "task.json"
REF = json.loads((Path(__file__).parent / "bigbench_reference.json").read_text(encoding="utf-8"))
OUTPUTS, EXPECTED = REF["inputs"]["toy_run"], REF["expected"]["toy_run"]
ROUGE = ("rouge1", "rouge2", "rougeLsum")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The run (store, run document) of the task on all seven toy rungs, made once."""
    tmp = tmp_path_factory.mktemp("toy_run")
    store = tmp / "s.sqlite"
    argv = ["--batch", "--json", "--no-heldout", "--ladder", "toy", "--task", str(TASK)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*argv, "--store", str(store)]) == 0
    return store, json.loads(buf.getvalue())


def _by(doc: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
    return {
        r["rung"]: r
        for r in doc["results"]
        if r["task"] == "toy_bigbench_text" and r["metric"] == metric
    }


def test_outputs_are_the_ones_bigbench_scored(toy_run: tuple[Path, dict[str, Any]]) -> None:
    store, doc = toy_run
    with Store(store) as st:
        for rung, want in OUTPUTS.items():
            recs = sorted(st.records(doc["run_id"], rung=rung), key=lambda r: r.item_id)
            assert [r.item_id for r in recs] == want["item_ids"]
            assert [list(r.targets) for r in recs] == want["targets"]
            # if this fails, llama.cpp or the toy models changed: recompute the reference
            assert [r.raw.response for r in recs] == want["responses"], rung


def test_bleu_and_rouge_per_rung_equal_bigbench_with_intervals(
    toy_run: tuple[Path, dict[str, Any]],
) -> None:
    _, doc = toy_run
    bleu = _by(doc, "bleu")
    assert set(bleu) == set(EXPECTED) and len(bleu) == 7
    for rung, exp in EXPECTED.items():
        row = bleu[rung]
        assert row["level"] == "corpus" and row["n"] == 8
        assert row["value"] == pytest.approx(exp["bleu"], rel=1e-12, abs=1e-12)
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        for name in ROUGE:
            r = _by(doc, name)[rung]
            assert r["value"] == pytest.approx(exp["rouge_mean_of_per_item"][name], abs=1e-9)
            lo, hi = exp["rouge_bootstrap_range_seeds_0_99"][name]
            assert lo - 1e-9 <= r["value"] <= hi + 1e-9  # BIG-bench's own bootstrap noise
            assert r["ci_low"] <= r["value"] <= r["ci_high"]
        assert _by(doc, "exact_match")[rung]["value"] == exp["exact_str_match"]
    # values that differ between rungs, so the equality is not 0 == 0
    assert len({round(r["value"], 6) for r in bleu.values()}) >= 4
    assert sum(r["value"] > 0 for r in bleu.values()) >= 5
    top = max(bleu.values(), key=lambda r: r["value"])
    assert top["ci_high"] > top["ci_low"]
    head = {h["task"]: h for h in doc["headline"]}["toy_bigbench_text"]
    assert head["metric"] == "bleu" and head["high_score"] == 100.0
    assert doc["not_computed"] == ["bleurt"]
    assert "BLEURT-20 checkpoint" in doc["not_computed_reasons"]["bleurt"]


def _check_report(out: Path, doc: dict[str, Any]) -> None:
    md = (out / "report.md").read_text(encoding="utf-8")
    section = md[md.index("## BIG-bench metrics") : md.index("## How verdicts")]
    assert "### toy_bigbench_text / shots=0" in section
    assert "| rung | ★ bleu | rouge1 | rouge2 | rougeLsum |" in section
    for rung, row in _by(doc, "bleu").items():
        line = next(s for s in section.splitlines() if s.startswith(f"| {rung} |"))
        assert f"{row['value']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}] (n=8)" in line
        r1 = _by(doc, "rouge1")[rung]
        # the report's ROUGE is the analysis curve's mean (numpy): equal up to float rounding,
        # which can flip a 3-digit display at a tie such as 23.75
        shown = {f"{r1['value'] * (1 + e):.3g}" for e in (-1e-12, 0.0, 1e-12)}
        assert any(f"| {s} [" in line for s in shown), (line, shown)
    assert "`bleurt`: BLEURT needs the BLEURT-20 checkpoint" in section
    with (out / "bigbench.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["metric"] == "bleu"]
    assert {r["rung"]: float(r["value"]) for r in rows} == {
        rung: r["value"] for rung, r in _by(doc, "bleu").items()
    }
    assert all(r["headline"] == "True" and r["level"] == "corpus" for r in rows)
    data = json.loads((out / "bigbench.json").read_text(encoding="utf-8"))
    got = {
        (r["rung"], r["metric"]): (r["value"], r["ci_low"], r["ci_high"]) for r in data["results"]
    }
    for rung, r in _by(doc, "bleu").items():  # the very corpus rows of the run document
        assert got[(rung, "bleu")] == (r["value"], r["ci_low"], r["ci_high"])
    for metric in ROUGE:  # the analysis's curve points (numpy's mean: equal to rounding)
        for rung, r in _by(doc, metric).items():
            want = (r["value"], r["ci_low"], r["ci_high"])
            assert got[(rung, metric)] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert set(data["not_computed_reasons"]) == {"bleurt"}


def test_report_shows_the_run_documents_corpus_rows(
    toy_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, doc = toy_run
    with Store(store) as st:
        written = write_run_report(st, doc["run_id"], tmp_path, formats=("md", "csv", "json"))
    assert {"bigbench.csv", "bigbench.json", "report.md"} <= {p.name for p in written}
    _check_report(tmp_path, doc)


def test_analyze_an_exported_run_writes_the_same_section(
    toy_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, doc = toy_run
    jsonl = tmp_path / "run.jsonl"
    assert main(["export", doc["run_id"], "--out", str(jsonl), "--store", str(store)]) == 0
    assert main(["analyze", str(jsonl), "--out", str(tmp_path / "rep"), "--json"]) == 0
    capsys.readouterr()
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "### toy_bigbench_text / shots=0" in md
    bleu = _by(doc, "bleu")["toy-7"]
    assert f"{bleu['value']:.3g} [{bleu['ci_low']:.3g}, {bleu['ci_high']:.3g}] (n=8)" in md
