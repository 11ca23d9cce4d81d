"""What the run screen repaints while items stream in: the lab shares the process with the runner.

Counts, not timings: how often the live curve's figure is built and drawn when
batches arrive faster than CURVE_EVERY_S, and that the last state is still drawn.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import (
    DEMO_ITEMS,
    DEMO_RUN,
    DEMO_TASK,
    demo_app,
    demo_events,
    demo_values,
    run,
    settled_text,
    wait_until,
)

from emergetui.run import events as ev
from emergetui.tui.messages import RunnerBatch
from emergetui.tui.screens import run as run_screen
from emergetui.tui.screens.run import CURVE_EVERY_S, RunScreen
from emergetui.tui.screens.start import StartScreen
from emergetui.tui.widgets.curve_plot import CurvePlot
from emergetui.tui.widgets.progress_panel import ProgressPanel


class Clock:
    """The run screen's clock, moved by the test: the throttle is then counted, not timed, and
    a loaded machine (which stretches real time between batches) cannot change the count."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_streaming_items_redraw_the_curve_at_most_every_interval_and_end_on_the_last_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(run_screen, "time", clock)  # only the screen's module, not asyncio's

    async def body() -> None:
        app = demo_app(tmp_path / "s.sqlite")
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
            screen = RunScreen(app.spec, autostart=False)
            await app.push_screen(screen)
            screen.post_message(RunnerBatch(tuple(demo_events(scoring_rung=3, scored=0))))
            await wait_until(pilot, lambda: screen.state.run_id == DEMO_RUN)
            clock.now += CURVE_EVERY_S
            await wait_until(pilot, lambda: not screen._curve_due)
            plot = screen.query_one(CurvePlot)
            draws, builds = screen.curve_draws, plot.builds
            values = demo_values(3, 0)
            # 20 batches of 2 items each within one interval of the screen's clock
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
            assert screen.redraws >= 21  # the progress panel follows every batch
            # the curve does not: the first moved point is drawn, the rest wait for the interval
            assert screen.curve_draws - draws <= 1 and screen._curve_due
            task = screen._current_task()
            assert task is not None
            points = screen.state.curve(*task, "exact_match")
            assert points[-1].n == DEMO_ITEMS
            clock.now += CURVE_EVERY_S  # the screen's timer then draws the last state
            await wait_until(pilot, lambda: not screen._curve_due)
            assert screen._curve_shown is not None and screen._curve_shown[-1] == tuple(points)
            assert screen.curve_draws - draws <= 2
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
            # the batch's points are drawn by the screen's 0.5 s timer: wait for that drawing
            await wait_until(pilot, lambda: not screen._curve_due)
            await pilot.pause(0.6)
            await wait_until(pilot, lambda: not screen._curve_due)
            await settled_text(pilot)  # and its figure built by a paint
            plot = screen.query_one(CurvePlot)
            builds = plot.builds
            for i in range(10):  # log lines make layout passes that repaint every widget
                screen._log(f"line {i}")
                await pilot.pause(0.05)
            screen.refresh(layout=True)
            await pilot.pause(0.2)
            assert plot.builds == builds
            await pilot.press("m")  # a new drawing is built at once
            await wait_until(pilot, lambda: plot.builds == builds + 1)
            assert "logprob" in plot.title_text

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
