"""Coalescing runner events: few UI posts, nothing lost, downloads deduplicated, the end
never held back."""

from __future__ import annotations

import threading

from emergetui.run import events as ev
from emergetui.tui.pump import EventPump


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _items(n: int) -> ev.ItemsDone:
    return ev.ItemsDone("a", "t", "s", n, 1000, {"exact_match": (1.0,)})


def test_bursts_are_batched_and_every_item_arrives_in_order() -> None:
    clock = Clock()
    batches: list[tuple[object, ...]] = []
    pump = EventPump(batches.append, interval_s=0.1, clock=clock)
    for i in range(1000):  # 1000 events within one second
        clock.t = i / 1000
        pump.add(_items(i))
    pump.flush(force=True)
    assert len(batches) <= 12  # ~10 posts per second, not 1000
    got = [e.n_done for b in batches for e in b]  # type: ignore[attr-defined]
    assert got == list(range(1000))


def test_timer_flush_respects_the_interval_and_force_does_not() -> None:
    clock = Clock()
    batches: list[tuple[object, ...]] = []
    pump = EventPump(batches.append, interval_s=0.1, clock=clock)
    pump.add(_items(1))  # first event goes out at once
    pump.add(_items(2))
    pump.flush()
    assert len(batches) == 1 and pump.pending == 1
    clock.t = 0.2
    pump.flush()  # the UI timer, once the runner is quiet
    assert len(batches) == 2 and pump.pending == 0


def test_download_progress_keeps_only_the_latest_per_file() -> None:
    clock = Clock()
    batches: list[tuple[object, ...]] = []
    pump = EventPump(batches.append, interval_s=0.1, clock=clock)
    pump.add(ev.LogMessage("info", "start"))
    for n in range(50):
        pump.add(ev.DownloadProgress("a", "f.gguf", n, 100, 1.0, 1.0))
        pump.add(ev.DownloadProgress("a", "g.gguf", n, 100, 1.0, 1.0))
    pump.flush(force=True)
    rest = [e for b in batches[1:] for e in b]
    assert [(e.file, e.downloaded) for e in rest] == [("f.gguf", 49), ("g.gguf", 49)]  # type: ignore[attr-defined]


def test_run_finished_is_posted_immediately() -> None:
    clock = Clock()
    batches: list[tuple[object, ...]] = []
    pump = EventPump(batches.append, interval_s=10.0, clock=clock)
    pump.add(_items(1))
    pump.add(_items(2))
    pump.add(ev.RunFinished("r", 1.0))
    assert isinstance(batches[-1][-1], ev.RunFinished) and pump.pending == 0


def test_two_threads_flushing_lose_nothing() -> None:
    batches: list[tuple[object, ...]] = []
    lock = threading.Lock()

    def post(b: tuple[object, ...]) -> None:
        with lock:
            batches.append(b)

    pump = EventPump(post, interval_s=0.0)
    stop = threading.Event()

    def ui_timer() -> None:
        while not stop.is_set():
            pump.flush()

    t = threading.Thread(target=ui_timer)
    t.start()
    for i in range(5000):
        pump.add(_items(i))
    stop.set()
    t.join()
    pump.flush(force=True)
    assert sorted(e.n_done for b in batches for e in b) == list(range(5000))  # type: ignore[attr-defined]
