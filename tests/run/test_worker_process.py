"""The runner's own process: no llama.cpp in it, flat memory across rungs, cancel mid-rung.

These run the real ``emergetui`` in a child process where what is measured
is that process itself (its modules, its resident memory, its reaction to
Ctrl+C), and find its rung workers from outside through /proc.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emergetui.run import events as ev
from emergetui.run.runner import Runner
from emergetui.store.results import Store
from tests.reliability.support import (
    batch_args,
    child_env,
    compare_rows,
    count_by_rung,
    integrity,
    item_rows,
    spawn_cli,
)
from tests.run.conftest import TOTAL, Rows, config_of
from tests.run.support import alive, wait_for, worker_pids

# The batch CLI on the bundled 7-rung toy ladder, resident memory noted at the end of each rung
# (the display is wrapped on the test's side: nothing in the product is told it is measured).
MEASURE = """
import json, sys
import emergetui.cli.batch as batch
from emergetui.run.events import RungFinished

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

per_rung = []
make = batch.make_display
def measured(json_mode):
    d = make(json_mode)
    handle = d.handle
    def h(e):
        handle(e)
        if isinstance(e, RungFinished):
            per_rung.append(rss())
    d.handle = h
    return d
batch.make_display = measured
from emergetui.cli import main
code = main(["--batch", "--store", sys.argv[1], "--json"])
llama = sorted(m for m in sys.modules if m.startswith(("llama_cpp", "emergetui.engine")))
print(json.dumps({"code": code, "rss": per_rung, "llama": llama}), file=sys.stderr)
"""


def test_the_runner_never_imports_llama_cpp_and_its_memory_stays_flat(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "toy.sqlite")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr[-2000:]
    assert report["llama"] == []  # neither llama_cpp nor emergetui's engine, ever
    rss = report["rss"]
    print("runner RSS per rung (MB):", [round(r / (1 << 20), 1) for r in rss])
    assert len(rss) == 7
    # each rung's model, KV cache and allocator arenas left with its worker: after the first
    # rung (imports, first JSON documents) the runner's own memory does not grow with the ladder
    assert max(rss[1:]) - rss[1] < 8 << 20, [r >> 20 for r in rss]


def test_ctrl_c_stops_the_worker_mid_rung_and_a_rerun_resumes(
    tmp_path: Path,
    ladder3: Path,
    big_task: Path,
    clean_rows: Rows,
    record_property: pytest.RecordProperty,
) -> None:
    store = tmp_path / "s.sqlite"
    args = batch_args(ladder3, big_task, store)
    cli = spawn_cli(args, child_env(tmp_path), tmp_path, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(worker_pids(cli.pid)) == 1 or cli.poll() is not None)
        wait_for(lambda: _rows(store).get("mid", 0) > 0 or cli.poll() is not None)
        (worker,) = worker_pids(cli.pid)  # the middle rung's worker, scoring
        partial = _rows(store).get("mid", 0)
        assert 0 < partial < TOTAL
        cli.send_signal(signal.SIGINT)  # what Ctrl+C sends to the foreground process
        t0 = time.monotonic()
        wait_for(lambda: not alive(worker), timeout=60, every=0.001)
        latency = time.monotonic() - t0
        assert cli.wait(30) == 130
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    record_property("ctrl_c_latency_s", latency)
    # how fast is a figure (recorded above), not an assertion: a loaded machine stretches it; the
    # behaviour is that the worker is ended mid-rung, not waited for (the counts below)
    print(f"Ctrl+C to worker gone: {latency:.3f}s")
    assert integrity(store) == "ok"
    rows = item_rows(store)
    assert count_by_rung(rows)["small"] == TOTAL and 0 < count_by_rung(rows)["mid"] < TOTAL
    compare_rows(rows, clean_rows)  # what was stored before the cancel is exactly right

    with Store(store) as st:
        events = list(Runner(config_of(ladder3, big_task), st).events())
    assert [e.rung for e in events if isinstance(e, ev.ModelLoaded)] == ["mid", "large"]
    rows = item_rows(store)
    assert set(rows) == set(clean_rows)
    compare_rows(rows, clean_rows, exact_rungs={"small", "large"})


def test_cancel_from_another_thread_ends_the_worker_mid_scoring(
    tmp_path: Path, ladder3: Path, big_task: Path, record_property: pytest.RecordProperty
) -> None:
    """What the lab's cancel does: ``Runner.cancel()`` while the rung's worker is decoding."""
    with Store(tmp_path / "s.sqlite") as store:
        runner = Runner(config_of(ladder3, big_task), store, commit_every_s=0.0)
        pid, seen, latency = 0, 0, None
        events = []
        for e in runner.events():
            events.append(e)
            if isinstance(e, ev.WorkerStarted):
                pid = e.pid
            if isinstance(e, ev.ItemsDone) and e.rung == "small":
                seen = e.n_done
                if seen >= 50 and latency is None:
                    t0 = time.monotonic()
                    runner.cancel()
                    wait_for(lambda p=pid: not alive(p), timeout=60, every=0.001)
                    latency = time.monotonic() - t0
        stored = count_by_rung(item_rows(store.path))
    record_property("cancel_latency_s", latency)
    print(f"Runner.cancel() to worker gone: {latency}s")
    assert latency is not None  # a figure (recorded above), not a bound: load stretches it
    assert isinstance(events[-1], ev.RunFinished) and events[-1].cancelled
    # every item the front end was told about is stored (and more may be: sent, not yet shown)
    assert seen <= stored["small"] < TOTAL


def _rows(store: Path) -> dict[str, int]:
    if not store.exists():
        return {}
    import sqlite3

    try:
        with sqlite3.connect(store, timeout=5) as con:
            return dict(con.execute("SELECT rung, COUNT(*) FROM items GROUP BY rung").fetchall())
    except sqlite3.Error:
        return {}
