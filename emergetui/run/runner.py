"""The runner: a ladder × task item sets → plain events, results committed to the store as they finish.

One model is loaded at a time and released before the next. All requests of a
rung (every pending item of every task and setting) go to the engine in one
call so that shared prefixes across items are decoded once; results come back
wave by wave and are stored in small transactions, which is what makes a run
resumable after a crash or a cancel.

The work runs in a worker thread; :meth:`Runner.events` yields its events in
the caller's thread. Closing the generator (Ctrl+C in the CLI, quitting the
TUI) cancels the worker at the next wave and leaves the store consistent.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.engine import Engine, EngineError, ModelLoadError
from emergetui.models.fit import FitDecision, detect_memory, fit_rung, load_with_retry
from emergetui.models.gguf_info import GGUFInfoError, read_model_info
from emergetui.run.events import (
    DownloadProgress,
    Event,
    LogMessage,
    PlannedRung,
    RunFinished,
    RungFailed,
    RunStarted,
)
from emergetui.run.rung_work import RungWork
from emergetui.run.store import Store, StoredTaskSet
from emergetui.tasks.base import ItemSet


class Cancelled(Exception):
    """Raised inside the worker when the consumer asked to stop."""


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
    rpc: tuple[str, ...] = ()  # where layers run, not what is measured: not in identity()

    def identity(self) -> dict[str, Any]:
        """What makes two runs "the same experiment" (and so resumable into each other)."""
        return {
            "ladder": self.ladder,
            "rungs": [r.label for r in self.rungs],
            "tasks": sorted({(s.task, s.setting) for s in self.item_sets}),
            "seed": self.seed,
            "heldout": self.heldout_name,
            **self.extra,
        }

    def run_id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


class Runner:
    """Runs one experiment. Iterate :meth:`events`; call :meth:`cancel` from any thread."""

    def __init__(self, config: RunConfig, store: Store, commit_every_s: float = 1.0) -> None:
        self.config = config
        self.store_path = store.path
        self.run_id = config.run_id()
        self.commit_every_s = commit_every_s
        self._cancel = threading.Event()

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
        store.begin_run(self.run_id, cfg.ladder, cfg.identity())
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
                    raise EngineError(f"rung {rung.label}: no model path and no way to fetch one")
                path = rung.fetch(emit)
            sha = store.sha256_of(path)
        except Cancelled:
            raise
        except (OSError, RuntimeError, ValueError) as e:
            msg = (
                getattr(e, "strerror", None)
                and f"{getattr(e, 'filename', '')}: {e.strerror}"
                or str(e)
            )
            store.set_rung(self.run_id, idx, rung.label, rung.params, str(rung.path or ""), "")
            store.update_rung(self.run_id, rung.label, status="failed", error=msg)
            emit(RungFailed(rung.label, msg))
            return False
        store.set_rung(self.run_id, idx, rung.label, rung.params, str(path), sha)
        work = RungWork(
            run_id=self.run_id,
            rung=rung.label,
            index=idx,
            n_rungs=len(cfg.rungs),
            params=rung.params,
            path=Path(path),
            sha256=sha,
            item_sets=cfg.item_sets,
            heldout_text=cfg.heldout_text,
            store=store,
            emit=emit,
            check=self._check,
            commit_every_s=self.commit_every_s,
        )
        layers = rung.n_gpu_layers if rung.n_gpu_layers is not None else cfg.n_gpu_layers
        rpc = rung.rpc or cfg.rpc
        decision = fit_decision(rung.label, Path(path), layers, cfg.n_ctx, cfg.max_model_gb, rpc)
        if decision is not None:
            emit(LogMessage("info", f"{rung.label}: {decision.reason}"))
            if not decision.fits:
                store.update_rung(self.run_id, rung.label, status="skipped", error=decision.reason)
                emit(RungFailed(rung.label, decision.reason))
                return False
            layers = decision.n_gpu_layers

        def load() -> Engine:
            def attempt(n: int | str) -> Engine:
                return Engine.load(
                    path,
                    n_gpu_layers=n,
                    n_ctx=cfg.n_ctx,
                    seed=cfg.seed,
                    n_threads=cfg.n_threads,
                    rpc=rpc,
                )

            if decision is None or decision.n_gpu_layers == 0:
                return attempt(layers)

            def retry(failed: int, nxt: int, exc: BaseException) -> None:
                emit(
                    LogMessage(
                        "warning",
                        f"{rung.label}: loading with {failed} GPU layers failed ({exc}); retrying with {nxt}",
                    )
                )

            return load_with_retry(
                attempt,
                decision.n_gpu_layers,
                n_layers=decision.n_layers,
                should_retry=lambda e: isinstance(e, ModelLoadError),
                on_retry=retry,
            ).model

        try:
            work.run(load)
        except Cancelled:
            raise
        except (ModelLoadError, EngineError) as e:
            store.update_rung(self.run_id, rung.label, status="failed", error=str(e))
            emit(RungFailed(rung.label, str(e)))
            return False
        store.update_rung(self.run_id, rung.label, status="done", error=None)
        return True


def fit_decision(
    label: str,
    path: Path,
    layers: str | int,
    n_ctx: int | None,
    max_model_gb: float | None,
    rpc: tuple[str, ...] = (),
) -> FitDecision | None:
    """How many layers to offload, from the GGUF header and free RAM/VRAM (+ RPC servers' memory).

    None when the header is unreadable or an RPC server cannot be asked: both
    are left to the load, whose error names the file or the server.
    """
    try:
        info = read_model_info(path)
        memory = detect_memory(rpc=rpc) if rpc else detect_memory()
    except (GGUFInfoError, OSError, ValueError, EngineError):
        return None
    forced = None if layers == "auto" else int(layers)
    return fit_rung(
        label,
        info,
        memory,
        n_ctx=n_ctx or 4096,
        n_gpu_layers=forced,
        max_model_gb=max_model_gb,
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
