"""Probe results in the run's own SQLite file, in a table of their own.

One row per (run, rung, task, setting, kind, layer): curves have ``layer >= 0``,
per-rung scalars use ``layer = -1``. The table lives next to the item rows so a
report reads everything from one file, but it is created here, on first use,
so the results store's schema does not depend on the probes. Saving a result
replaces that (run, rung, task, setting)'s earlier rows: a rerun is idempotent.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from emergetui.probe.result import ProbeResult

if TYPE_CHECKING:
    from emergetui.run.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS probe_results (
    run_id TEXT, rung TEXT, task TEXT, setting TEXT, kind TEXT, layer INTEGER, value REAL,
    n INTEGER,
    PRIMARY KEY (run_id, rung, task, setting, kind, layer)
)
"""


class _HasPath(Protocol):
    path: Path


def _connect(store: str | Path | _HasPath, timeout_s: float = 60.0) -> sqlite3.Connection:
    path = store.path if hasattr(store, "path") else store  # a Store, or its file
    db = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    db.execute(SCHEMA)
    return db


def save_probe_results(
    store: str | Path | _HasPath, run_id: str, results: Iterable[ProbeResult]
) -> int:
    """Write results (replacing earlier rows of the same rung/task/setting); returns rows
    written."""
    db = _connect(store)
    written = 0
    try:
        db.execute("BEGIN IMMEDIATE")  # take the write lock first, as Store does: writers queue
        try:
            for r in results:
                db.execute(
                    "DELETE FROM probe_results WHERE run_id=? AND rung=? AND task=? AND setting=?",
                    (run_id, r.rung, r.task, r.setting),
                )
                rows = [(k, -1, v) for k, v in r.scalars.items()]
                rows += [(k, i, v) for k, vals in r.curves.items() for i, v in enumerate(vals)]
                db.executemany(
                    "INSERT INTO probe_results VALUES (?,?,?,?,?,?,?,?)",
                    [(run_id, r.rung, r.task, r.setting, k, i, _num(v), r.n) for k, i, v in rows],
                )
                written += len(rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.close()
    return written


def load_probe_results(
    store: str | Path | _HasPath, run_id: str, task: str | None = None
) -> list[ProbeResult]:
    """All stored results of a run (optionally one task), ordered by task, setting, then model
    size."""
    path = store.path if hasattr(store, "path") else Path(store)
    if not Path(path).exists():
        return []
    db = _connect(store)
    try:
        sql = "SELECT rung, task, setting, kind, layer, value, n FROM probe_results WHERE run_id=?"
        args: tuple[str, ...] = (run_id,)
        if task is not None:
            sql += " AND task=?"
            args += (task,)
        rows = db.execute(sql, args).fetchall()
    finally:
        db.close()
    by_key: dict[tuple[str, str, str], ProbeResult] = {}
    for rung, tsk, setting, kind, layer, value, n in rows:
        res = by_key.setdefault((rung, tsk, setting), ProbeResult(rung, tsk, setting, int(n or 0)))
        v = float("nan") if value is None else float(value)
        if layer < 0:
            res.scalars[kind] = v
        else:
            curve = res.curves.setdefault(kind, [])
            curve.extend([float("nan")] * (layer + 1 - len(curve)))
            curve[layer] = v
    return sorted(by_key.values(), key=lambda r: (r.task, r.setting, r.params, r.rung))


def _num(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def behaviour_from_store(store: Store, run_id: str) -> dict[tuple[str, str, str], float]:
    """The run's behavioural score per (rung, task, setting): the mean of each task's preferred
    metric.

    This is the curve the probes are to be compared with (pass it as
    ``behaviour`` to :func:`emergetui.probe.report.probe_report_markdown`);
    items with an error or without the metric are left out.
    """
    preferred = {(t.task, t.setting): t.preferred for t in store.tasksets(run_id)}
    sums: dict[tuple[str, str, str], list[float]] = {}
    for r in store.records(run_id):
        metric = preferred.get((r.task, r.setting))
        v = r.metrics.get(metric) if metric and not r.error else None
        if v is not None and math.isfinite(float(v)):
            sums.setdefault((r.rung, r.task, r.setting), []).append(float(v))
    return {k: sum(v) / len(v) for k, v in sums.items()}
