"""The runner: a ladder × task item sets → plain events, results committed to the store as they
finish.

One model is loaded at a time and released before the next. All requests of a
rung (every pending item of every task and setting) go to the engine in one
call so that shared prefixes across items are decoded once; results come back
wave by wave and are stored in small transactions, which is what makes a run
resumable after a crash or a cancel.

Each rung runs in its own spawned worker process (``run/worker.py``,
supervised by ``run/supervise.py``): a crash inside llama.cpp, the
out-of-memory killer or a hung decode costs that rung, never the run, and the
rung's memory leaves with its process. This process never imports llama.cpp
and is the store's only writer. ``in_process=True`` runs the same rung work in
the runner's thread instead — for a debugger or a profiler, at the price of
that protection.

The work runs in a worker thread; :meth:`Runner.events` yields its events in
the caller's thread. Closing the generator (Ctrl+C in the CLI, quitting the
TUI) cancels the run: the rung's worker is stopped at once (SIGTERM, then
SIGKILL), everything it had finished is committed, and a rerun resumes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from emergetui.errors import EmergetuiError
from emergetui.run.events import (
    DownloadProgress,
    Event,
    LogMessage,
    PlannedRung,
    RunFinished,
    RungFailed,
    RunStarted,
)
from emergetui.run.faults import log_dir, log_path
from emergetui.run.job import Cancelled, Outcome, RungJob, finish_if_done
from emergetui.store.identity import RunIdentity
from emergetui.store.results import Store
from emergetui.store.rows import StoredTaskSet
from emergetui.tasks.base import ItemSet

#: Default for :attr:`RunConfig.stall_timeout_s`: long enough for one wave of a 70B model on a CPU.
DEFAULT_STALL_TIMEOUT_S = 1800.0


@dataclass
class Rung:
    """One model of a ladder. ``fetch`` downloads it when ``path`` is not yet local."""

    label: str
    params: int
    path: Path | None = None
    fetch: Callable[[Callable[[DownloadProgress], None]], Path] | None = None
    n_gpu_layers: str | int | None = None
    rpc: tuple[str, ...] = ()


@dataclass
class RunConfig:
    ladder: str
    rungs: list[Rung]
    item_sets: list[ItemSet]
    seed: int = 0
    n_gpu_layers: str | int = "auto"
    n_ctx: int | None = None
    heldout_text: str | None = None
    heldout_name: str = ""
    max_model_gb: float | None = None
    n_threads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # seconds a rung's worker may go without reporting progress before it is stopped
    stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S
    rpc: tuple[str, ...] = ()  # where layers run, not what is measured: not in identity()
    # batch-dependent packing (Engine invariant=False): how to run, not in identity()
    fast_packing: bool = False

    def identity(self) -> RunIdentity:
        """What makes two runs "the same experiment" (and so resumable into each other)."""
        return RunIdentity(
            ladder=self.ladder,
            rungs=tuple(r.label for r in self.rungs),
            tasks=tuple(sorted({(s.task, s.setting) for s in self.item_sets})),
            seed=self.seed,
            heldout=self.heldout_name,
            extra=dict(self.extra),
        )

    def run_id(self) -> str:
        return self.identity().run_id


class Runner:
    """Runs one experiment. Iterate :meth:`events`; call :meth:`cancel` from any thread."""

    def __init__(
        self,
        config: RunConfig,
        store: Store,
        commit_every_s: float = 1.0,
        *,
        in_process: bool = False,
    ) -> None:
        self.config = config
        self.store_path = store.path
        self.run_id = config.run_id()
        self.commit_every_s = commit_every_s
        self.in_process = in_process
        self._cancel = threading.Event()

    @property
    def log_dir(self) -> Path:
        """The folder of llama.cpp's per-rung logs of this run."""
        return log_dir(self.store_path, self.run_id)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def events(self) -> Iterator[Event]:
        q: queue.Queue[Event | BaseException | None] = queue.Queue()
        worker = threading.Thread(
            target=self._work, args=(q.put,), name="emergetui-runner", daemon=True
        )
        worker.start()
        try:
            while True:
                ev = q.get()
                if ev is None:
                    break
                if isinstance(ev, BaseException):
                    raise ev
                yield ev
        finally:
            self._cancel.set()
            worker.join()

    # -- worker --------------------------------------------------------------------
    def _work(self, emit: Callable[[Event | BaseException | None], None]) -> None:
        try:
            with Store(self.store_path) as store:
                self._run(store, emit)
        except BaseException as e:  # delivered to the consumer's thread
            emit(e)
        finally:
            emit(None)

    def _check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _run(self, store: Store, emit: Callable[[Event], None]) -> None:
        cfg = self.config
        t0 = time.monotonic()
        store.begin_run(self.run_id, cfg.ladder, cfg.identity().to_dict())
        resumed = store.count_items(self.run_id)
        for s in cfg.item_sets:
            store.set_taskset(self.run_id, taskset_info(s))
        emit(
            RunStarted(
                run_id=self.run_id,
                ladder=cfg.ladder,
                rungs=tuple(PlannedRung(r.label, r.params, str(r.path or "")) for r in cfg.rungs),
                tasks=tuple((s.task, s.setting) for s in cfg.item_sets),
                resumed_items=resumed,
            )
        )
        if not self.in_process:
            emit(LogMessage("info", f"llama.cpp's log of each rung goes to {self.log_dir}"))
        failed = 0
        cancelled = False
        try:
            for idx, rung in enumerate(cfg.rungs):
                self._check()
                ok = self._rung(store, emit, idx, rung)
                failed += 0 if ok else 1
        except Cancelled:
            cancelled = True
            emit(LogMessage("warning", "run cancelled: stored results are kept, rerun to resume"))
        status = "cancelled" if cancelled else ("done" if not failed else "done-with-errors")
        store.set_run_status(self.run_id, status)
        emit(
            RunFinished(
                self.run_id, time.monotonic() - t0, cancelled=cancelled, n_failed_rungs=failed
            )
        )

    def _rung(self, store: Store, emit: Callable[[Event], None], idx: int, rung: Rung) -> bool:
        cfg = self.config
        try:
            path = rung.path
            if path is None:
                if rung.fetch is None:
                    raise EmergetuiError(
                        f"rung {rung.label}: no model path and no way to fetch one"
                    )
                path = rung.fetch(emit)
            sha = store.sha256_of(path)
        except Cancelled:
            raise
        except (OSError, RuntimeError, ValueError, EmergetuiError) as e:
            strerror = getattr(e, "strerror", None)  # an OSError's reason, without errno
            msg = f"{getattr(e, 'filename', '')}: {strerror}" if strerror else str(e)
            store.set_rung(self.run_id, idx, rung.label, rung.params, str(rung.path or ""), "")
            store.update_rung(self.run_id, rung.label, status="failed", error=msg)
            emit(RungFailed(rung.label, msg))
            return False
        store.set_rung(self.run_id, idx, rung.label, rung.params, str(path), sha)
        job = RungJob(
            run_id=self.run_id,
            rung=rung.label,
            index=idx,
            n_rungs=len(cfg.rungs),
            params=rung.params,
            path=str(path),
            sha256=sha,
            item_sets=cfg.item_sets,
            heldout_text=cfg.heldout_text,
            n_gpu_layers=rung.n_gpu_layers if rung.n_gpu_layers is not None else cfg.n_gpu_layers,
            n_ctx=cfg.n_ctx,
            seed=cfg.seed,
            n_threads=cfg.n_threads,
            max_model_gb=cfg.max_model_gb,
            commit_every_s=self.commit_every_s,
            log_path=str(log_path(self.store_path, self.run_id, idx, rung.label)),
            rpc=tuple(rung.rpc or cfg.rpc),
            fast_packing=cfg.fast_packing,
        )
        if finish_if_done(job, store, emit, self._check):
            outcome = Outcome("done")
        else:
            outcome = self._attempt(store, emit, job)
        if outcome.oom and outcome.status == "failed":
            smaller = smaller_job(job, outcome)
            emit(LogMessage("warning", f"{rung.label}: out of memory; {smaller[1]}"))
            outcome = self._attempt(store, emit, smaller[0])
        store.update_rung(self.run_id, rung.label, status=outcome.status, error=outcome.error)
        if outcome.status != "done":
            emit(RungFailed(rung.label, outcome.error or outcome.status, log=outcome.log))
            return False
        return True

    def _attempt(self, store: Store, emit: Callable[[Event], None], job: RungJob) -> Outcome:
        """One try at a rung: in a worker process, or in this thread when ``in_process``."""
        if self.in_process:
            from emergetui.run.job import execute

            return execute(job, store, emit, self._check)
        from emergetui.run.supervise import run_in_worker

        return run_in_worker(
            job,
            store,
            emit,
            self._cancel,
            commit_every_s=self.commit_every_s,
            stall_timeout_s=self.config.stall_timeout_s,
        )


