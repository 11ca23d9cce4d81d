"""The rung worker: the spawned process that loads one model, does one rung's work, and exits.

Everything llama.cpp does happens here, so that whatever llama.cpp does to
its process — ``abort()`` on a failed assertion or a CUDA error, a segfault,
the out-of-memory killer's SIGKILL, a decode that never returns — happens to
this process and costs one rung, and so that all the rung's memory (weights,
KV cache, CUDA context, allocator fragments) leaves with it.

The worker never writes the store. It talks to the runner over one pipe:

* ``("event", e)`` — a runner event, passed on to the front ends;
* ``("put", records)`` / ``("update_rung", fields)`` — rows for the runner to commit;
* ``("call", name, args)`` — a read of the store, answered ``("ok", value)`` or ``("err", text)``;
* ``("note", phase_or_fit)`` — what it is doing now, for the message if it dies;
* ``("done", outcome)`` or ``("crash", text)`` — the end.

Finished items are sent as soon as they finish (``commit_every_s=0`` here;
the runner batches the commits), so a worker killed in the middle of a long
decode loses nothing it had finished.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import signal
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from emergetui.errors import StoreError
from emergetui.run.events import Event
from emergetui.run.job import Call, Fit, Outcome, RungJob, execute
from emergetui.store.rows import StoredRung
from emergetui.tasks.records import ItemRecord

_PR_SET_PDEATHSIG = 1


class LinkStore:
    """The store as a rung's work sees it, over the pipe: writes go to the runner, reads are
    asked.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, msg: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(msg)

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            self._conn.send(("call", name, args))
            kind, value = self._conn.recv()
        if kind == "err":
            raise StoreError(value)
        return value

    def completed(
        self, run_id: str, rung: str, model_sha256: str
    ) -> dict[tuple[str, str, str], str]:
        out: dict[tuple[str, str, str], str] = self._call("completed", run_id, rung, model_sha256)
        return out

    def rungs(self, run_id: str) -> list[StoredRung]:
        out: list[StoredRung] = self._call("rungs", run_id)
        return out

    def item_metrics(
        self, run_id: str, rung: str, task: str, setting: str
    ) -> list[dict[str, float]]:
        out: list[dict[str, float]] = self._call("item_metrics", run_id, rung, task, setting)
        return out

    def update_rung(self, run_id: str, label: str, **fields: Any) -> None:
        self.send(("update_rung", fields))

    def put_records(self, records: list[ItemRecord]) -> int:
        batch = list(records)
        self.send(("put", batch))
        return len(batch)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker if the runner dies: no orphan keeps a GPU busy."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the runner died before prctl took effect
        os._exit(1)


def serve(conn: Connection) -> None:
    """The worker process's entry point: read the job (after the import path), do it, exit."""
    job, parent = conn.recv()
    _die_with_parent(parent)
    # The worker has its own session (no Ctrl+C from the terminal); only the runner stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if isinstance(job, Call):
        _route(job.log_path, f"=== emergetui {job.what or job.name} pid {os.getpid()} ===")
        _serve_call(job, LinkStore(conn))
        return
    _route(
        job.log_path,
        f"=== emergetui run {job.run_id} rung {job.rung} attempt {job.attempt} "
        f"pid {os.getpid()} ===",
    )
    link = LinkStore(conn)

    def emit(event: Event) -> None:
        link.send(("event", event))

    def note(what: str | Fit) -> None:
        link.send(("note", what))

    try:
        job = _stream_every_item(job)
        outcome: Outcome = execute(job, link, emit, check=lambda: None, note=note)
        link.send(("done", outcome))
    except BaseException as e:  # noqa: BLE001 - reported to the runner, then the process ends
        traceback.print_exc(file=sys.stderr)
        with contextlib.suppress(OSError, ValueError):
            link.send(("crash", f"{type(e).__name__}: {e}"))
        sys.stderr.flush()
        os._exit(1)
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _route(log_path: str, header: str) -> None:
    if log_path:
        from emergetui.engine.log import route_native_log

        route_native_log(Path(log_path), header)


def _serve_call(call: Call, link: LinkStore) -> None:
    try:
        fn = getattr(importlib.import_module(call.module), call.name)
        link.send(("result", fn(*call.args, **call.kwargs)))
    except BaseException as e:  # noqa: BLE001 - reported to the runner, then the process ends
        traceback.print_exc(file=sys.stderr)
        with contextlib.suppress(OSError, ValueError):
            link.send(("crash", f"{type(e).__name__}: {e}"))
        sys.stderr.flush()
        os._exit(1)


def _stream_every_item(job: RungJob) -> RungJob:
    """The worker sends each finished item at once; the runner keeps the job's commit interval."""
    from dataclasses import replace

    return replace(job, commit_every_s=0.0)


__all__ = ["LinkStore", "serve"]
