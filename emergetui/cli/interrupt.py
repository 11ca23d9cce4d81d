"""Ctrl+C in the batch mode: a cancel of the run, not an exception thrown wherever Python was.

Python's default SIGINT handler raises ``KeyboardInterrupt`` in the main thread at
the next bytecode. When that bytecode belongs to a finaliser or a callback from C,
the exception is reported as "ignored" and the interrupt is lost: the run goes on
to its end. So the first Ctrl+C only asks the run to stop (the runner ends the
rung's worker at once, stores what was finished and says the run was cancelled),
from a short thread, because the handler may have interrupted the main thread
while it held one of the session's locks; a second Ctrl+C leaves at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...

    @property
    def cancel_requested(self) -> bool: ...


@contextmanager
def cancel_on_ctrl_c(session: Cancellable) -> Iterator[None]:
    """While inside, SIGINT cancels ``session``; the handler in place before is restored."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; elsewhere Ctrl+C is not ours
        return

    def interrupt(signum: int, frame: Any) -> None:
        if session.cancel_requested:
            raise KeyboardInterrupt
        threading.Thread(target=session.cancel, name="emergetui-cancel", daemon=True).start()

    before = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
