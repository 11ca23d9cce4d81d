"""What the run screen repaints while items stream in: the lab shares the process with the runner.

Counts, not timings: how often the live curve's figure is built and drawn when
batches arrive faster than CURVE_EVERY_S, and that the last state is still drawn.
"""

from __future__ import annotations

import time
from pathlib import Path

from tui_support import (
    DEMO_ITEMS,
    DEMO_RUN,
    DEMO_TASK,
    demo_app,
    demo_events,
    demo_values,
    run,
    wait_until,
)

from emergetui.run import events as ev
from emergetui.tui.messages import RunnerBatch
from emergetui.tui.screens.run import CURVE_EVERY_S, TICK_S, RunScreen
from emergetui.tui.screens.start import StartScreen
from emergetui.tui.widgets.curve_plot import CurvePlot
from emergetui.tui.widgets.progress_panel import ProgressPanel


def test_streaming_items_redraw_the_curve_at_most_every_interval_and_end_on_the_last_state(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
            screen = RunScreen(app.spec, autostart=False)
            await app.push_screen(screen)
            screen.post_message(RunnerBatch(tuple(demo_events(scoring_rung=3, scored=0))))
            await wait_until(pilot, lambda: screen.state.run_id == DEMO_RUN)
            await pilot.pause(CURVE_EVERY_S + 0.1)
            plot = screen.query_one(CurvePlot)
            draws, builds = screen.curve_draws, plot.builds
            values = demo_values(3, 0)
            # 20 batches of 2 items each, as fast as the app takes them
            t0 = time.monotonic()
            for n in range(2, DEMO_ITEMS + 1, 2):
                item = ev.ItemsDone(
                    "1B",
                    DEMO_TASK,
                    "shots=0",
                    n,
                    DEMO_ITEMS,
                    {m: tuple(v[n - 2 : n]) for m, v in values.items()},
                )
                screen.post_message(RunnerBatch((item,)))
            await wait_until(pilot, lambda: screen.batches_seen >= 21)
            took = time.monotonic() - t0
            assert screen.redraws >= 21  # the progress panel follows every batch
            # the curve does not (bounded by the time the batches took on a busy machine)
            assert screen.curve_draws - draws <= 2 + took / CURVE_EVERY_S
            assert screen.curve_draws - draws < 20
            await pilot.pause(CURVE_EVERY_S + TICK_S + 0.3)
            task = screen._current_task()
            assert task is not None
            points = screen.state.curve(*task, "exact_match")
            assert points[-1].n == DEMO_ITEMS
            assert screen._curve_shown is not None and screen._curve_shown[-1] == tuple(points)
            assert not screen._curve_due
            assert plot.builds - builds <= screen.curve_draws - draws + 1  # one figure per drawing

    run(body())


def test_repaints_without_a_new_drawing_reuse_the_built_figure(tmp_path: Path) -> None:
    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
            screen = RunScreen(app.spec, autostart=False)
            await app.push_screen(screen)
            screen.post_message(RunnerBatch(tuple(demo_events())))
            await wait_until(pilot, lambda: screen.state.run_id == DEMO_RUN)
            await pilot.pause(0.3)
            plot = screen.query_one(CurvePlot)
            builds = plot.builds
            for i in range(10):  # log lines make layout passes that repaint every widget
                screen._log(f"line {i}")
                await pilot.pause(0.05)
            screen.refresh(layout=True)
            await pilot.pause(0.2)
            assert plot.builds == builds
            await pilot.press("m")  # a new drawing is built at once
            await pilot.pause(0.2)
            assert plot.builds == builds + 1 and "logprob" in plot.title_text

    run(body())


def test_progress_panel_repaints_only_on_change(tmp_path: Path) -> None:
    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
            screen = RunScreen(app.spec, autostart=False)
            await app.push_screen(screen)
            screen.post_message(RunnerBatch(tuple(demo_events())))
            await wait_until(pilot, lambda: screen.state.run_id == DEMO_RUN)
            panel = screen.query_one(ProgressPanel)
            shown = panel._shown
            panel.show(screen.state)
            assert panel._shown is shown  # same text: nothing repainted
            screen.state.apply(
                ev.ItemsDone(
                    "1B", DEMO_TASK, "shots=0", 26, DEMO_ITEMS, {"exact_match": (1.0, 0.0)}
                )
            )
            panel.show(screen.state)
            assert panel._shown is not shown and "26/40" in panel._shown[0].plain

    run(body())