def smaller_job(job: RungJob, failed: Outcome) -> tuple[RungJob, str]:
    """The job again with less memory: half the GPU layers, or (on the CPU) half the context."""
    layers = failed.gpu_layers
    if layers is not None and layers != 0:
        offloaded = failed.n_layers if layers < 0 else layers  # -1: all of the model's layers
        if offloaded is None:
            layers = None
        else:
            half = offloaded // 2
            return (
                replace(job, n_gpu_layers=half, attempt=job.attempt + 1),
                f"retrying once with {half} GPU layers",
            )
    n_ctx = max(256, (job.n_ctx or 4096) // 2)
    return (
        replace(job, n_ctx=n_ctx, attempt=job.attempt + 1),
        f"retrying once with a context of {n_ctx} tokens",
    )


def taskset_info(s: ItemSet) -> StoredTaskSet:
    """What the store keeps about a task setting, chance levels averaged over its items."""
    from emergetui.tasks.metrics import chance_levels

    sums: dict[str, float] = {}
    for it in s.items:
        for k, v in chance_levels(it).items():
            sums[k] = sums.get(k, 0.0) + v
    n = max(1, len(s.items))
    return StoredTaskSet(
        task=s.task,
        setting=s.setting,
        shots=s.shots,
        metrics=list(s.metrics),
        preferred=s.preferred_metric,
        chance={k: v / n for k, v in sums.items()},
        not_computed=list(s.not_computed),
        n_items=len(s.items),
    )
