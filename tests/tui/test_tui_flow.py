"""Pilot tests: whole runs of the lab on the two tiny llama.cpp models.

Select rungs and start, watch the run, land on the results, toggle the
metric, export, open the run again from the store; cancel and resume; quit
in the middle of a run and find the store consistent.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tui_support import FAST_ANALYSIS, MEMORY, run, show_start, wait_until

from emergetui.run.runner import RunConfig, Runner
from emergetui.store.results import Store
from emergetui.tui.app import LabApp
from emergetui.tui.screens.export import ExportScreen
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.screens.run import RunScreen
from emergetui.tui.screens.start import RungTable, RunsTable, StartScreen
from emergetui.tui.widgets.curve_plot import CurvePlot
from tests.run.support import worker_pids
from tests.tui.conftest import LabChoices

TASK = "arith-1digit-add"


def _app(args: LabChoices, tmp_path: Path, **kw: object) -> LabApp:
    return LabApp(
        args.spec,
        args.store,
        memory=MEMORY,
        report_dir=tmp_path,
        analysis_config=FAST_ANALYSIS,
        report_formats=("md", "csv", "json"),
        **kw,
    )  # type: ignore[arg-type]


def _run_screen(app: LabApp) -> RunScreen:
    return next(s for s in app.screen_stack if isinstance(s, RunScreen))


def test_full_run_results_toggle_export_and_reopen(lab_args: LabChoices, tmp_path: Path) -> None:
    async def body() -> None:
        app = _app(lab_args, tmp_path)
        async with app.run_test(size=(100, 30)) as pilot:
            start = app.screen
            assert isinstance(start, StartScreen)
            table = start.query_one(RungTable)
            await wait_until(pilot, lambda: len(table.rows_info) == 2)
            await wait_until(pilot, lambda: bool(start.query_one("#tasks").selected))
            assert [(r.label, r.cached, r.fits, r.gpu_layers) for r in table.rows_info] == [
                ("a", True, True, "CPU"),
                ("b", True, True, "CPU"),
            ]
            # skip rung b, then take it back (keyboard), the table says so
            table.focus()
            await pilot.press("down", "space")
            assert table.chosen == {"a"} and str(table.get_row_at(1)[0]) == "·"
            await pilot.press("space")
            assert table.chosen == {"a", "b"}
            await pilot.click(RungTable, offset=(3, 2))  # a click on rung b toggles it too
            assert table.chosen == {"a"}
            await pilot.click(RungTable, offset=(3, 2))
            assert table.chosen == {"a", "b"}
            assert start.query_one("#tasks").selected == [TASK]

            await pilot.click("#start")  # the mouse starts it
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, RunScreen) or isinstance(app.screen, ResultsScreen),
            )
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None,
                60,
            )

            runs = _run_screen(app)
            assert runs.ended is not None and not runs.ended.cancelled and runs.ended.error is None
            state = runs.state
            assert [r.status for r in state.rungs.values()] == ["done", "done"]
            assert all(r.heldout_loss is not None for r in state.rungs.values())
            pts = state.curve(TASK, "shots=0", "exact_match")
            assert [(p.rung, p.n, p.settled) for p in pts] == [("a", 4, True), ("b", 4, True)]
            assert runs.driver is not None and runs.batches_seen == runs.driver.pump.batches_posted
            assert runs.redraws <= runs.batches_seen + 5  # one redraw per batch, not per event
            log = "\n".join(runs.logged)  # the lines as logged, not as wrapped at this width
            assert f"run {runs.run_id} finished" in log

            res = app.screen
            assert isinstance(res, ResultsScreen) and res.run_id == runs.run_id
            assert res.current_task() == (TASK, "shots=0") and res.current_metric() == "exact_match"
            assert res.query_one("#results-table").row_count == 4  # 2 rungs x 2 settings
            assert res.query_one("#verdict-table").row_count == len(res.data.analysis.scores)  # type: ignore[union-attr]
            plot = res.query_one("#curve-plot", CurvePlot)
            assert "exact_match" in plot.title_text
            await pilot.press("m")  # the mirage toggle: same outputs, continuous metric
            assert (
                res.current_metric() == "logprob_correct" and "logprob_correct" in plot.title_text
            )
            await pilot.press("M")
            assert res.current_metric() == "prob_correct"
            await pilot.press("t")
            assert res.current_task() == (TASK, "shots=1")
            assert (
                res.query_one("#loss-plot", CurvePlot).title_text == "abilities vs held-out loss"
            )  # loss-to-ability drawn
            assert "shots 0, 1" in str(res.query_one("#icl-note").render())
            await pilot.press("3")
            await wait_until(pilot, lambda: res.query_one("#results-tabs").active == "loss")

            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
            await pilot.press("enter")
            await wait_until(pilot, lambda: bool(res.exported), 30)
            out = tmp_path / f"emergetui-report-{res.run_id}"
            assert (out / "report.md").is_file() and (out / "points.csv").is_file()

            await pilot.press("escape")  # results -> run screen
            assert app.screen is runs
            await pilot.press("escape")  # run screen -> start
            assert app.screen is start
            await pilot.press("o")
            runs_table = start.query_one(RunsTable)
            await wait_until(pilot, lambda: runs_table.row_count == 1)
            assert runs_table.selected_run() == runs.run_id
            runs_table.focus()
            await pilot.press("enter")  # open the stored run
            await wait_until(
                pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None
            )
            assert app.screen is not res and app.screen.run_id == runs.run_id  # type: ignore[attr-defined]
            assert app.screen.data.n_items == 16  # type: ignore[attr-defined]

    run(body())


class Gate:
    """Where a GatedRunner waits: ``reached`` once its runner thread is at the gate (so a cancel
    from then on finds it there, not between rungs), ``opened`` by the test."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def set(self) -> None:
        self.opened.set()


