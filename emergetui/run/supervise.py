"""The runner's side of a rung worker: start it, relay its events, commit its rows, judge its end.

The runner's process is the store's only writer (docs/reliability.md says why): the
worker sends each finished item down the pipe as soon as it exists, and this
side commits them in small transactions every ``commit_every_s`` — and at
once before any other event is passed on, before answering a read, and when
the worker ends however it ends. ``ItemsDone`` events are held until their
rows are committed, so a front end never shows an item the store lacks.

When the worker dies, the exit status says how (a signal, an exception, a
stall that this side ended), the last progress says where, and the tail of
llama.cpp's log says what llama.cpp last said; all three become the
:class:`~emergetui.run.job.Outcome`'s error.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from emergetui.errors import EmergetuiError
from emergetui.run.events import Event, ItemsDone, ModelLoaded, TaskStarted, WorkerStarted
from emergetui.run.faults import Death, describe_death, file_size, looks_oom
from emergetui.run.job import Call, Cancelled, Fit, Outcome, RungJob
from emergetui.store.results import Store
from emergetui.tasks.records import ItemRecord

#: Reads a worker may ask of the store (nothing else is callable over the pipe).
_READS = frozenset({"completed", "rungs", "item_metrics"})
#: How long a worker gets to end after SIGTERM before SIGKILL.
TERM_GRACE_S = 0.4
_TICK_S = 0.05


@dataclass
class _Where:
    """The worker's last known progress, for the message if it dies."""

    phase: str = "starting"
    fit: Fit | None = None
    loaded_layers: int | None = None
    task: str = ""
    done: tuple[int, int] | None = None

    def words(self) -> str:
        s = self.phase
        if self.task and self.phase in ("scoring", "generating"):
            s += f" {self.task}"
            if self.done is not None:
                s += f" ({self.done[0]} of {self.done[1]} items stored)"
        return s


@dataclass
class _Committer:
    """Rows and ``ItemsDone`` events waiting for their transaction."""

    store: Store
    emit: Callable[[Event], None]
    every_s: float
    records: list[ItemRecord] = field(default_factory=list)
    events: list[ItemsDone] = field(default_factory=list)
    last: float = field(default_factory=time.monotonic)

    def add_event(self, e: ItemsDone) -> None:
        prev = self.events[-1] if self.events else None
        if prev is not None and (prev.rung, prev.task, prev.setting) == (e.rung, e.task, e.setting):
            values = {
                m: prev.values.get(m, ()) + e.values.get(m, ()) for m in {*prev.values, *e.values}
            }
            e = replace(e, values=values, n_errors=prev.n_errors + e.n_errors)
            self.events[-1] = e
        else:
            self.events.append(e)

    def maybe(self) -> None:
        if time.monotonic() - self.last >= self.every_s:
            self.commit()

    def commit(self) -> None:
        self.last = time.monotonic()
        if self.records:
            batch, self.records = self.records, []
            self.store.put_records(batch)
        events, self.events = self.events, []
        for e in events:
            self.emit(e)


def run_in_worker(
    job: RungJob,
    store: Store,
    emit: Callable[[Event], None],
    cancelled: threading.Event,
    *,
    commit_every_s: float = 1.0,
    stall_timeout_s: float = 900.0,
) -> Outcome:
    """Run ``job`` in a fresh spawned process; raise :class:`Cancelled` once it is stopped on
    request.

    Anything the worker finished is committed before this returns or raises.
    """
    return _Session(job, store, emit, commit_every_s).run(cancelled, stall_timeout_s)


