"""`emergetui --probe` without --batch: the lab runs the probe phase too and logs its events."""

from __future__ import annotations

from pathlib import Path

from tui_support import FAST_ANALYSIS, MEMORY, run, show_start, wait_until

from emergetui.tui.app import LabApp
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.screens.run import RunScreen
from tests.tui.conftest import LabChoices


def test_the_lab_runs_the_probe_phase_and_shows_it(lab_args: LabChoices, tmp_path: Path) -> None:
    args = lab_args.with_spec(shots=(0,), probe=True, probe_items=4)

    async def body() -> None:
        app = LabApp(
            args.spec,
            args.store,
            memory=MEMORY,
            report_dir=tmp_path,
            analysis_config=FAST_ANALYSIS,
            report_formats=("md",),
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await show_start(pilot)
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
            rs = app.screen
            assert isinstance(rs, RunScreen)
            await wait_until(
                pilot,
                lambda: isinstance(app.screen, ResultsScreen) and app.screen.data is not None,
                120,
            )
            assert rs.ended is not None and rs.ended.error is None
            log = [str(line.text) for line in rs.query_one("#log").lines]
            # the probe phase's events, one start and one result per rung (lines may wrap:
            # only their beginnings are compared)
            starts = [line for line in log if line.startswith("[probe ")]
            assert [line.split(":")[0] for line in starts] == [
                "[probe 1/2] probing a",
                "[probe 2/2] probing b",
            ]
            res = app.screen
            assert isinstance(res, ResultsScreen) and res.data is not None
            assert "the probe first beats chance" in res.data.probes

    run(body())
