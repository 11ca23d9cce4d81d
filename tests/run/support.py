"""Helpers of the worker-process tests: a GGUF that makes llama.cpp abort, finding a run's workers.

Why /proc and not an event: the lab and CLI tests start real processes and must find the
rung's worker from outside, as an operator (or the out-of-memory killer) would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from tests.conftest import write_tiny

#: The line the worker runs (see emergetui.run.supervise.BOOT): how a worker is recognised.
WORKER_MARK = b"from emergetui.run.worker import serve"


@contextmanager
def _extra_kv(key: str, value: int) -> Iterator[None]:
    import gguf

    orig = gguf.GGUFWriter.add_name

    def add_name(self: gguf.GGUFWriter, name: str) -> None:
        orig(self, name)
        self.add_uint32(key, value)

    with mock.patch.object(gguf.GGUFWriter, "add_name", add_name):
        yield


def write_aborting_gguf(path: Path) -> Path:
    """A tiny llama that says two experts are used per token but has none.

    Its header parses (emergetui's GGUF reader and fitting accept it), but
    llama.cpp's hyper-parameter loading asserts ``n_expert_used_max <= n_expert``
    (``GGML_ASSERT`` in llama-model.cpp) and calls ``abort()``: a real llama.cpp
    abort reached from nothing but a model file.
    """
    with _extra_kv("llama.expert_used_count", 2):
        return write_tiny(path, seed=3)


def _ppid_and_cmdline(pid: int) -> tuple[int, bytes] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields start after the last ')'
    return int(stat.rsplit(")", 1)[1].split()[1]), cmd


def worker_pids(parent: int | None = None) -> list[int]:
    """Pids of the rung workers whose parent is ``parent`` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _ppid_and_cmdline(int(entry))
            if info is not None and info[0] == parent and WORKER_MARK in info[1]:
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(cond: object, timeout: float = 60.0, every: float = 0.005) -> float:
    """Poll ``cond()`` until true; return the seconds it took (fails after ``timeout``)."""
    t0 = time.monotonic()
    while not cond():  # type: ignore[operator]
        assert time.monotonic() - t0 < timeout, f"timed out after {timeout}s waiting for {cond}"
        time.sleep(every)
    return time.monotonic() - t0
