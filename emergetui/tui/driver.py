"""Running one experiment from a worker thread and feeding the UI with message batches.

The driver owns the only blocking loop of the lab: through
:class:`~emergetui.api.RunSession` (the one driver of a run, shared with the
batch CLI) it builds the experiment, iterates ``Runner.events()``, runs the probe
phase when asked (``--probe``), and posts :class:`~emergetui.tui.messages.RunnerBatch`
messages through an :class:`~emergetui.tui.pump.EventPump`. Cancelling never
abandons the iteration: :meth:`RunDriver.cancel` sets the runner's flag, the
runner stops the rung's worker process at once (even mid-decode) and commits
every item it had finished, and the loop keeps draining events until
``RunFinished``, so the store's run status says "cancelled" (a resumable state).
llama.cpp itself runs in those worker processes, whose output goes to per-rung
log files: nothing it prints can reach the lab's screen.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path

from textual.message import Message

from emergetui.api import RunnerFactory, RunSession
from emergetui.errors import EmergetuiError
from emergetui.run.events import Event, RunFinished, TaskFinished
from emergetui.run.runner import Runner
from emergetui.run.spec import Experiment, ExperimentSpec
from emergetui.store.results import Store
from emergetui.tui.live import Moments, SettledTask
from emergetui.tui.messages import RunEnded, RunnerBatch, RunPrepared
from emergetui.tui.pump import EventPump


def settle(store: Store, run_id: str, finished: TaskFinished) -> SettledTask:
    """Exact moments of a finished task setting, from every row stored for it (resumed ones too)."""
    moments: dict[str, Moments] = {}
    for r in store.records(run_id, rung=finished.rung, task=finished.task):
        if r.setting != finished.setting or r.error:
            continue
        for metric, v in r.metrics.items():
            if v is not None and math.isfinite(v):
                moments.setdefault(metric, Moments()).add((v,))
    return SettledTask(finished.rung, finished.task, finished.setting, moments)


class RunDriver:
    """One run of the lab. :meth:`drive` runs in a thread; :meth:`cancel` may be called from any.

    The run itself is driven by :class:`~emergetui.api.RunSession`, the batch CLI's driver:
    the experiment's warnings, the runner's events and the probe phase (``--probe``) all
    arrive as events, which this class batches into messages for the UI thread.
    """

    def __init__(
        self,
        spec: ExperimentSpec,
        store_path: Path | None,
        post: Callable[[Message], object],
        *,
        runner_factory: RunnerFactory = Runner,
        interval_s: float = 0.1,
    ) -> None:
        self.spec = spec
        self.store_path = store_path
        self._post = post
        self.pump = EventPump(self._post_batch, interval_s=interval_s)
        self.session = RunSession(
            spec,
            store_path,
            self._on_event,
            on_prepared=self._on_prepared,
            runner_factory=runner_factory,
        )
        self.run_id: str | None = None

    def _post_batch(self, items: tuple[object, ...]) -> None:
        self._post(RunnerBatch(items))

    def cancel(self) -> None:
        self.session.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self.session.cancel_requested

    def _on_prepared(self, exp: Experiment, runner: Runner) -> None:
        self.run_id = runner.run_id
        tasks = [(s.task, s.setting) for s in exp.config.item_sets]
        self._post(RunPrepared(runner.run_id, exp.config.ladder, len(exp.config.rungs), tasks))

    def _on_event(self, event: Event) -> None:
        self.pump.add(event)
        store = self.session.store
        if isinstance(event, TaskFinished) and store is not None and self.run_id is not None:
            self.pump.add(settle(store, self.run_id, event))

    def drive(self, worker_cancelled: Callable[[], bool] = lambda: False) -> None:
        """Build, run, and report the end; never raises (errors end the run with a message)."""
        finished: RunFinished | None = None
        error: str | None = None
        done = threading.Event()
        # the app may exit (cancelling the worker) while the runner is quiet: relay it
        threading.Thread(target=self._relay, args=(worker_cancelled, done), daemon=True).start()
        try:
            # the lab analyses on its results screen, when it opens
            finished = self.session.drive(analyse=False).finished
        except EmergetuiError as e:
            error = str(e)
        except Exception as e:  # noqa: BLE001 - shown in the log; the store keeps what was committed
            error = f"{type(e).__name__}: {e}"
        finally:
            done.set()
            self.pump.flush(force=True)
        cancelled = finished.cancelled if finished is not None else self.cancel_requested
        self._post(RunEnded(self.run_id, cancelled=cancelled, error=error))

    def _relay(self, worker_cancelled: Callable[[], bool], done: threading.Event) -> None:
        # twice a second: each wake-up takes the GIL from the runner (see screens.run.TICK_S)
        while not done.wait(0.5):
            if worker_cancelled():
                self.cancel()
                return