class _Session:
    """One worker process from start to end, seen from the runner."""

    def __init__(
        self,
        job: RungJob,
        store: Store,
        emit: Callable[[Event], None],
        commit_every_s: float,
    ) -> None:
        self.job = job
        self.store = store
        self.log = Path(job.log_path)
        self.committer = _Committer(store, emit, commit_every_s)
        self.where = _Where()
        self.outcome: Outcome | None = None
        self.crash = ""
        self.log_start = file_size(self.log)
        self.proc, self.conn = start_worker(self.log)
        # a worker that dies before reading its job is judged like any other death, from its log
        with contextlib.suppress(OSError):
            self.conn.send(list(sys.path))
            self.conn.send((job, os.getpid()))
        emit(WorkerStarted(job.rung, self.proc.pid, job.log_path, job.attempt))

    def run(self, cancelled: threading.Event, stall_timeout_s: float) -> Outcome:
        proc, conn = self.proc, self.conn
        stalled = False
        last_progress, seen_log = time.monotonic(), self.log_start
        try:
            while True:
                if cancelled.is_set():
                    self._stop_and_drain()
                    raise Cancelled()
                if conn.poll(_TICK_S):
                    if not self._receive():
                        break
                    last_progress = time.monotonic()
                    continue
                if proc.poll() is not None and not conn.poll():
                    break
                self.committer.maybe()
                size = file_size(self.log)  # llama.cpp logging while it loads is progress too
                if size != seen_log:
                    seen_log, last_progress = size, time.monotonic()
                if time.monotonic() - last_progress > stall_timeout_s:
                    stalled = True
                    self._stop_and_drain()
                    break
        finally:
            self.committer.commit()
            if self.outcome is not None:
                _join(proc, 5)
            _stop(proc)
            conn.close()
        if self.outcome is not None and proc.returncode == 0:
            return self.outcome
        death = Death(
            exitcode=proc.returncode,
            stalled_s=stall_timeout_s if stalled else None,
            exception=self.crash,
            where=self.where.words(),
        )
        text, tail = describe_death(death, self.log, self.log_start)
        w = self.where
        return Outcome(
            "failed",
            text,
            oom=looks_oom(death, tail),
            log=self.job.log_path,
            gpu_layers=w.loaded_layers
            if w.loaded_layers is not None
            else (w.fit.n_gpu_layers if w.fit else None),
            n_layers=w.fit.n_layers if w.fit else None,
        )

    def _stop_and_drain(self) -> None:
        """End the worker now and keep every row it had sent."""
        _stop(self.proc)
        with contextlib.suppress(EOFError, OSError):
            while self.conn.poll():
                if not self._receive(answer=False):
                    break

    def _receive(self, answer: bool = True) -> bool:
        """Handle one message; False at the end of the pipe (the worker is gone)."""
        try:
            msg = self.conn.recv()
        except (EOFError, OSError):
            return False
        self._handle(msg, answer)
        self.committer.maybe()
        return True

    def _handle(self, msg: tuple[Any, ...], answer: bool) -> None:
        kind, c, w = msg[0], self.committer, self.where
        if kind == "put":
            c.records.extend(msg[1])
        elif kind == "event":
            e = msg[1]
            if isinstance(e, ItemsDone):
                c.add_event(e)
                w.task, w.done = f"{e.task} [{e.setting}]", (e.n_done, e.n_total)
                return
            c.commit()
            if isinstance(e, TaskStarted):
                w.task, w.done = f"{e.task} [{e.setting}]", (e.n_done, e.n_items)
            elif isinstance(e, ModelLoaded):
                w.loaded_layers = e.n_gpu_layers
            c.emit(e)
        elif kind == "note":
            if isinstance(msg[1], Fit):
                w.fit = msg[1]
            else:
                w.phase = msg[1]
        elif kind == "update_rung":
            c.commit()
            self.store.update_rung(self.job.run_id, self.job.rung, **msg[1])
        elif kind == "call" and answer:
            c.commit()
            name, args = msg[1], msg[2]
            try:
                if name not in _READS:
                    raise ValueError(f"not a store read: {name}")
                reply: tuple[str, Any] = ("ok", getattr(self.store, name)(*args))
            except Exception as e:  # noqa: BLE001 - the worker raises it as a StoreError
                reply = ("err", str(e))
            self.conn.send(reply)
        elif kind == "done":
            c.commit()
            self.outcome = msg[1]
        elif kind == "crash":
            self.crash = str(msg[1])


class WorkerFailed(EmergetuiError, RuntimeError):
    """A :func:`call_in_worker` whose worker died or raised; the message says how and where."""


def call_in_worker(call: Call) -> Any:
    """``call`` run in a fresh worker process: its return value, or :class:`WorkerFailed`.

    For work that needs llama.cpp outside a rung's scoring (the ``--probe``
    pass): a crash there costs that call, and its memory leaves with it.
    """
    log = Path(call.log_path)
    start = file_size(log)
    proc, conn = start_worker(log)
    result: tuple[Any] | None = None
    crash = ""
    try:
        conn.send(list(sys.path))
        conn.send((call, os.getpid()))
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                break
            if kind == "result":
                result = (value,)
            elif kind == "crash":
                crash = str(value)
    finally:
        _join(proc, 5)
        _stop(proc)
        conn.close()
    if result is not None and proc.returncode == 0:
        return result[0]
    death = Death(proc.returncode, exception=crash, where=call.what)
    raise WorkerFailed(describe_death(death, log, start)[0])


def start_worker(log: Path) -> tuple[subprocess.Popen[bytes], Connection]:
    """A fresh interpreter (spawned, never forked) whose stdout and stderr are ``log``.

    Not ``multiprocessing.Process``: its spawn re-runs the parent's main script
    in the child (a script without a ``__main__`` guard, ``python - <<EOF``),
    and anything the child says before it could redirect its output would be
    printed over the lab. Here the log file is the child's stderr from its
    first instruction, and the pipe is a socket pair speaking
    ``multiprocessing.connection``'s pickled messages.
    """
    ours, theirs = socket.socketpair()
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", BOOT, str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # Ctrl+C is the runner's to handle, not the worker's
            )
    finally:
        theirs.close()
    return proc, Connection(ours.detach())


#: The worker's first lines: the runner's import path, then the worker module.
BOOT = (
    "import sys\n"
    "from multiprocessing.connection import Connection\n"
    "conn = Connection(int(sys.argv[1]))\n"
    "sys.path[:] = conn.recv()\n"
    "from emergetui.run.worker import serve\n"
    "serve(conn)\n"
)


def _join(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the worker has not ended within :data:`TERM_GRACE_S`."""
    if proc.poll() is None:
        proc.terminate()
        if not _join(proc, TERM_GRACE_S):
            proc.kill()
            proc.wait()


__all__ = ["TERM_GRACE_S", "WorkerFailed", "call_in_worker", "run_in_worker", "start_worker"]
