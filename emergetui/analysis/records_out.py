"""Per-item records to a JSON Lines file: the writer of ``emergetui export``.

It sits beside its reader (:mod:`emergetui.analysis.records_in`) so that the two
agree on one layout and one :data:`~emergetui.analysis.records_in.RECORDS_VERSION`:
every line carries ``version``, and the reader refuses a version it does not
know instead of guessing at renamed fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from emergetui.analysis.records_in import RECORDS_VERSION

if TYPE_CHECKING:
    from emergetui.store.stored_run import StoredRun


def record_lines(run: StoredRun) -> Iterator[dict[str, Any]]:
    """One object per stored item: the raw material and the metrics, plus what ``analyze``
    needs to judge the rows without the store (the rung's size and held-out loss, chance
    levels, the task's declared metrics)."""
    rungs = {g.label: g for g in run.rungs}
    chance = {(t.task, t.setting): t.chance for t in run.tasksets}
    listed = run.listed
    ladder = run.config.get("ladder")
    for r in run.records:
        g = rungs.get(r.rung)
        yield {
            "version": RECORDS_VERSION,
            "run_id": r.run_id,
            "ladder": ladder,
            "rung": r.rung,
            "params": g.params if g else None,
            "heldout": g.heldout if g else None,
            "rung_status": g.status if g else None,
            "chance": chance.get((r.task, r.setting), {}),
            "task_metrics": listed.get((r.task, r.setting), []),
            "task": r.task,
            "setting": r.setting,
            "shots": r.shots,
            "item_id": r.item_id,
            "item_hash": r.item_hash,
            "model_sha256": r.model_sha256,
            "prompt": r.prompt,
            "choices": r.choices,
            "target_scores": r.target_scores,
            "targets": r.targets,
            "raw": r.raw.to_dict(),
            "metrics": r.metrics,
            "error": r.error,
        }


def write_records(run: StoredRun, out: TextIO) -> int:
    """Write :func:`record_lines` to ``out``; returns the number of lines."""
    n = 0
    for line in record_lines(run):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        n += 1
    return n
