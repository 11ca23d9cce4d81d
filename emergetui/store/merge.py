"""One ladder from several machines: merge stores of the same experiment into one run.

Machine A runs ``--rungs 0.5B,1.5B --store a.db``, machine B ``--rungs 3B,7B
--store b.db``; ``emergetui merge a.db b.db --into all.db`` then holds one run
with all four rungs, which ``emergetui report`` and the lab show as one curve.

The run id hashes the rung list, so the partial runs have different ids; what
makes them one experiment is everything else in their identity (ladder,
tasks, seed, shots, limit, held-out text) plus the items themselves (each
task setting's item count, and equal content hashes for every item both
stores hold). The merged run gets the id the whole ladder's run would have,
so rerunning the full command against the merged store resumes it.

Rules: sources are only read; a rung both sides hold must come from the same
model file (sha256); an item both sides hold must agree (same model, content,
tokens, generated text and discrete metrics; log-probabilities within
:data:`DUP_LOGPROB_TOL`), else the merge is refused naming the item. All
writes are one SQLite transaction, and a new target is built beside it and
renamed into place, so a crash leaves the target as it was or complete.
Merging again changes nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from emergetui.errors import StoreError
from emergetui.store import provenance
from emergetui.store.identity import RunIdentity
from emergetui.store.results import Store
from emergetui.store.schema import RESULT_TABLES, TABLES, columns, table_names

DUP_LOGPROB_TOL = 0.5
"""Nats two copies of one item may differ by: llama.cpp's quantized CPU kernels alone differ by
up to 0.32 nats between micro-batch splits (docs/scoring.md); GPU and CPU differ too."""
_STATUS_RANK = {"done": 4, "running": 3, "failed": 2, "skipped": 1}


class MergeError(StoreError):
    """The stores cannot be merged; the message names the store, run, rung or item."""


@dataclass
class RunRef:
    """One run of one store taking part in the merge."""

    store: Path
    db: sqlite3.Connection
    run_id: str
    ladder: str
    config: dict[str, Any]
    created: float

    @property
    def where(self) -> str:
        return f"{self.store} run {self.run_id}"


@dataclass
class MergeResult:
    target: Path
    run_id: str
    rungs: list[tuple[str, str, str]] = field(default_factory=list)  # label, status, provenance
    items_added: int = 0
    items_same: int = 0
    replaced: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.target}: run {self.run_id}, {len(self.rungs)} rungs"]
        out += [f"  {lab:<12} {st:<10} {prov}" for lab, st, prov in self.rungs]
        out.append(f"  {self.items_added} items added, {self.items_same} already there")
        if self.replaced:
            out.append(f"  replaces run(s) {', '.join(self.replaced)} of the same experiment")
        return out


def experiment_key(config: dict[str, Any]) -> dict[str, Any]:
    """A stored run's identity without its rungs (:meth:`RunIdentity.experiment_key`)."""
    return RunIdentity.from_dict(config).experiment_key()


# -- reading ------------------------------------------------------------------------------
def _open_source(path: Path, accept_old: bool) -> sqlite3.Connection:
    if not path.is_file():
        raise MergeError(f"{path}: no such results store")
    try:
        db = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
        names = table_names(db)
    except sqlite3.DatabaseError as e:
        raise MergeError(f"{path}: not a results store: {e}") from None
    missing = [t for t in RESULT_TABLES if t not in names]
    if missing:
        raise MergeError(f"{path}: not an emergetui results store (no {', '.join(missing)} table)")
    old = (
        [r[0] for r in db.execute("SELECT label FROM rungs WHERE provenance IS NULL")]
        if "provenance" in columns(db, "rungs")
        else [r[0] for r in db.execute("SELECT label FROM rungs")]
    )
    if old and not accept_old:
        raise MergeError(
            f"{path}: written by an older emergetui: rung(s) {', '.join(sorted(set(old)))} carry "
            "no provenance (host, emergetui and llama.cpp versions); merge with --accept-old to "
            "take them with provenance 'unknown'"
        )
    return db


