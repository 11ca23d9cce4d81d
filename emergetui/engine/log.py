"""llama.cpp's own log kept in a file: one per rung worker process.

Why the whole of stdout and stderr and not only the log callback: llama.cpp
says which backend it chose, how much memory it asked for and why a load
failed through its log callback (``llama_log_set``), but when it gives up —
``GGML_ABORT``, a failed ``GGML_ASSERT``, a CUDA error — it writes the reason
and a backtrace straight to stderr and calls ``abort()``. A rung's worker
process owns its file descriptors, so pointing fds 1 and 2 at the file keeps
both kinds of line, keeps them off the lab's screen, and survives the crash
(the kernel holds the bytes once written; nothing is buffered in the process).

The callback side: :class:`emergetui.engine.native._LogSink` installs the
``llama_log_set`` callback (and keeps the last lines to explain load errors)
and forwards every line to the ``emergetui.llama`` logger; the handler added
here writes each line to the file and flushes it at once.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

LOGGER = "emergetui.llama"


def route_native_log(path: Path, header: str = "") -> None:
    """Send this process's stdout, stderr and llama.cpp's log callback to ``path`` (appended)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for std in (1, 2):
            os.dup2(fd, std)
    finally:
        os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    if header:
        os.write(2, f"{header}\n".encode())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(LOGGER)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


__all__ = ["LOGGER", "route_native_log"]