class GatedRunner(Runner):
    """A real Runner that holds its second rung until the test opens the gate."""

    def __init__(self, config: RunConfig, store: Store, gate: Gate) -> None:
        super().__init__(config, store, commit_every_s=0.0)
        self.gate = gate

    def _rung(self, store, emit, idx, rung):  # type: ignore[no-untyped-def]
        if idx == 1:
            self.gate.reached.set()
            self.gate.opened.wait(120)  # the test opens it; the bound only ends a failed test
        return super()._rung(store, emit, idx, rung)


async def _start_until_first_rung_done(pilot, app: LabApp, gate: Gate) -> RunScreen:  # type: ignore[no-untyped-def]
    """Start a run from the start screen and wait until its first rung ("a") is done and the
    runner holds at the gate of the second."""
    await show_start(pilot)
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
    rs = app.screen
    assert isinstance(rs, RunScreen)
    await wait_until(
        pilot, lambda: "a" in rs.state.rungs and rs.state.rungs["a"].status == "done", 60
    )
    # rung a's worker has ended and the runner is at the gate of rung b (not still finishing a)
    await wait_until(pilot, lambda: not worker_pids() and gate.reached.is_set(), 30)
    return rs


def test_cancel_keeps_the_run_resumable_and_resume_finishes_it(
    lab_args: LabChoices, tmp_path: Path
) -> None:
    gate = Gate()
    lab_args = lab_args.with_spec(shots=(0,))  # 4 items per rung are enough to cancel between rungs

    async def body() -> None:
        app = _app(lab_args, tmp_path, runner_factory=lambda c, s: GatedRunner(c, s, gate))
        async with app.run_test(size=(100, 30)) as pilot:
            rs = await _start_until_first_rung_done(pilot, app, gate)
            await pilot.press("c")
            await wait_until(pilot, lambda: rs.driver is not None and rs.driver.cancel_requested)
            gate.set()
            await wait_until(pilot, lambda: rs.ended is not None, 60)
            assert rs.ended is not None and rs.ended.cancelled and not rs.running
            with Store(lab_args.store) as store:
                (summary,) = store.runs()
                assert summary.status == "cancelled" and 4 <= summary.n_items < 8
                assert store.integrity_ok()
            assert isinstance(app.screen, RunScreen)  # a cancelled run does not jump to the results
            await pilot.press("r")
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None,
                60,
            )
            assert rs.state.resumed_items >= 4 and rs.ended is not None and not rs.ended.cancelled
            with Store(lab_args.store) as store:
                (summary,) = store.runs()
                assert summary.status == "done" and summary.n_items == 8

    run(body())


def test_ctrl_c_during_a_run_cancels_then_exits(lab_args: LabChoices, tmp_path: Path) -> None:
    gate = Gate()
    lab_args = lab_args.with_spec(shots=(0,))

    async def body() -> None:
        app = _app(lab_args, tmp_path, runner_factory=lambda c, s: GatedRunner(c, s, gate))
        async with app.run_test(size=(100, 30)) as pilot:
            await _start_until_first_rung_done(pilot, app, gate)
            await pilot.press("ctrl+c")
            # the key is handled in the app's message loop, which a busy machine may run later
            await wait_until(pilot, lambda: app.quitting)
            assert app.is_running  # still draining the runner: rung b is held at the gate
            gate.set()
            await wait_until(pilot, lambda: not app.is_running, 60)
        assert app.return_code == 0

    run(body())
    with Store(lab_args.store) as store:
        (summary,) = store.runs()
        assert summary.status == "cancelled" and store.integrity_ok()


def test_the_demo_button_runs_the_default_experiment(tmp_path: Path) -> None:
    """`d` on the start screen runs exactly `emergetui --batch`'s default experiment (the
    bundled toy ladder and its tasks) and lands on its results."""
    from emergetui.run.spec import ExperimentSpec

    spec = ExperimentSpec(threads=1)
    assert spec.demo() == spec

    async def body() -> None:
        app = LabApp(
            spec,
            tmp_path / "results.sqlite",
            memory=MEMORY,
            report_dir=tmp_path,
            analysis_config=FAST_ANALYSIS,
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await show_start(pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), 20)
            screen = app.screen
            assert isinstance(screen, RunScreen) and screen.spec == ExperimentSpec().demo().replace(
                threads=1
            )
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None,
                180,
            )
            data = app.screen.data
            assert data is not None and data.ladder == "toy" and data.status == "done"
            assert {"toy_addition", "toy_chain"} <= {t for t, _ in data.task_settings}
            assert len(data.rungs) == 7

    run(body())