def _runs(path: Path, db: sqlite3.Connection) -> list[RunRef]:
    rows = db.execute(
        "SELECT run_id, ladder, config, created FROM runs ORDER BY created"
    ).fetchall()
    return [
        RunRef(path, db, r[0], r[1], {**json.loads(r[2] or "{}"), "ladder": r[1]}, r[3])
        for r in rows
    ]


def _tasksets(run: RunRef) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = run.db.execute(
        "SELECT task, setting, shots, metrics, preferred, chance, not_computed, n_items "
        "FROM tasksets WHERE run_id=?",
        (run.run_id,),
    ).fetchall()
    return {(r[0], r[1]): tuple(r) for r in rows}


def _item_hashes(run: RunRef) -> dict[tuple[str, str, str], str]:
    rows = run.db.execute(
        "SELECT task, setting, item_id, item_hash FROM items WHERE run_id=?", (run.run_id,)
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def _same_experiment(a: RunRef, b: RunRef) -> None:
    ka, kb = experiment_key(a.config), experiment_key(b.config)
    for k in sorted(set(ka) | set(kb)):
        if ka.get(k) != kb.get(k):
            raise MergeError(
                f"{a.where} and {b.where} are not the same experiment: {k} differs "
                f"({ka.get(k)!r} vs {kb.get(k)!r})"
            )
    ta, tb = _tasksets(a), _tasksets(b)
    for key in sorted(set(ta) & set(tb)):
        if ta[key][2] != tb[key][2] or ta[key][7] != tb[key][7]:
            raise MergeError(
                f"{a.where} and {b.where} are not the same experiment: task {key[0]} "
                f"({key[1]}) has {ta[key][7]} items at {ta[key][2]} shots vs {tb[key][7]} at "
                f"{tb[key][2]}"
            )
    ha, hb = _item_hashes(a), _item_hashes(b)
    for item in sorted(set(ha) & set(hb)):
        if ha[item] != hb[item]:
            raise MergeError(
                f"{a.where} and {b.where} are not the same experiment: item {item[2]} of task "
                f"{item[0]} ({item[1]}) has different content (item hash {ha[item][:12]} vs "
                f"{hb[item][:12]}): other task files or another seed"
            )


# -- rungs ------------------------------------------------------------------------------------
_RUNG_COLS = "label, params, path, sha256, n_gpu_layers, status, error, heldout, provenance"


def _merged_rungs(runs: list[RunRef], accept_old: bool) -> list[dict[str, Any]]:
    best: dict[str, tuple[dict[str, Any], RunRef]] = {}
    for run in runs:
        # a source is opened read-only, so an old one is read as it is, not migrated
        sel = (
            _RUNG_COLS
            if "provenance" in columns(run.db, "rungs")
            else _RUNG_COLS.replace("provenance", "NULL")
        )
        for r in run.db.execute(f"SELECT {sel} FROM rungs WHERE run_id=?", (run.run_id,)):
            row = dict(zip(_RUNG_COLS.split(", "), r))
            if row["provenance"] is None and accept_old:
                row["provenance"] = json.dumps(provenance.unknown(row["sha256"] or ""))
            have = best.get(row["label"])
            if have is None:
                best[row["label"]] = (row, run)
                continue
            prev, prev_run = have
            if prev["params"] != row["params"]:
                raise MergeError(
                    f"rung {row['label']}: {prev['params']} params in {prev_run.where} but "
                    f"{row['params']} in {run.where}: not the same ladder"
                )
            if prev["sha256"] and row["sha256"] and prev["sha256"] != row["sha256"]:
                raise MergeError(
                    f"rung {row['label']}: model file {prev['sha256'][:12]} in {prev_run.where} "
                    f"but {row['sha256'][:12]} in {run.where}: refusing to mix two models "
                    "under one rung"
                )
            if _STATUS_RANK.get(row["status"], 0) > _STATUS_RANK.get(prev["status"], 0):
                best[row["label"]] = (row, run)
    return sorted((r for r, _ in best.values()), key=lambda r: (r["params"], r["label"]))


# -- items ---------------------------------------------------------------------------------------
_ITEM_COLS = (
    "rung, task, setting, item_id, item_hash, model_sha256, shots, prompt, choices, "
    "target_scores, targets, raw, metrics, error, created"
)


def _conflict(a: tuple[Any, ...], b: tuple[Any, ...]) -> str | None:
    """Why two copies of one item (rows as in _ITEM_COLS) disagree, or None when they agree."""
    from emergetui.tasks.metrics import METRICS

    names = _ITEM_COLS.split(", ")
    ra, rb = dict(zip(names, a)), dict(zip(names, b))
    if ra["model_sha256"] != rb["model_sha256"]:
        return (
            "computed by different model files "
            f"({ra['model_sha256'][:12]} vs {rb['model_sha256'][:12]})"
        )
    if ra["item_hash"] != rb["item_hash"]:
        return "different item content"
    if ra["raw"] == rb["raw"] and ra["metrics"] == rb["metrics"]:
        return None
    xa, xb = json.loads(ra["raw"]), json.loads(rb["raw"])
    for k in ("choice_tokens", "target_tokens", "generated_tokens", "generated_text"):
        if xa.get(k) != xb.get(k):
            return f"different {k.replace('_', ' ')}"
    for k in ("choice_logprobs", "target_logprobs", "generated_logprobs"):
        la, lb = _flat(xa.get(k)), _flat(xb.get(k))
        if len(la) != len(lb):
            return f"different {k.replace('_', ' ')}"
        gap = max((abs(p - q) for p, q in zip(la, lb)), default=0.0)
        if gap > DUP_LOGPROB_TOL:
            return f"{k.replace('_', ' ')} differ by {gap:.3g} nats (> {DUP_LOGPROB_TOL})"
    ma, mb = json.loads(ra["metrics"]), json.loads(rb["metrics"])
    for k in sorted(set(ma) | set(mb)):
        info = METRICS.get(k)
        if info is not None and info.discrete and ma.get(k) != mb.get(k):
            return f"different {k} ({ma.get(k)} vs {mb.get(k)})"
    return None


def _flat(v: Any) -> list[float]:
    if v is None:
        return []
    if isinstance(v, list) and v and isinstance(v[0], list):
        return [float(x) for row in v for x in row]
    return [float(x) for x in v]


def _copy_items(src: RunRef, dst: sqlite3.Connection, run_id: str, res: MergeResult) -> None:
    found = src.db.execute(f"SELECT {_ITEM_COLS} FROM items WHERE run_id=?", (src.run_id,))
    # a run of the target itself: read it all before writing the same table
    rows: Iterable[Any] = found.fetchall() if src.db is dst else found
    marks = ",".join("?" * 16)
    for row in rows:
        ins = dst.execute(
            f"INSERT OR IGNORE INTO items (run_id, {_ITEM_COLS}) VALUES ({marks})", (run_id, *row)
        )
        if ins.rowcount:
            res.items_added += 1
            continue
        have = dst.execute(
            f"SELECT {_ITEM_COLS} FROM items WHERE run_id=? AND rung=? AND task=? AND setting=? "
            "AND item_id=?",
            (run_id, *row[:4]),
        ).fetchone()
        why = _conflict(have, row)
        if why:
            raise MergeError(
                f"conflicting duplicate: rung {row[0]}, task {row[1]} ({row[2]}), item {row[3]} "
                f"in {src.where} and in the merge so far: {why}; merge refused, "
                f"{res.target} unchanged"
            )
        res.items_same += 1


# -- the merge ---------------------------------------------------------------------------------
def merge_stores(
    sources: list[str | Path], into: str | Path, accept_old: bool = False
) -> MergeResult:
    """Merge the runs in ``sources`` (one experiment) into ``into``; see the module docstring."""
    target = Path(into)
    paths = [Path(s) for s in sources]
    if target.exists() and any(p.resolve() == target.resolve() for p in paths if p.exists()):
        raise MergeError(f"{target}: the target cannot also be a source")
    dbs = [_open_source(p, accept_old) for p in paths]
    try:
        runs: list[RunRef] = []
        for p, db in zip(paths, dbs):
            found = _runs(p, db)
            if not found:
                raise MergeError(f"{p}: the store holds no runs")
            runs.extend(found)
        for r in runs[1:]:
            _same_experiment(runs[0], r)
        if target.exists():
            return _merge_into(target, runs, accept_old)
        tmp = target.with_name(f".{target.name}.merging-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            res = _merge_into(tmp, runs, accept_old)
            for suffix in ("-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            os.replace(tmp, target)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        res.target = target
        return res
    finally:
        for db in dbs:
            db.close()


def _merge_into(path: Path, sources: list[RunRef], accept_old: bool) -> MergeResult:
    with Store(path) as store:
        db = store._db  # one transaction spanning several tables: the store's own connection
        existing = [
            r
            for r in _runs(path, db)
            if experiment_key(r.config) == experiment_key(sources[0].config)
        ]
        for r in existing:
            _same_experiment(sources[0], r)
        runs = existing + sources
        rungs = _merged_rungs(runs, accept_old)
        identity = RunIdentity.from_dict(sources[0].config).with_rungs(r["label"] for r in rungs)
        run_id = identity.run_id
        res = MergeResult(path, run_id)
        statuses = [r["status"] for r in rungs]
        status = "done" if statuses and all(s == "done" for s in statuses) else "done-with-errors"
        with store._tx() as tx:
            tx.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET "
                "updated=excluded.updated, config=excluded.config, status=excluded.status",
                (
                    run_id,
                    min(r.created for r in runs),
                    time.time(),
                    sources[0].ladder,
                    json.dumps(identity.to_dict(), sort_keys=True),
                    status,
                ),
            )
            for idx, rung in enumerate(rungs):
                tx.execute(
                    f"INSERT OR REPLACE INTO rungs (run_id, idx, {_RUNG_COLS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, idx, *(rung[c] for c in _RUNG_COLS.split(", "))),
                )
                prov = json.loads(rung["provenance"]) if rung["provenance"] else None
                res.rungs.append((rung["label"], rung["status"] or "?", provenance.describe(prov)))
            for run in runs:
                for ts in _tasksets(run).values():
                    tx.execute(
                        "INSERT OR IGNORE INTO tasksets VALUES (?,?,?,?,?,?,?,?,?)", (run_id, *ts)
                    )
            for run in runs:
                if not (run.store == path and run.run_id == run_id):
                    _copy_items(run, tx, run_id, res)
            _copy_probes(runs, tx, run_id)
            for run in existing:
                if run.run_id != run_id:
                    for table in ("items", "rungs", "tasksets", "runs"):
                        tx.execute(f"DELETE FROM {table} WHERE run_id=?", (run.run_id,))
                    _drop_probes(tx, run.run_id)
                    res.replaced.append(run.run_id)
        return res


def _has_probes(db: sqlite3.Connection) -> bool:
    return "probe_results" in table_names(db)


def _copy_probes(runs: list[RunRef], tx: sqlite3.Connection, run_id: str) -> None:
    """Probe results (``--probe``) travel with their rungs; the first copy of a row wins."""
    for run in runs:
        if not _has_probes(run.db) or run.db is tx and run.run_id == run_id:
            continue
        rows = run.db.execute(
            "SELECT rung, task, setting, kind, layer, value, n FROM probe_results WHERE run_id=?",
            (run.run_id,),
        ).fetchall()
        if rows:
            tx.execute(TABLES["probe_results"])
            tx.executemany(
                "INSERT OR IGNORE INTO probe_results VALUES (?,?,?,?,?,?,?,?)",
                [(run_id, *r) for r in rows],
            )


def _drop_probes(tx: sqlite3.Connection, run_id: str) -> None:
    if _has_probes(tx):
        tx.execute("DELETE FROM probe_results WHERE run_id=?", (run_id,))
