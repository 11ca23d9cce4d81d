"""Reports and plots of a run read back from a real (SQLite) results store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from analysis_synth import accuracy_rows, ladder

from emergetui.report import write_run_report
from emergetui.report.from_store import analyse_run
from emergetui.report.termplot import run_plots
from emergetui.store.results import Store
from emergetui.store.rows import StoredTaskSet
from emergetui.store.stored_run import load_run


def _store_with_run(path: Path) -> Store:
    store = Store(path)
    rungs = ladder(4)
    store.begin_run("run1", "synthetic", {"seed": 0})
    for i, r in enumerate(rungs):
        store.set_rung("run1", i, r.label, r.params, f"/models/{r.label}.gguf", f"sha{i}")
        store.update_rung("run1", r.label, status="done", heldout=r.heldout)
    store.set_taskset(
        "run1",
        StoredTaskSet(
            task="t",
            setting="shots=0",
            shots=0,
            metrics=["multiple_choice_grade"],
            preferred="multiple_choice_grade",
            chance={"multiple_choice_grade": 0.25},
            not_computed=[],
            n_items=50,
        ),
    )
    rows = accuracy_rows("t", "shots=0", rungs, [0.25, 0.25, 0.95, 0.95], 50, n_choices=0)
    store.put_records([replace(r, run_id="run1") for r in rows])
    return store


def test_write_run_report_and_run_plots(tmp_path: Path) -> None:
    with _store_with_run(tmp_path / "results.sqlite") as store:
        written = write_run_report(store, "run1", tmp_path / "out", formats=("md", "json"))
        md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
        assert "run run1" in md
        assert "**emergent**" in md  # chance 0.25 came from the stored task set
        assert any(p.name == "analysis.json" for p in written)
        run = load_run(store, "run1")
        plots = run_plots(run, analyse_run(run), width=70)
    assert len(plots) == 1
    assert "multiple_choice_grade: emergent" in plots[0]
