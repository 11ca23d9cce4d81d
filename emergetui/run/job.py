"""One rung's work as a value: what a worker process is given, and what it does with it.

:class:`RungJob` is everything a rung needs, picklable, so that it can cross
into a spawned worker process; :func:`execute` is the work itself — fit the
model to the machine, load it (with fewer GPU layers after a failed load),
then :class:`~emergetui.run.rung_work.RungWork`. The same function runs in the
worker (``run/worker.py``) and, for debugging, in the runner's own thread.

This module imports neither the engine nor llama.cpp at import time: the
runner's process imports it to build jobs and must stay free of llama.cpp.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from emergetui.run.events import Event, LogMessage
from emergetui.tasks.base import ItemSet

if TYPE_CHECKING:
    from emergetui.engine import Engine
    from emergetui.models.fit import FitDecision
    from emergetui.run.rung_work import RungStore, RungWork


class Cancelled(Exception):
    """Raised when the consumer asked the run to stop."""


@dataclass(frozen=True)
class RungJob:
    """One rung of one run, with every choice that shapes its results."""

    run_id: str
    rung: str
    index: int
    n_rungs: int
    params: int
    path: str
    sha256: str
    item_sets: list[ItemSet]
    heldout_text: str | None
    n_gpu_layers: str | int
    n_ctx: int | None
    seed: int
    n_threads: int | None
    max_model_gb: float | None
    commit_every_s: float = 1.0
    log_path: str = ""
    attempt: int = 1
    rpc: tuple[str, ...] = ()  # llama.cpp RPC servers (HOST:PORT) that hold some of the layers
    # pack requests across items (faster; log-probs then depend on the batch: docs/exactness.md)
    fast_packing: bool = False


@dataclass(frozen=True)
class Call:
    """One function of emergetui to run in a worker process (the ``--probe`` pass uses it).

    ``what`` says what it does, for the message if the worker dies ("probing 410M").
    """

    module: str
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    log_path: str = ""
    what: str = ""


@dataclass(frozen=True)
class Fit:
    """What the fitting chose, told to the runner so that an out-of-memory retry can halve it."""

    n_gpu_layers: int
    n_layers: int


@dataclass(frozen=True)
class Outcome:
    """How a rung ended. ``oom``: it ran out of memory (retry with less); ``log``: llama.cpp's log;
    ``gpu_layers``/``n_layers``: what it ran with, of how many, when known (to halve on a retry)."""

    status: str  # "done" | "failed" | "skipped"
    error: str | None = None
    oom: bool = False
    log: str = ""
    gpu_layers: int | None = None
    n_layers: int | None = None


def execute(
    job: RungJob,
    store: RungStore,
    emit: Callable[[Event], None],
    check: Callable[[], None],
    note: Callable[[str | Fit], None] = lambda _n: None,
) -> Outcome:
    """Do one rung: fit, load, score, generate, held-out loss. ``note`` hears the phase as it
    changes.

    A model that does not fit or does not load is an :class:`Outcome`, not an
    exception; anything else (a store error, a bug) propagates to the caller.
    """
    from emergetui.engine import Engine, EngineError, ModelLoadError
    from emergetui.models.fit import load_with_retry

    path = Path(job.path)
    work = _work(job, store, emit, check)
    layers = job.n_gpu_layers
    t_fit = time.monotonic()
    decision = fit_decision(job.rung, path, layers, job.n_ctx, job.max_model_gb, job.rpc)
    work.fit_s = time.monotonic() - t_fit
    if decision is not None:
        emit(LogMessage("info", f"{job.rung}: {decision.reason}"))
        if not decision.fits:
            return Outcome("skipped", decision.reason)
        layers = decision.n_gpu_layers
        note(Fit(decision.n_gpu_layers, decision.n_layers))

    def attempt(n: int | str) -> Engine:
        return Engine.load(
            path,
            n_gpu_layers=n,
            n_ctx=job.n_ctx,
            seed=job.seed,
            n_threads=job.n_threads,
            rpc=job.rpc,
            invariant=not job.fast_packing,
        )

    def load() -> Engine:
        note("loading the model")
        if decision is None or decision.n_gpu_layers == 0:
            engine = attempt(layers)
        else:

            def retry(failed: int, nxt: int, exc: BaseException) -> None:
                emit(
                    LogMessage(
                        "warning",
                        f"{job.rung}: loading with {failed} GPU layers failed ({exc}); "
                        f"retrying with {nxt}",
                    )
                )

            engine = load_with_retry(
                attempt,
                decision.n_gpu_layers,
                n_layers=decision.n_layers,
                should_retry=lambda e: isinstance(e, ModelLoadError),
                on_retry=retry,
            ).model
        # the proxy has every attribute of the engine (it forwards them): the work sees an Engine
        return cast(Engine, _Noting(engine, note))

    try:
        work.run(load)
    except (ModelLoadError, EngineError) as e:
        return Outcome("failed", str(e))
    return Outcome("done")


def finish_if_done(
    job: RungJob, store: RungStore, emit: Callable[[Event], None], check: Callable[[], None]
) -> bool:
    """Finish a rung that has nothing left to compute, here and now; False if it has work.

    A rerun of a finished run (or a resumed one whose rung is complete) then sends the
    rung's events without starting a worker, importing llama.cpp, reading the header
    or loading the model: the same events the worker would send, from the store.
    """
    work = _work(job, store, emit, check)
    if work.has_work():
        return False
    work.run(_no_load)
    return True


def _no_load() -> Engine:
    raise AssertionError("a rung with nothing to compute never loads its model")


def _work(
    job: RungJob, store: RungStore, emit: Callable[[Event], None], check: Callable[[], None]
) -> RungWork:
    from emergetui.run.rung_work import RungWork

    return RungWork(
        run_id=job.run_id,
        rung=job.rung,
        index=job.index,
        n_rungs=job.n_rungs,
        params=job.params,
        path=Path(job.path),
        sha256=job.sha256,
        item_sets=job.item_sets,
        heldout_text=job.heldout_text,
        store=store,
        emit=emit,
        check=check,
        commit_every_s=job.commit_every_s,
    )


class _Noting:
    """An engine that says which phase a rung is in before each long call (for crash messages)."""

    def __init__(self, engine: Engine, note: Callable[[str | Fit], None]) -> None:
        self._engine = engine
        self._note = note

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    # the arguments are the engine's own, passed on unchanged (their types are Engine's)
    def score(self, *a: Any, **k: Any) -> object:
        self._note("scoring")
        return self._engine.score(*a, **k)

    def generate(self, *a: Any, **k: Any) -> object:
        self._note("generating")
        return self._engine.generate(*a, **k)

    def rolling_loss(self, *a: Any, **k: Any) -> object:
        self._note("computing the held-out loss")
        return self._engine.rolling_loss(*a, **k)


def fit_decision(
    label: str,
    path: Path,
    layers: str | int,
    n_ctx: int | None,
    max_model_gb: float | None,
    rpc: tuple[str, ...] = (),
) -> FitDecision | None:
    """How many layers to offload, from the GGUF header and free RAM/VRAM (+ RPC servers' memory).

    None when the header is unreadable or an RPC server cannot be asked: both are
    left to the load, whose error names the file or the server.
    Free VRAM is asked of llama.cpp's backends, which is why this runs in the
    rung's worker process, never in the runner's.
    """
    from emergetui.engine.errors import EngineError
    from emergetui.models.fit import detect_memory, fit_rung
    from emergetui.models.gguf_info import GGUFInfoError, read_model_info

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


__all__ = [
    "Call",
    "Cancelled",
    "Fit",
    "Outcome",
    "RungJob",
    "execute",
    "finish_if_done",
    "fit_decision",
]
