"""Crash safety: a batch run killed with SIGKILL at random points, then rerun, loses and duplicates
nothing.

Each seed starts the real ``emergetui --batch`` in a child process and kills
it with SIGKILL (no handler, no cleanup: what a power cut or the OOM killer
does) either after the store holds a random number of rows or after a random
number of progress lines plus a random delay. Some seeds kill twice. After
each kill the store must pass ``PRAGMA integrity_check`` and every row in it
must equal the clean run's row; the final rerun must complete the run with
every item stored exactly once and the same results as the clean run.

"The same" is bit-identical for every rung whose rows were all computed by a
process that started that rung from scratch. A rung that was cut half way is
finished by the rerun with a different pending set, so llama.cpp packs other
requests next to each item and the float sums come out in another order; those
rows may differ by at most the engine's documented packing tolerance (1e-4
nats, measured ~1e-5), and every non-float (tokens, greedy flags, generated
text, ids) must still be identical. The measured difference is recorded as
the ``max_resume_logprob_diff`` property of the test.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from emergetui.cli import main

from .conftest import CleanRun
from .support import (
    batch_args,
    child_env,
    compare_rows,
    count_by_rung,
    cpus,
    integrity,
    item_rows,
    max_float_diff,
    spawn_cli,
)

TOTAL_PER_RUNG = 40
CHILD_TIMEOUT_S = 120.0


def _stored_count(
    con: sqlite3.Connection | None, db: Path
) -> tuple[sqlite3.Connection | None, int]:
    """Rows committed so far, read while the child writes (WAL readers never block the writer)."""
    if con is None:
        if not db.exists():
            return None, 0
        con = sqlite3.connect(str(db), timeout=5)
    try:
        return con, int(con.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    except sqlite3.Error:  # schema not created yet
        return con, 0


def kill_at_random_point(
    args: list[str], tmp: Path, store: Path, trigger: str, rng: random.Random, cpu: int
) -> str:
    """Run one child and SIGKILL it at a point drawn from ``rng``; return a description of the
    point.

    ``trigger="rows"``: once the store holds a random number of rows, with the
    child committing after every wave (many more transactions to land in);
    ``"lines"``: a random delay after a random progress line, stock CLI.
    """
    by_rows = trigger == "rows"
    env = child_env(tmp, cpu=cpu, commit_every_wave=by_rows)
    proc = spawn_cli(args, env, tmp)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    con: sqlite3.Connection | None = None
    try:
        if by_rows:
            want = rng.randint(1, 2 * TOTAL_PER_RUNG - 1)
            point = f"after >= {want} stored rows"
            n = 0
            while proc.poll() is None and n < want and time.monotonic() < deadline:
                con, n = _stored_count(con, store)
                time.sleep(0.003)
        else:
            want, delay = rng.randint(1, 10), rng.uniform(0.0, 0.6)
            point = f"{delay:.2f}s after progress line {want}"
            seen = 0
            while seen < want and proc.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    lines.get(timeout=0.05)
                    seen += 1
            time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=30)
    finally:
        if con is not None:
            con.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = "".join(lines.get_nowait() for _ in range(lines.qsize()))
    assert time.monotonic() < deadline, f"child never reached the kill point ({point}):\n{said}"
    assert code in (-signal.SIGKILL, 0), (
        f"child died on its own with {code} before {point}:\n{said}"
    )
    return point + ("" if code else " (the run had already finished)")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "triggers"), [(0, ("rows",)), (1, ("lines",)), (2, ("rows", "lines"))]
)
def test_sigkill_then_rerun_gives_the_clean_result(
    seed: int,
    triggers: tuple[str, ...],
    tmp_path: Path,
    tiny_ladder: Path,
    mix_task: Path,
    clean_run: CleanRun,
    record_property: pytest.RecordProperty,
) -> None:
    rng = random.Random(seed)
    store = tmp_path / "crash.sqlite"
    args = batch_args(tiny_ladder, mix_task, store)
    resumed: set[str] = set()  # rungs that some process had to finish from a partial state
    points = []
    for k, trigger in enumerate(triggers):
        points.append(
            kill_at_random_point(
                args, tmp_path, store, trigger, rng, cpus()[(seed + k) % len(cpus())]
            )
        )
        if not store.exists():
            continue
        assert integrity(store) == "ok", points
        rows = item_rows(store)
        assert {key[0] for key in rows} <= {clean_run.run_id}
        exact = {"small", "large"} - resumed
        compare_rows(rows, clean_run.rows, exact_rungs=exact)
        resumed |= {r for r, n in count_by_rung(rows).items() if 0 < n < TOTAL_PER_RUNG}

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(args) == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    assert doc["run_id"] == clean_run.run_id
    assert integrity(store) == "ok"
    rows = item_rows(store, clean_run.run_id)
    assert set(rows) == set(clean_run.rows), (
        points
    )  # every item, each once (item_rows checks "once")
    with sqlite3.connect(str(store)) as con:
        assert con.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2 * TOTAL_PER_RUNG
        assert con.execute("SELECT status FROM runs").fetchall() == [("done",)]
        assert sorted(con.execute("SELECT label, status, error FROM rungs").fetchall()) == [
            ("large", "done", None),
            ("small", "done", None),
        ]
    worst = compare_rows(rows, clean_run.rows, exact_rungs={"small", "large"} - resumed)
    record_property("kill_points", "; ".join(points))
    record_property("max_resume_logprob_diff", worst)
    if not resumed:
        assert doc == clean_run.doc
    else:
        assert max_float_diff(doc["results"], clean_run.doc["results"]) <= 1e-4
