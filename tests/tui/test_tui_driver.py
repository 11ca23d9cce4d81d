"""The worker-side driver: messages it posts, errors it reports, cancellation it relays."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from textual.message import Message

from emergetui.run import events as ev
from emergetui.run.runner import RunConfig
from emergetui.store.results import Store
from emergetui.tui.driver import RunDriver
from emergetui.tui.live import SettledTask
from emergetui.tui.messages import RunEnded, RunnerBatch, RunPrepared
from tests.tui.conftest import LabChoices


class FakeRunner:
    """Stands in for Runner: scripted events, and a cancel flag that ends the script early."""

    def __init__(self, config: RunConfig, store: Store) -> None:
        self.run_id = config.run_id()
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    def events(self) -> Iterator[ev.Event]:
        yield ev.RunStarted(
            self.run_id, "tiny", (ev.PlannedRung("a", 20000, "a.gguf"),), (("t", "s"),)
        )
        yield ev.TaskStarted("a", "t", "s", 2, 0)
        yield ev.ItemsDone("a", "t", "s", 2, 2, {"exact_match": (0.0, 1.0)})
        yield ev.TaskFinished("a", "t", "s", {"exact_match": 0.5}, 2)
        yield ev.RunFinished(self.run_id, 0.1, cancelled=self.cancelled.is_set())


def _drive(args: LabChoices, **kw: object) -> list[Message]:
    posted: list[Message] = []
    driver = RunDriver(args.spec, args.store, posted.append, runner_factory=FakeRunner, **kw)  # type: ignore[arg-type]
    driver.drive()
    return posted


def test_posts_prepared_batches_in_order_and_ended(lab_args: LabChoices) -> None:
    posted = _drive(lab_args)
    assert isinstance(posted[0], RunPrepared)
    assert posted[0].tasks == [("arith-1digit-add", "shots=0"), ("arith-1digit-add", "shots=1")]
    items = [i for m in posted if isinstance(m, RunnerBatch) for i in m.items]
    kinds = [type(i).__name__ for i in items]
    assert kinds == [
        "RunStarted",
        "TaskStarted",
        "ItemsDone",
        "TaskFinished",
        "SettledTask",
        "RunFinished",
    ]
    settled = items[4]
    assert isinstance(settled, SettledTask) and settled.rung == "a"
    end = posted[-1]
    assert (
        isinstance(end, RunEnded)
        and end.run_id == posted[0].run_id
        and not end.cancelled
        and end.error is None
    )


def test_build_errors_end_the_run_with_a_message(lab_args: LabChoices) -> None:
    posted = _drive(lab_args.with_spec(ladder="no-such-ladder"))
    assert len(posted) == 1 and isinstance(posted[0], RunEnded)
    assert posted[0].run_id is None and "unknown ladder" in (posted[0].error or "")


def test_cancel_before_start_reaches_the_runner(lab_args: LabChoices) -> None:
    posted: list[Message] = []
    driver = RunDriver(lab_args.spec, lab_args.store, posted.append, runner_factory=FakeRunner)  # type: ignore[arg-type]
    driver.cancel()
    driver.drive()
    end = posted[-1]
    assert isinstance(end, RunEnded) and end.cancelled


def test_runner_crash_is_reported_not_raised(lab_args: LabChoices) -> None:
    class Crashing(FakeRunner):
        def events(self) -> Iterator[ev.Event]:
            yield ev.LogMessage("info", "hello")
            raise RuntimeError("disk on fire")

    posted: list[Message] = []
    RunDriver(lab_args.spec, lab_args.store, posted.append, runner_factory=Crashing).drive()  # type: ignore[arg-type]
    end = posted[-1]
    assert isinstance(end, RunEnded) and "disk on fire" in (end.error or "")
    assert any(isinstance(m, RunnerBatch) for m in posted)  # what came before the crash is shown
