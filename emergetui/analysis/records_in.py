"""Per-item records from a JSON Lines file: the input of ``emergetui analyze``.

The analysis needs no model, so results exported from another machine (or
produced by another tool) can be judged here. One JSON object per line:

* required: ``rung`` (label), ``params`` (positive number), ``task``,
  ``setting``, ``item_id``, ``metrics`` (``{name: number or null}``);
* ``version``: the layout's version, :data:`RECORDS_VERSION` (lines written before
  versions existed have none and are read as version 1; another number is refused);
* optional: ``chance`` (``{metric: level}``; a curve's level is the mean
  over its lines), ``raw`` (token log-probs, choices: an ``ItemRaw``),
  ``heldout`` (the rung's ``{"loss": ...}``), ``shots``, ``error``,
  ``choices``, ``target_scores``, ``targets``, ``prompt``, ``run_id``,
  ``ladder``.

``emergetui export`` (:mod:`emergetui.analysis.records_out`) writes exactly these fields, so export
then analyze gives the document of the original run. A bad line stops the
read with one error naming the file, the line and the field.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.errors import RecordsError
from emergetui.tasks.records import ItemRaw, ItemRecord

REQUIRED = ("rung", "params", "task", "setting", "item_id", "metrics")

RECORDS_VERSION = 1
"""The layout :mod:`~emergetui.analysis.records_out` writes and this module reads."""

__all__ = ["RECORDS_VERSION", "RecordsError", "RecordsInput", "read_records"]


@dataclass
class RecordsInput:
    """Everything read from the file: rows, rungs (with held-out numbers) and chance levels."""

    records: list[ItemRecord]
    rungs: list[dict[str, Any]]
    chance: dict[tuple[str, str, str], float]
    #: metrics each (task, setting) declares (optional ``task_metrics`` field): corpus metrics
    listed: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    run_id: str | None = None
    ladder: str | None = None
    sources: list[str] = field(default_factory=list)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(obj: dict[str, Any], name: str, where: str) -> str:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise RecordsError(f"{where}: field '{name}': expected a non-empty string, got {value!r}")
    return str(value)


def _parse_line(obj: Any, where: str) -> tuple[ItemRecord, int, dict[str, Any] | None, dict]:
    if not isinstance(obj, dict):
        raise RecordsError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    version = obj.get("version", 1)
    if version != RECORDS_VERSION or isinstance(version, bool):
        raise RecordsError(
            f"{where}: field 'version': records version {version!r} is not one this emergetui "
            f"reads (it reads version {RECORDS_VERSION}); export the run again with this "
            "emergetui, or analyse the file with the version that wrote it"
        )
    for name in REQUIRED:
        if name not in obj:
            raise RecordsError(f"{where}: field '{name}' is missing")
    params = obj["params"]
    if not _number(params) or not math.isfinite(params) or params <= 0:
        raise RecordsError(f"{where}: field 'params': expected a positive number, got {params!r}")
    metrics = obj["metrics"]
    if not isinstance(metrics, dict):
        raise RecordsError(f"{where}: field 'metrics': expected an object, got {metrics!r}")
    clean: dict[str, float] = {}
    for name, value in metrics.items():
        if value is None:
            continue
        if not _number(value):
            raise RecordsError(f"{where}: field 'metrics.{name}': expected a number, got {value!r}")
        clean[str(name)] = float(value)
    chance = obj.get("chance") or {}
    if not isinstance(chance, dict) or any(
        v is not None and not _number(v) for v in chance.values()
    ):
        raise RecordsError(f"{where}: field 'chance': expected {{metric: number}}, got {chance!r}")
    raw = obj.get("raw") or {}
    if not isinstance(raw, dict):
        raise RecordsError(f"{where}: field 'raw': expected an object, got {raw!r}")
    heldout = obj.get("heldout")
    if heldout is not None and (
        not isinstance(heldout, dict) or any(not _number(v) for v in heldout.values())
    ):
        raise RecordsError(f"{where}: field 'heldout': expected {{name: number}}, got {heldout!r}")
    shots = obj.get("shots", 0)
    if not isinstance(shots, int) or isinstance(shots, bool) or shots < 0:
        raise RecordsError(f"{where}: field 'shots': expected a count, got {shots!r}")
    error = obj.get("error")
    if error is not None and not isinstance(error, str):
        raise RecordsError(f"{where}: field 'error': expected a string or null, got {error!r}")
    try:
        raw_obj = ItemRaw.from_dict(raw)
    except TypeError as e:
        raise RecordsError(f"{where}: field 'raw': {e}") from None
    record = ItemRecord(
        run_id=str(obj.get("run_id") or ""),
        rung=_text(obj, "rung", where),
        task=_text(obj, "task", where),
        setting=_text(obj, "setting", where),
        item_id=_text(obj, "item_id", where),
        item_hash=str(obj.get("item_hash") or ""),
        model_sha256=str(obj.get("model_sha256") or ""),
        prompt=str(obj.get("prompt") or ""),
        choices=[str(c) for c in obj.get("choices") or []],
        target_scores=[float(v) for v in obj.get("target_scores") or []],
        targets=[str(t) for t in obj.get("targets") or []],
        raw=raw_obj,
        metrics=clean,
        error=error,
        shots=shots,
    )
    return record, int(round(params)), heldout, {k: v for k, v in chance.items() if v is not None}


def read_records(path: str | Path) -> RecordsInput:
    """Read and check every line of ``path`` (blank lines are skipped)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecordsError(f"{p}: cannot read: {e}") from None
    records: list[ItemRecord] = []
    rung_params: dict[str, tuple[int, int]] = {}
    heldouts: dict[str, dict[str, Any]] = {}
    levels: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    run_ids: set[str] = set()
    ladders: set[str] = set()
    listed: dict[tuple[str, str], list[str]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise RecordsError(f"{where}: not JSON: {e.msg} (column {e.colno})") from None
        record, params, heldout, chance = _parse_line(obj, where)
        seen = rung_params.setdefault(record.rung, (params, lineno))
        if seen[0] != params:
            raise RecordsError(
                f"{where}: field 'params': rung {record.rung!r} has {params} here "
                f"but {seen[0]} on line {seen[1]}"
            )
        if heldout:
            heldouts.setdefault(record.rung, heldout)
        for metric, level in chance.items():
            levels[(record.task, record.setting, str(metric))].append(float(level))
        if record.run_id:
            run_ids.add(record.run_id)
        if isinstance(obj.get("ladder"), str):
            ladders.add(obj["ladder"])
        names = obj.get("task_metrics")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise RecordsError(
                    f"{where}: field 'task_metrics': expected a list of metric names"
                )
            listed.setdefault((record.task, record.setting), names)
        records.append(record)
    if not records:
        raise RecordsError(f"{p}: no records (expected one JSON object per line)")
    rungs = [
        {"label": label, "params": params, "heldout": heldouts.get(label)}
        for label, (params, _) in sorted(rung_params.items(), key=lambda kv: (kv[1][0], kv[0]))
    ]
    chance = {key: sum(v) / len(v) for key, v in levels.items()}
    return RecordsInput(
        records=records,
        rungs=rungs,
        chance=chance,
        listed=listed,
        run_id=run_ids.pop() if len(run_ids) == 1 else None,
        ladder=ladders.pop() if len(ladders) == 1 else None,
    )
