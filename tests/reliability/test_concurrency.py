"""Concurrency: several emergetui processes writing one store lose nothing and corrupt nothing.

The store relies on SQLite's own locking: WAL mode (readers never block the
writer), ``BEGIN IMMEDIATE`` for every write (the write lock is taken up front,
so two writers queue instead of deadlocking on a lock upgrade) and a busy
timeout (a writer waits for the lock instead of failing). These tests use
real processes, because locks between threads of one process are not what
users hit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from .conftest import CleanRun
from .support import (
    batch_args,
    child_env,
    compare_rows,
    connect,
    count_by_rung,
    cpus,
    integrity,
    item_rows,
    spawn_cli,
)


@pytest.mark.slow
def test_two_experiments_and_the_same_experiment_twice_at_once(
    tmp_path: Path, tiny_ladder: Path, mix_task: Path, clean_run: CleanRun
) -> None:
    """Three batch runs start together on a store that does not exist yet: experiment A twice
    (same run id: both write the same rows) and experiment B (another seed, another run id).
    Two of them commit after every wave, to interleave as many transactions as possible."""
    store = tmp_path / "shared.sqlite"
    a = batch_args(tiny_ladder, mix_task, store)
    b = batch_args(tiny_ladder, mix_task, store, "--seed", "1")
    cores = cpus()
    procs = [
        spawn_cli(a, child_env(tmp_path, cpu=cores[0]), tmp_path),
        spawn_cli(
            b, child_env(tmp_path, cpu=cores[1 % len(cores)], commit_every_wave=True), tmp_path
        ),
        spawn_cli(
            a, child_env(tmp_path, cpu=cores[2 % len(cores)], commit_every_wave=True), tmp_path
        ),
    ]
    errs = []
    for p in procs:
        _, err = p.communicate(timeout=300)
        errs.append(err)
        assert p.returncode == 0, err
    for err in errs:
        assert "Traceback" not in err and "locked" not in err, err

    assert integrity(store) == "ok"
    rows = item_rows(store)  # fails on any duplicate key
    by_run: dict[str, dict] = {}
    for key, row in rows.items():
        by_run.setdefault(key[0], {})[key] = row
    assert set(by_run) == {clean_run.run_id, next(r for r in by_run if r != clean_run.run_id)}
    run_a = by_run.pop(clean_run.run_id)
    (run_b,) = by_run.values()
    assert set(run_a) == set(clean_run.rows)
    # Whichever A process wrote a row last, it holds the right numbers (one process may
    # have resumed a rung the other had half done: packing tolerance, see test_crash).
    compare_rows(run_a, clean_run.rows, exact_rungs=set())
    assert count_by_rung(run_b) == {"small": 40, "large": 40}
    with connect(store) as con:
        assert sorted(s for (s,) in con.execute("SELECT status FROM runs")) == ["done", "done"]
        assert con.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 160
        assert con.execute("SELECT COUNT(*) FROM tasksets").fetchone()[0] == 2
        assert con.execute("SELECT COUNT(*) FROM rungs WHERE status='done'").fetchone()[0] == 4


WRITER = textwrap.dedent("""
    import sys
    from emergetui.tasks.records import ItemRaw, ItemRecord
    from emergetui.store.results import Store

    path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = Store(path, timeout_s=60)
    store.begin_run("r" + who, "lad", {"who": who})
    store.begin_run("shared", "lad", {})
    for i in range(n):
        own = [ItemRecord("r" + who, "g", "t", "s", f"{i}-{j}", "h", "m", "p" * 500, [], [], [],
                          ItemRaw(choice_logprobs=[[-0.5 * j]]), {"m": float(i)}) for j in range(3)]
        same = [ItemRecord("shared", "g", "t", "s", str(i), "h", "m", "p", [], [], [],
                           ItemRaw(), {"by": 0.0})]
        store.put_records(own + same)
        store.set_rung("r" + who, 0, "g", 1, "x", "y")
        store.update_rung("r" + who, "g", status=f"step {i}")
    store.set_run_status("r" + who, "done")
    print("ok")
""")


def test_store_writers_in_two_processes_queue_instead_of_failing(tmp_path: Path) -> None:
    """Two processes each commit 150 small transactions (own rows and rows of one shared run)
    while this process keeps reading: every row arrives, none twice, the file stays sound."""
    store, n = tmp_path / "s.sqlite", 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), who, str(n)],
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for who in ("a", "b")
    ]
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            time.sleep(0.01)
            if not store.exists():
                continue
            con = connect(store)
            try:
                if con.execute("SELECT 1 FROM sqlite_master WHERE name='items'").fetchone():
                    seen.append(con.execute("SELECT COUNT(*) FROM items").fetchone()[0])
            except Exception as e:  # noqa: BLE001 - any failed read is the test failing
                failures.append(repr(e))
            finally:
                con.close()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and out.strip() == "ok", err
    finally:
        stop.set()
        reader.join()
    assert not failures, failures
    assert seen and seen == sorted(
        seen
    )  # the reader saw whole commits only, and never a row vanish
    assert integrity(store) == "ok"
    with connect(store) as con:
        per_run = dict(con.execute("SELECT run_id, COUNT(*) FROM items GROUP BY run_id").fetchall())
        status = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        raws = {
            json.loads(r)["choice_logprobs"][0][0]
            for (r,) in con.execute("SELECT raw FROM items WHERE run_id='ra'")
        }
    assert per_run == {"ra": 3 * n, "rb": 3 * n, "shared": n}
    assert status == {"ra": "done", "rb": "done", "shared": "running"}
    assert raws == {0.0, -0.5, -1.0}
