"""Run screen: progress, downloads, live scaling curves and the log of one run.

The runner is iterated by a thread worker (:class:`~emergetui.tui.driver.RunDriver`);
this screen only folds the batches it posts into a :class:`LiveState` and
redraws. Cancelling asks the runner to stop at its next wave; the worker keeps
draining events until the run is marked cancelled in the store, which is what
makes ``r`` (resume) skip everything already scored.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, RichLog, Static
from textual.worker import get_current_worker

from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec
from emergetui.tui.driver import RunDriver, RunnerFactory
from emergetui.tui.live import LiveState, MetricChoice
from emergetui.tui.messages import RunEnded, RunnerBatch, RunPrepared
from emergetui.tui.navigation import CurveNavigation
from emergetui.tui.widgets.curve_plot import CurvePlot
from emergetui.tui.widgets.progress_panel import ProgressPanel

if TYPE_CHECKING:
    from emergetui.tui.app import LabApp

# While only its points move, the live curve is drawn at most this often: plotext
# rebuilds the whole figure for each paint, the most costly thing the lab does
# during a run, and the lab shares the process (and the GIL) with the runner.
CURVE_EVERY_S = 0.5
LOG_LINES = 2000
# The screen's own timer: flushes what the pump holds while the runner is quiet and
# draws a curve that was held back. Every wake-up of this thread takes the GIL from
# the runner, and on a busy machine getting it back costs the runner a scheduling
# delay: measured on the toy ladder at load 6-9, 10 wake-ups a second cost the lab
# about 10% of its throughput (benchmarks/contention.py).
TICK_S = 0.5


class RunScreen(CurveNavigation, Screen[None]):
    BINDINGS = [
        Binding("c", "cancel_run", "Cancel"),
        Binding("r", "resume_run", "Resume"),
        Binding("m", "toggle_metric", "Discrete/continuous"),
        Binding("M", "cycle_metric", "Next metric", show=False),
        Binding("t", "next_task", "Next task"),
        Binding("T", "prev_task", "Prev task", show=False),
        Binding("v", "view_results", "Results"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        spec: ExperimentSpec,
        *,
        autostart: bool = True,
        expect_run_id: str | None = None,
        runner_factory: RunnerFactory | None = None,
    ) -> None:
        super().__init__()
        self.runner_factory = runner_factory
        self.spec = spec
        self.autostart = autostart
        self.expect_run_id = expect_run_id
        self.state = LiveState()
        self.driver: RunDriver | None = None
        self.running = False
        self.run_id: str | None = None
        self.ended: RunEnded | None = None
        self.metric = MetricChoice()
        self.task_index = 0
        self.batches_seen = 0
        self.redraws = 0
        self.curve_draws = 0
        self._curve_shown: tuple[object, ...] | None = None
        self._curve_at = -float("inf")
        self._curve_due = False
        self._log_lines: list[str] = []
        # every line written to the log, as written: the widget keeps only its wrapped rendering,
        # whose line breaks depend on the terminal's width and on the lengths of the paths shown
        self.logged: deque[str] = deque(maxlen=LOG_LINES)
        self._log_at = -float("inf")
        self.title = "emergetui — run"

    @property
    def lab(self) -> LabApp:
        return cast("LabApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-top"):
            with Vertical(id="run-left"):
                yield ProgressPanel(id="progress")
            with Vertical(id="run-right"):
                yield Static("", id="curve-title", markup=False)
                yield CurvePlot(id="live-curve")
        yield RichLog(id="log", wrap=True, markup=False, max_lines=LOG_LINES)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(TICK_S, self._tick)
        if self.autostart:
            self.start()

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or resume: same choices, same run id, stored items skipped) the run."""
        if self.running:
            return
        self.state = LiveState()
        self.ended = None
        self.running = True
        self.driver = RunDriver(
            self.spec,
            self.lab.store_path,
            self.post_message,
            runner_factory=self.runner_factory or Runner,
        )
        self._log("starting: building the experiment...")
        self._run_worker(self.driver)
        self._redraw()
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="runner", exit_on_error=False)
    def _run_worker(self, driver: RunDriver) -> None:
        worker = get_current_worker()
        driver.drive(lambda: worker.is_cancelled)

    def _tick(self) -> None:
        if self.driver is not None:
            self.driver.pump.flush()
        if self._curve_due:
            self._draw_curve()
        self._flush_log()

    def cancel(self) -> bool:
        """Ask the runner to stop; True when a run was in progress."""
        if not self.running or self.driver is None:
            return False
        if not self.driver.cancel_requested:
            self.driver.cancel()
            self._log(
                "cancelling: stopping the rung's worker process, stored results are kept", now=True
            )
        return True

    # -- messages from the worker -----------------------------------------------------------------
    def on_run_prepared(self, msg: RunPrepared) -> None:
        self.run_id = msg.run_id
        self.sub_title = f"run {msg.run_id} · {msg.ladder}"
        if self.expect_run_id and msg.run_id != self.expect_run_id:
            self._log(
                f"note: these choices make run {msg.run_id}, not {self.expect_run_id} "
                "(the ladder, tasks or held-out corpus changed)"
            )

    def on_runner_batch(self, msg: RunnerBatch) -> None:
        self.batches_seen += 1
        for item in msg.items:
            line = self.state.apply(item)
            if line:
                self._log(line)
        self._redraw()

    def on_run_ended(self, msg: RunEnded) -> None:
        self.running = False
        self.ended = msg
        if msg.run_id:
            self.run_id = msg.run_id
        if msg.error:
            self._log(f"error: {msg.error}", now=True)
            self.notify(msg.error, title="run stopped", severity="error", timeout=10, markup=False)
        self._redraw()
        self._draw_curve(force=True)
        self._flush_log()
        self.refresh_bindings()
        if self.lab.quitting:
            self.lab.exit(0)
            return
        if not msg.error and not msg.cancelled and msg.run_id and self.lab.open_results_when_done:
            self.lab.open_results(msg.run_id)

    # -- drawing -----------------------------------------------------------------------------------
    def _log(self, line: str, now: bool = False) -> None:
        """Log a line; while batches stream in, lines are written at most every CURVE_EVERY_S.

        Each write to the log is a layout pass that repaints the whole screen.
        """
        self._log_lines.append(line)
        self.logged.append(line)
        if now or time.monotonic() - self._log_at >= CURVE_EVERY_S:
            self._flush_log()

    def _flush_log(self) -> None:
        if self._log_lines:
            # wrapped at the log's own width: left alone, RichLog measures text against the
            # console's width ($COLUMNS), not the widget's
            self.query_one("#log", RichLog).write(
                "\n".join(self._log_lines), expand=True, shrink=True
            )
            self._log_lines = []
            self._log_at = time.monotonic()

    def _current_task(self) -> tuple[str, str] | None:
        tasks = self.state.tasks
        return tasks[self.task_index % len(tasks)] if tasks else None

    def _redraw(self) -> None:
        self.redraws += 1
        self.query_one(ProgressPanel).show(self.state)
        self._draw_curve()

    def _draw_curve(self, force: bool = False) -> None:
        """Draw what changed: a new task or metric at once, moved points at most every 0.5 s."""
        task = self._current_task()
        metric = self.metric.pick(self.state.metrics_for(*task)) if task is not None else None
        n_tasks = len(self.state.tasks)
        what: tuple[object, ...] = (task, metric, self.metric.label, self.task_index, n_tasks)
        points = self.state.curve(*task, metric) if task is not None and metric is not None else []
        shown = (*what, tuple(points))
        if shown == self._curve_shown:
            self._curve_due = False
            return
        now = time.monotonic()
        same_view = self._curve_shown is not None and self._curve_shown[: len(what)] == what
        if same_view and not force and now - self._curve_at < CURVE_EVERY_S:
            self._curve_due = True
            return
        self._curve_shown, self._curve_at, self._curve_due = shown, now, False
        self.curve_draws += 1
        plot = self.query_one(CurvePlot)
        title = self.query_one("#curve-title", Static)
        if task is None:
            title.update("live scaling curve", layout=False)
            plot.show_message("", "waiting for the first scored items")
            return
        title.update(
            f"{self.task_index % n_tasks + 1}/{n_tasks} {task[0]} [{task[1]}] · "
            f"{metric or '-'} ({self.metric.label})",
            layout=False,
        )
        if metric is None:
            plot.show_message(f"{task[0]} [{task[1]}]", "waiting for scored items")
            return
        plot.show_live(points, metric)

    # -- actions ---------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.running
        if action == "resume_run":
            return not self.running and self.ended is not None
        if action == "view_results":
            return self.run_id is not None and not self.running
        return True

    def action_cancel_run(self) -> None:
        self.cancel()

    def action_resume_run(self) -> None:
        if not self.running:
            self._log("resuming: items already stored are skipped")
            self.start()

    def action_view_results(self) -> None:
        if self.run_id:
            self.lab.open_results(self.run_id)

    def action_back(self) -> None:
        if self.running:
            self.notify("a run is in progress: press c to cancel it first")
            return
        self.dismiss()
