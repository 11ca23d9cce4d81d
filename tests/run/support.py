"""Helpers of the worker-process tests: a GGUF that makes llama.cpp abort, finding a run's workers.

Why /proc and not an event: the lab and CLI tests start real processes and must find the
rung's worker from outside, as an operator (or the out-of-memory killer) would.
"""

from __future__ import annotations

import json
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


def write_big_task(folder: Path, n_mc: int, n_gen: int) -> Path:
    """A BIG-bench task of ``n_mc`` distinct multiple-choice and ``n_gen`` generative items.

    Distinct inputs: the loader merges duplicate examples. Big enough that a
    tiny model is still scoring a second after it started.
    """
    folder.mkdir(parents=True, exist_ok=True)
    examples: list[dict[str, object]] = [
        {"input": f"{i} plus {i % 9}", "target_scores": {str(i + i % 9): 1, str(i + 10): 0}}
        for i in range(n_mc)
    ]
    examples += [{"input": f"{i} times 2", "target": str(2 * i)} for i in range(n_gen)]
    task = {
        "name": "big",
        "description": "worker fault fixture",
        "metrics": ["multiple_choice_grade", "exact_str_match"],
        "preferred_score": "multiple_choice_grade",
        "stop_string": "\n",
        "examples": examples,
    }
    (folder / "task.json").write_text(json.dumps(task), encoding="utf-8")
    toml = folder / "big.toml"
    toml.write_text(
        'name = "big"\nmax_tokens = 4\n[source]\ntype = "bigbench"\npath = "task.json"\n',
        encoding="utf-8",
    )
    return toml


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
