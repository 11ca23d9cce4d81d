"""Batching runner events for the UI thread: at most ~10 posts a second, nothing lost.

A fast rung emits hundreds of ``ItemsDone`` and ``DownloadProgress`` events a
second; posting each as a message would redraw the plot for every one and
starve the UI thread. The pump keeps them in order in a buffer and hands the
buffer over as one batch when ``interval_s`` has passed. ``ItemsDone`` events
are never dropped (their values feed the curves); a ``DownloadProgress``
replaces the previous one of the same file still waiting in the buffer.

Both threads may call :meth:`flush`: the worker after each event, and a UI
timer so that a batch does not sit in the buffer while the runner is quiet
(loading a model, generating a long answer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from emergetui.run.events import DownloadProgress, RunFinished


class EventPump:
    def __init__(
        self,
        post: Callable[[tuple[object, ...]], object],
        interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._buffer: list[object] = []
        self._last = -float("inf")
        self.batches_posted = 0

    def add(self, item: object) -> None:
        with self._lock:
            if isinstance(item, DownloadProgress):
                for i in range(len(self._buffer) - 1, -1, -1):
                    old = self._buffer[i]
                    if isinstance(old, DownloadProgress) and (old.rung, old.file) == (
                        item.rung,
                        item.file,
                    ):
                        del self._buffer[i]
                        break
            self._buffer.append(item)
            urgent = isinstance(item, RunFinished)
        self.flush(force=urgent)

    def flush(self, force: bool = False) -> None:
        """Post the buffer as one batch if the interval has passed (or ``force``)."""
        with self._lock:
            if not self._buffer:
                return
            now = self._clock()
            if not force and now - self._last < self.interval_s:
                return
            batch, self._buffer = tuple(self._buffer), []
            self._last = now
            self.batches_posted += 1
        self._post(batch)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)
