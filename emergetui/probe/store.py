"""Probe results in the run's own store: :class:`ProbeResult` objects to and from table rows.

The table and its SQL belong to the store (``store/probes.py``); this module
flattens a result into rows (scalars at layer -1, curves at their layer) and
back, and computes the behavioural curve the probes are compared with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from emergetui.probe.result import ProbeResult
from emergetui.store.probes import ProbeRow, probe_rows, save_probe_rows
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun


def save_probe_results(
    store: Store | str | Path, run_id: str, results: Iterable[ProbeResult]
) -> int:
    """Write results (replacing earlier rows of the same rung/task/setting); returns rows
    written. ``store`` is a Store or its file."""
    results = list(results)
    groups = [(r.rung, r.task, r.setting) for r in results]
    rows = [
        ProbeRow(r.rung, r.task, r.setting, kind, layer, value, r.n)
        for r in results
        for kind, layer, value in [
            *((k, -1, v) for k, v in r.scalars.items()),
            *((k, i, v) for k, vals in r.curves.items() for i, v in enumerate(vals)),
        ]
    ]
    if isinstance(store, Store):
        return save_probe_rows(store, run_id, rows, groups)
    with Store(store) as opened:
        return save_probe_rows(opened, run_id, rows, groups)


def load_probe_results(
    store: Store | str | Path, run_id: str, task: str | None = None
) -> list[ProbeResult]:
    """All stored results of a run (optionally one task), ordered by task, setting, then model
    size. A store file that does not exist holds none (and is not created)."""
    if isinstance(store, Store):
        rows = probe_rows(store, run_id, task)
    elif not Path(store).exists():
        return []
    else:
        with Store(store) as opened:
            rows = probe_rows(opened, run_id, task)
    by_key: dict[tuple[str, str, str], ProbeResult] = {}
    for row in rows:
        key = (row.rung, row.task, row.setting)
        res = by_key.setdefault(key, ProbeResult(*key, row.n))
        if row.layer < 0:
            res.scalars[row.kind] = row.value
        else:
            curve = res.curves.setdefault(row.kind, [])
            curve.extend([math.nan] * (row.layer + 1 - len(curve)))
            curve[row.layer] = row.value
    return sorted(by_key.values(), key=lambda r: (r.task, r.setting, r.params, r.rung))


def behaviour_from_run(run: StoredRun) -> dict[tuple[str, str, str], float]:
    """The run's behavioural score per (rung, task, setting): the mean of each task's preferred
    metric.

    This is the curve the probes are to be compared with (pass it as
    ``behaviour`` to :func:`emergetui.probe.report.probe_report_markdown`);
    items with an error or without the metric are left out.
    """
    preferred = run.preferred
    sums: dict[tuple[str, str, str], list[float]] = {}
    for r in run.records:
        metric = preferred.get((r.task, r.setting))
        v = r.metrics.get(metric) if metric and not r.error else None
        if v is not None and math.isfinite(float(v)):
            sums.setdefault((r.rung, r.task, r.setting), []).append(float(v))
    return {k: sum(v) / len(v) for k, v in sums.items()}
