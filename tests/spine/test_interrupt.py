"""Ctrl+C in the batch mode cancels the run (a flag the runner polls), so it cannot be lost in a
finaliser the way a ``KeyboardInterrupt`` can; the second one leaves at once."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from emergetui.cli.interrupt import cancel_on_ctrl_c


class Session:
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    @property
    def cancel_requested(self) -> bool:
        return self.cancelled.is_set()


def test_first_ctrl_c_cancels_second_interrupts_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    session = Session()
    with cancel_on_ctrl_c(session):
        os.kill(os.getpid(), signal.SIGINT)  # handled in this (main) thread, at once
        assert session.cancelled.wait(10), "the first Ctrl+C did not cancel the session"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            threading.Event().wait(10)  # the handler raises here, well before the timeout
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def body() -> None:
        with cancel_on_ctrl_c(Session()):
            seen.append(signal.getsignal(signal.SIGINT))

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert seen == [before]
