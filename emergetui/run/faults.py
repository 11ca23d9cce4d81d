"""Why a rung's worker died, in words: the signal, where it was, what llama.cpp last said.

A crashed worker leaves three clues: its exit status (a signal number, or 1
after a Python exception it reported), the last progress it reported (the
phase and the task), and its llama.cpp log, which holds both the callback's
lines and whatever llama.cpp wrote to stderr before ``abort()``. Together they
make a message a user can act on ("killed by SIGKILL — likely the
out-of-memory killer — while scoring arith [shots=0] (120 of 400 items
stored)"), and decide whether a retry with less memory is worth it.
"""

from __future__ import annotations

import os
import re
import signal
from collections import deque
from dataclasses import dataclass
from pathlib import Path

#: How many of llama.cpp's last log lines a failure message quotes.
TAIL_LINES = 8

_SIGNAL_WORDS = {
    signal.SIGKILL: "killed by SIGKILL — likely the out-of-memory killer —",
    signal.SIGSEGV: "crashed with SIGSEGV (a segmentation fault inside llama.cpp)",
    signal.SIGABRT: "aborted with SIGABRT (llama.cpp gave up: a failed check or a device error)",
    signal.SIGBUS: "crashed with SIGBUS (the model file changed or could not be read)",
    signal.SIGFPE: "crashed with SIGFPE (an arithmetic fault)",
    signal.SIGILL: "crashed with SIGILL (an instruction this CPU lacks: a build for another CPU?)",
    signal.SIGTERM: "terminated by SIGTERM",
}
# ggml prints a backtrace through gdb after a failed assertion: useful in the file, noise in a
# one-screen message, where the assertion itself must be the last line quoted.
_NOISE = re.compile(
    r"^(#\d+\s|\d+\s|\[(New |Inferior|Thread debugging)|warning: File |To enable execution|"
    r"\s*add-auto-load|line to your configuration|To completely disable|\s*set auto-load|"
    r"For more information about|\s*info \"\(gdb\)|Using host libthread_db|"
    r"warning: could not find|Downloading separate debug|\"Auto-loading safe path|0x[0-9a-f]+ in )"
)
_OOM_WORDS = ("out of memory", "cudamalloc failed", "failed to allocate", "std::bad_alloc")


@dataclass(frozen=True)
class Death:
    """How a worker ended without reporting a result."""

    exitcode: int | None
    stalled_s: float | None = None  # set when the runner ended it for making no progress
    exception: str = ""  # the Python exception it reported, if any
    where: str = ""  # its last reported phase and progress


def how(death: Death) -> str:
    if death.stalled_s is not None:
        return f"stopped: no progress for {death.stalled_s:g}s (the stall timeout)"
    if death.exception:
        return f"raised {death.exception}"
    code = death.exitcode
    if code is not None and code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"killed by signal {-code}"
        return _SIGNAL_WORDS.get(sig, f"killed by {sig.name}")
    if code is None:
        return "did not end"
    return f"exited with status {code} without a result"


def describe_death(death: Death, log: Path | None, log_start: int = 0) -> tuple[str, list[str]]:
    """The failure message, and the tail of llama.cpp's log it quotes."""
    text = f"worker {how(death)}"
    if death.where:
        text += f" while {death.where}"
    tail = log_tail(log, log_start) if log is not None else []
    if log is not None:
        text += f"; llama.cpp log: {log}"
    if tail:
        text += "\n    " + "\n    ".join(tail)
    return text, tail


def looks_oom(death: Death, tail: list[str]) -> bool:
    """Out of memory: the OOM killer's SIGKILL, or llama.cpp saying so (a CUDA allocation)."""
    if death.exitcode == -signal.SIGKILL and death.stalled_s is None:
        return True
    said = " ".join(tail).lower() + " " + death.exception.lower()
    return any(w in said for w in _OOM_WORDS)


def log_tail(path: Path, start: int = 0, n_lines: int = TAIL_LINES) -> list[str]:
    """The last ``n_lines`` non-empty lines written to ``path`` after byte offset ``start``."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(start, size - (256 << 10)))
            data = f.read()
    except OSError:
        return []
    lines: deque[str] = deque(maxlen=n_lines)
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if raw.strip() and not _NOISE.match(raw):
            lines.append(raw.rstrip())
    return list(lines)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_path(store_path: Path, run_id: str, index: int, rung: str) -> Path:
    """Where llama.cpp's log of one rung of one run goes: ``logs/`` next to the store.

    With the default store that is the platform's data directory
    (``~/.local/share/emergetui/logs/RUN/`` on Linux).
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in rung)
    return log_dir(store_path, run_id) / f"{index + 1:02d}-{safe}.log"


def log_dir(store_path: Path, run_id: str) -> Path:
    return Path(store_path).resolve().parent / "logs" / run_id


__all__ = ["Death", "describe_death", "file_size", "how", "log_dir", "log_path", "log_tail"]
