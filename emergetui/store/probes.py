"""The probe pass's rows (``--probe``): one per (run, rung, task, setting, kind, layer).

Curves have ``layer >= 0``, per-rung scalars ``layer = -1``. The table lives in
the run's own file beside the item rows, so a report reads everything from one
file; ``probe/store.py`` turns these rows into :class:`ProbeResult` objects.
Saving a (rung, task, setting) replaces its earlier rows: a rerun is idempotent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from emergetui.store.results import Store


@dataclass(frozen=True)
class ProbeRow:
    rung: str
    task: str
    setting: str
    kind: str
    layer: int
    value: float
    """NaN where the stored value is NULL (SQLite keeps no NaN)."""
    n: int


def save_probe_rows(
    store: Store,
    run_id: str,
    rows: Iterable[ProbeRow],
    replace: Iterable[tuple[str, str, str]] = (),
) -> int:
    """Write rows in one transaction, first deleting the earlier rows of each (rung, task,
    setting) they hold or ``replace`` names; returns the rows written."""
    rows = list(rows)
    groups = {(r.rung, r.task, r.setting) for r in rows} | set(replace)
    with store._tx() as db:  # the package's own connection: one transaction for the group
        for rung, task, setting in sorted(groups):
            db.execute(
                "DELETE FROM probe_results WHERE run_id=? AND rung=? AND task=? AND setting=?",
                (run_id, rung, task, setting),
            )
        db.executemany(
            "INSERT INTO probe_results VALUES (?,?,?,?,?,?,?,?)",
            [
                (run_id, r.rung, r.task, r.setting, r.kind, r.layer, _num(r.value), r.n)
                for r in rows
            ],
        )
    return len(rows)


def probe_rows(store: Store, run_id: str, task: str | None = None) -> list[ProbeRow]:
    sql = "SELECT rung, task, setting, kind, layer, value, n FROM probe_results WHERE run_id=?"
    args: tuple[str, ...] = (run_id,)
    if task is not None:
        sql += " AND task=?"
        args += (task,)
    return [
        ProbeRow(
            rung, tsk, setting, kind, int(layer), math.nan if v is None else float(v), int(n or 0)
        )
        for rung, tsk, setting, kind, layer, v, n in store._db.execute(sql, args)
    ]


def _num(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None
