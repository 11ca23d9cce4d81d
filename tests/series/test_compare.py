"""Two ladders in one command, overlaid on every axis; two quants are two series, paired."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emergetui.analysis.bootstrap import diff_ci, rng_for
from emergetui.analysis.compare import compare
from emergetui.analysis.series import SeriesError
from emergetui.cli import main
from emergetui.report.compare import series_from_store
from emergetui.store.results import Store
from tests.series.conftest import LIMIT, RUNGS

LABELS = RUNGS.split(",")


def _series(store: Path, f16: Path) -> list[Any]:
    with Store(store) as st:
        runs = sorted(st.runs(), key=lambda r: r.created)
        out = [series_from_store(st, r.run_id, extra_ladders=[f16])[0] for r in runs]
    return out


def test_two_ladders_in_one_command_are_two_series_of_one_family(
    two_ladder_run: tuple[Path, dict[str, Any]],
) -> None:
    _, doc = two_ladder_run
    assert doc["axis"] == "params"
    keys = {s["ladder"]: (s["family"], s["quant"]) for s in doc["series"]}
    assert keys == {"toy": ("toy", "F32"), "toy-f16": ("toy", "F16")}
    [overlay] = doc["overlays"]
    assert overlay["task"] == "toy_addition" and overlay["metric"] == "exact_match"
    # two quants of one model: two curves of three rungs each, never one curve of six
    assert len(overlay["curves"]) == 2
    for curve in overlay["curves"]:
        assert [p["rung"] for p in curve["points"]] == LABELS
        assert curve["verdict"]


@pytest.mark.parametrize("axis", ["params", "flops", "loss"])
def test_overlay_data_on_each_axis(
    two_ladder_run: tuple[Path, dict[str, Any]], f16_ladder: Path, axis: str
) -> None:
    store, _ = two_ladder_run
    series = _series(store, f16_ladder)
    cmp = compare(series, axis)
    [overlay] = cmp.overlays
    by_name = {c.series: c for c in overlay.curves}
    with Store(store) as st:
        for s in series:
            curve = by_name[s.name]
            stored = {g.label: g for g in st.rungs(s.run_id)}
            means = {p.rung: p.mean for p in s.analysis.curve(*overlay_key(overlay)).points}
            if axis == "flops" and s.key.ladder == "toy-f16":
                # no train_tokens in its ladder file: left out, and said so
                assert curve.points == [] and curve.left_out == LABELS
                assert any("toy-f16" in n and "train_tokens" in n for n in overlay.notes)
                continue
            for p in curve.points:
                g = stored[p.rung]
                want = {
                    "params": math.log10(g.params),
                    "flops": math.log10(6 * g.params * 6_144_000),
                    "loss": (g.heldout or {}).get("bpb"),
                }[axis]
                assert p.x == pytest.approx(want)
                assert p.mean == means[p.rung]
                assert p.ci_low <= p.mean <= p.ci_high
    if axis == "loss":  # comparable across tokenizers: bits per byte, and below the nat figure
        assert all(0 < p.x < 8 for c in overlay.curves for p in c.points)


def overlay_key(overlay: Any) -> tuple[str, str, str]:
    return (overlay.task, overlay.setting, overlay.metric)


def test_quantization_effect_is_a_paired_difference_with_an_interval(
    two_ladder_run: tuple[Path, dict[str, Any]], f16_ladder: Path
) -> None:
    store, doc = two_ladder_run
    effects = {e["metric"]: e for e in doc["effects"] if e["kind"] == "quant"}
    assert set(effects) == {"exact_match", "prob_correct"}
    for e in effects.values():
        assert (e["a"], e["b"]) == ("toy (F32)", "toy-f16")
        assert [r["rung"] for r in e["rows"]] == LABELS
        for r in e["rows"]:
            assert r["n"] == LIMIT
            assert r["ci_low"] <= r["diff"] <= r["ci_high"] and r["ci_low"] < r["ci_high"]
    # recompute prob_correct at the largest rung from the stored items
    series = _series(store, f16_ladder)
    f32, f16 = series
    key = ("toy_addition", doc["overlays"][0]["setting"], "prob_correct")
    ca, cb = f32.analysis.curve(*key), f16.analysis.curve(*key)
    i = [p.rung for p in ca.points].index(LABELS[-1])
    va = dict(zip(ca.item_ids[i], ca.samples[i]))
    vb = dict(zip(cb.item_ids[i], cb.samples[i]))
    ids = sorted(va)
    assert sorted(vb) == ids  # the same items: the comparison is paired
    xa, xb = np.array([va[k] for k in ids]), np.array([vb[k] for k in ids])
    row = effects["prob_correct"]["rows"][-1]
    assert row["diff"] == pytest.approx(float(np.mean(xb - xa)))
    # pairing removes item difficulty: the unpaired interval of the same data is far wider
    _, ulo, uhi = diff_ci(xb, xa, rng_for(0, "unpaired"), paired=False)
    assert row["ci_high"] - row["ci_low"] < (uhi - ulo) / 10


def test_one_series_twice_is_refused(
    two_ladder_run: tuple[Path, dict[str, Any]], f16_ladder: Path
) -> None:
    store, _ = two_ladder_run
    s = _series(store, f16_ladder)
    with pytest.raises(SeriesError, match="appears twice"):
        compare([s[0], s[0]])


def test_compare_command_over_stored_runs(
    two_ladder_run: tuple[Path, dict[str, Any]],
    f16_ladder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _ = two_ladder_run
    with Store(store) as st:
        ids = [r.run_id for r in sorted(st.runs(), key=lambda r: r.created)]
    capsys.readouterr()
    argv = ["compare", *ids, "--store", str(store), "--x", "loss", "--json"]
    assert main([*argv, "--ladder", str(f16_ladder)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["axis"] == "loss" and [s["run_id"] for s in doc["series"]] == ids
    assert doc["overlays"][0]["cross_family"]["agree"] in (True, False, None)
    # another store's run by STORE:RUN; an unknown axis is argparse's one-line usage error
    assert main(["compare", f"{store}:{ids[0]}", "--store", str(store), "--no-plot"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["compare", ids[0], "--store", str(store), "--x", "tokens"])
    assert exc.value.code == 2
    assert "invalid choice: 'tokens'" in capsys.readouterr().err


def test_report_on_another_axis(
    two_ladder_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, _ = two_ladder_run
    with Store(store) as st:
        toy = next(r.run_id for r in st.runs() if r.ladder == "toy")
    out = tmp_path / "rep"
    assert main(["report", toy, "--store", str(store), "--out", str(out), "--x", "flops"]) == 0
    doc = json.loads((out / "axis-flops.json").read_text())
    [curve] = doc["overlays"][0]["curves"]
    assert [p["rung"] for p in curve["points"]] == LABELS
    assert curve["points"][0]["x"] == pytest.approx(
        math.log10(6 * 6_144_000)
        + math.log10(
            next(r["params"] for r in doc["series"][0]["rungs"] if r["label"] == LABELS[0])
        )
    )


def test_base_and_instruct_are_paired_series_of_one_family(
    two_ladder_run: tuple[Path, dict[str, Any]], f16_ladder: Path
) -> None:
    """Relabelled as base/instruct of one quant, the two runs give an instruct-vs-base line."""
    import dataclasses

    store, _ = two_ladder_run
    a, b = _series(store, f16_ladder)
    a.key = dataclasses.replace(a.key, variant="base", quant="Q8_0")
    b.key = dataclasses.replace(b.key, variant="instruct", quant="Q8_0")
    cmp = compare([b, a], "params")
    kinds = {(e.kind, e.a, e.b) for e in cmp.effects}
    assert kinds == {("variant", a.name, b.name)}
    for e in cmp.effects:
        assert [r.rung for r in e.rows] == LABELS
        assert all(r.ci_low < r.ci_high for r in e.rows)


def test_png_and_svg_overlays(
    two_ladder_run: tuple[Path, dict[str, Any]], f16_ladder: Path, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    from emergetui.report.compare import save_overlay_figures

    store, _ = two_ladder_run
    cmp = compare(_series(store, f16_ladder), "loss")
    written = save_overlay_figures(cmp, tmp_path)
    assert sorted(p.suffix for p in written) == [".png", ".svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in written[1].read_text()[:2000]


def test_one_ladder_with_x_adds_the_axis_to_the_usual_output(
    two_ladder_run: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.series.conftest import TOY_TASK

    store, _ = two_ladder_run
    argv = ["--batch", "--json", "--ladder", "toy", "--rungs", RUNGS, "--task", str(TOY_TASK)]
    argv += ["--limit", str(LIMIT), "--threads", "1", "--store", str(store), "--x", "flops"]
    capsys.readouterr()
    assert main(argv) == 0  # the stored run resumes: nothing left to score
    doc = json.loads(capsys.readouterr().out)
    assert doc["ladder"] == "toy" and doc["emergence"]  # the usual document, plus the axis
    [curve] = doc["axis"]["overlays"][0]["curves"]
    assert doc["axis"]["axis"] == "flops" and [p["rung"] for p in curve["points"]] == LABELS
    # --quants applies to a single ladder too: the bundled toy ladder cannot change quant
    assert main([*argv[:-2], "--quants", "Q8_0"]) == 2
    assert "toy@Q8_0" in capsys.readouterr().err


def test_ladders_without_a_shared_task_fail_before_running(
    f16_ladder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The toy ladder's own tasks against the F16 ladder's default arithmetic: nothing to
    overlay, so nothing is run."""
    store = tmp_path / "s.db"
    argv = ["--batch", "--ladder", "toy", "--ladder", str(f16_ladder), "--store", str(store)]
    assert main([*argv, "--limit", "2"]) == 2
    assert "share no task" in capsys.readouterr().err
    if store.exists():
        with Store(store) as st:
            assert st.runs() == []
