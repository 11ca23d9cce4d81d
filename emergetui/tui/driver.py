"""Running one experiment from a worker thread and feeding the UI with message batches.

The driver owns the only blocking loop of the lab: it builds the experiment,
iterates ``Runner.events()`` and posts :class:`~emergetui.tui.messages.RunnerBatch`
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

from emergetui.errors import EmergetuiError
from emergetui.run.events import RunFinished, TaskFinished
from emergetui.run.runner import RunConfig, Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.results import Store
from emergetui.tui.live import Moments, SettledTask
from emergetui.tui.messages import RunEnded, RunnerBatch, RunPrepared
from emergetui.tui.pump import EventPump

RunnerFactory = Callable[[RunConfig, Store], Runner]


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
    """One run of the lab. :meth:`drive` runs in a thread; :meth:`cancel` may be called from any."""

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
        self._factory = runner_factory
        self.pump = EventPump(lambda items: post(RunnerBatch(items)), interval_s=interval_s)
        self._cancel = threading.Event()
        self._runner: Runner | None = None
        self._lock = threading.Lock()
        self.run_id: str | None = None

    def cancel(self) -> None:
        with self._lock:
            self._cancel.set()
            if self._runner is not None:
                self._runner.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def drive(self, worker_cancelled: Callable[[], bool] = lambda: False) -> None:
        """Build, run, and report the end; never raises (errors end the run with a message)."""
        try:
            exp = build_experiment(self.spec)
            store = Store(self.store_path)
        except (EmergetuiError, OSError) as e:
            self._post(RunEnded(None, cancelled=False, error=str(e)))
            return
        finished: RunFinished | None = None
        error: str | None = None
        done = threading.Event()
        try:
            runner = self._factory(exp.config, store)
            with self._lock:
                self._runner = runner
                if self._cancel.is_set():
                    runner.cancel()
            self.run_id = runner.run_id
            tasks = [(s.task, s.setting) for s in exp.config.item_sets]
            self._post(
                RunPrepared(
                    runner.run_id,
                    exp.config.ladder,
                    len(exp.config.rungs),
                    tasks,
                    list(exp.warnings),
                )
            )
            # the app may exit (cancelling the worker) while the runner is quiet: relay it
            threading.Thread(target=self._relay, args=(worker_cancelled, done), daemon=True).start()
            for event in runner.events():
                self.pump.add(event)
                if isinstance(event, TaskFinished):
                    self.pump.add(settle(store, runner.run_id, event))
                elif isinstance(event, RunFinished):
                    finished = event
        except Exception as e:  # noqa: BLE001 - shown in the log; the store keeps what was committed
            error = f"{type(e).__name__}: {e}"
        finally:
            done.set()
            self.pump.flush(force=True)
            store.close()
        cancelled = finished.cancelled if finished is not None else self._cancel.is_set()
        self._post(RunEnded(self.run_id, cancelled=cancelled, error=error))

    def _relay(self, worker_cancelled: Callable[[], bool], done: threading.Event) -> None:
        # twice a second: each wake-up takes the GIL from the runner (see screens.run.TICK_S)
        while not done.wait(0.5):
            if worker_cancelled():
                self.cancel()
                return
