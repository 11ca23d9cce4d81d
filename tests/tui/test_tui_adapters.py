"""What the screens read from the core: rung rows, ladders, run arguments, results, export."""

from __future__ import annotations

from pathlib import Path

from tui_support import DEMO_RUN, DEMO_RUNGS, DEMO_TASK, FAST_ANALYSIS, MEMORY, make_demo_store

from emergetui.models.fit import Memory
from emergetui.models.ladders import get_ladder
from emergetui.run.spec import build_experiment
from emergetui.store.results import Store
from emergetui.tui import adapters, results_view
from tests.tui.conftest import LabChoices


def test_rung_rows_of_local_models(tiny_ladder: Path) -> None:
    rows = adapters.rung_rows(get_ladder(str(tiny_ladder)), MEMORY)
    assert [r.label for r in rows] == ["a", "b"]
    assert all(r.cached and r.fits and r.gpu_layers == "CPU" for r in rows)
    assert rows[0].size_bytes and rows[1].size_bytes and rows[0].size_bytes < rows[1].size_bytes
    gpu = adapters.rung_rows(
        get_ladder(str(tiny_ladder)), Memory(16 * 10**9, 8 * 10**9, source="gpu")
    )
    assert all(r.gpu_layers == "all" for r in gpu)
    tight = adapters.rung_rows(get_ladder(str(tiny_ladder)), Memory(1000, 0, source="tiny"))
    assert not any(r.fits for r in tight) and "cannot run" in tight[0].reason


def test_hub_rungs_not_downloaded_are_estimated_from_their_size(
    tmp_path: Path, monkeypatch: object
) -> None:
    import emergetui.models.hub as hub

    monkeypatch.setattr(hub, "is_cached", lambda spec, settings=None: False)  # type: ignore[attr-defined]
    lad = tmp_path / "hub.toml"
    lad.write_text(
        '[ladders.h]\n[[ladders.h.rungs]]\nlabel = "x"\nparams = 1000\nrepo = "o/r"\n'
        'file = "x.gguf"\nsize = 2000000000\n',
        encoding="utf-8",
    )
    (row,) = adapters.rung_rows(get_ladder(str(lad)), MEMORY)
    assert not row.cached and row.fits and row.gpu_layers == "?" and "not downloaded" in row.reason


def test_available_ladders_include_a_toml_from_the_command_line(tiny_ladder: Path) -> None:
    choices = {c.name: c for c in adapters.available_ladders(str(tiny_ladder))}
    assert choices["tiny"].spec == str(tiny_ladder) and choices["tiny"].ladder is not None
    assert "qwen2.5-instruct" in choices  # the built-in ladders are offered too


def test_rerun_choices_rebuild_the_same_run_id(lab_args: LabChoices) -> None:
    first = build_experiment(lab_args.spec).config
    # a ladder from a file is stored by name; the lab offers both
    again = lab_args.spec.resuming(first.identity()).replace(ladder=lab_args.spec.ladder)
    assert build_experiment(again).config.run_id() == first.run_id()


def test_load_results_and_views_of_the_demo_run(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    data = adapters.load_results(store, DEMO_RUN, config=FAST_ANALYSIS)
    a = data.analysis
    assert a is not None and data.n_items == len(DEMO_RUNGS) * 2 * 40 and data.status == "done"
    assert results_view.metrics_of(a, DEMO_TASK, "shots=0")[0] == "exact_match"
    cols, rows = results_view.table_rows(
        a, {r.label: (r.heldout or {}).get("loss") for r in data.rungs}
    )
    assert cols[:5] == ["task", "setting", "rung", "params", "loss"] and len(rows) == 12
    assert "EMERGENT" in results_view.verdict_text(a, DEMO_TASK, "shots=0", "exact_match")
    assert "mirage test" in results_view.verdict_text(a, DEMO_TASK, "shots=0", "exact_match")
    loss = results_view.loss_for(a, DEMO_TASK, "shots=0", "exact_match")
    assert loss is not None and "loss" in results_view.loss_text(loss, True)
    icl = results_view.icl_for(a, DEMO_TASK, "shots=0", "exact_match")
    assert icl is not None and icl.shots == [0, 3]
    assert len(results_view.verdict_rows(a)) == len(a.scores)


def test_export_writes_report_files(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    data = adapters.load_results(store, DEMO_RUN, config=FAST_ANALYSIS)
    paths = adapters.export_report(store, data, tmp_path / "report", ("md", "csv", "json"))
    names = {p.name for p in paths}
    assert "report.md" in names and all(p.exists() for p in paths)


def test_list_runs(tmp_path: Path) -> None:
    store = tmp_path / "demo.sqlite"
    make_demo_store(store)
    (run,) = adapters.list_runs(store)
    assert run.run_id == DEMO_RUN and run.n_items == 480
    with Store(store) as s:
        assert adapters.run_config(store, DEMO_RUN) == s.run_config(DEMO_RUN)
