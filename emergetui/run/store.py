"""Results store: SQLite, one row per (run, rung, task, setting, item) with the raw material.

Rows hold what the model did (per-token log-probabilities, the generated text)
rather than only scores, so any metric can be recomputed later. Rows are
written in short transactions as batches finish (WAL mode), which is what makes
an interrupted run resumable: a rerun of the same experiment skips every item
whose row exists for the same item content and the same model file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from emergetui.errors import EmergetuiError
from emergetui.tasks.records import ItemRaw, ItemRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, ladder TEXT, config TEXT, status TEXT
);
CREATE TABLE IF NOT EXISTS rungs (
    run_id TEXT, label TEXT, idx INTEGER, params INTEGER, path TEXT, sha256 TEXT,
    n_gpu_layers INTEGER, status TEXT, error TEXT, heldout TEXT, provenance TEXT,
    PRIMARY KEY (run_id, label)
);
CREATE TABLE IF NOT EXISTS tasksets (
    run_id TEXT, task TEXT, setting TEXT, shots INTEGER, metrics TEXT, preferred TEXT,
    chance TEXT, not_computed TEXT, n_items INTEGER,
    PRIMARY KEY (run_id, task, setting)
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT, rung TEXT, task TEXT, setting TEXT, item_id TEXT, item_hash TEXT,
    model_sha256 TEXT, shots INTEGER, prompt TEXT, choices TEXT, target_scores TEXT,
    targets TEXT, raw TEXT, metrics TEXT, error TEXT, created REAL,
    PRIMARY KEY (run_id, rung, task, setting, item_id)
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT
);
"""


def default_store_path() -> Path:
    return Path(user_data_dir("emergetui", appauthor=False)) / "results.sqlite"


class StoreError(EmergetuiError, RuntimeError):
    """The store cannot be opened or written; the message names the file."""


@dataclass
class RunSummary:
    run_id: str
    created: float
    ladder: str
    status: str
    n_items: int
    config: dict[str, Any]


@dataclass
class StoredRung:
    label: str
    params: int
    path: str
    sha256: str
    n_gpu_layers: int | None
    status: str | None
    error: str | None
    heldout: dict[str, float] | None
    provenance: dict[str, Any] | None = None
    """Host, emergetui and llama.cpp versions, model sha256 (run/provenance.py); None: older
    store.
    """


@dataclass
class StoredTaskSet:
    task: str
    setting: str
    shots: int
    metrics: list[str]
    preferred: str
    chance: dict[str, float]
    not_computed: list[str]
    n_items: int


def _set_wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Switch a store to WAL, waiting while another process creates or switches the same file.

    SQLite answers "database is locked" to a journal-mode change at once, without its busy
    handler, when another connection holds a lock: two processes opening a new store together
    would fail instead of queueing. A store already in WAL needs no switch.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Store:
    """A results database. Safe to share between processes (SQLite locking, busy timeout)."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 60.0) -> None:
        self.path = Path(path) if path else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=timeout_s, isolation_level=None, check_same_thread=False
            )
            _set_wal(self._db, timeout_s)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            with self._tx() as db:
                for stmt in SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                _migrate(db)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot open results store: {e}") from e
        except OSError as e:
            raise StoreError(f"{self.path}: cannot create results store: {e.strerror}") from e

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """An immediate write transaction: takes the write lock up front so two processes queue
        instead of deadlocking.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StoreError(f"{self.path}: store is locked or unwritable: {e}") from e
        try:
            yield self._db
        except (
            sqlite3.DatabaseError
        ) as e:  # disk full, I/O error, ...: one clear error naming the file
            self._rollback()
            raise StoreError(f"{self.path}: could not write to the results store: {e}") from e
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                self._rollback()
                raise StoreError(f"{self.path}: could not commit results: {e}") from e

    def _rollback(self) -> None:
        """Undo the open transaction unless SQLite already has.

        On SQLITE_FULL, SQLITE_IOERR and a few others SQLite may roll the
        transaction back by itself; a ROLLBACK then fails with "no transaction
        is active", and that error must not replace the one that says why.
        """
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    # -- runs ----------------------------------------------------------------------
    def begin_run(self, run_id: str, ladder: str, config: dict[str, Any]) -> bool:
        """Create the run or mark it running again.

        Returns True when it already existed (resume).
        """
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT run_id FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row:
                db.execute(
                    "UPDATE runs SET updated=?, status='running' WHERE run_id=?", (now, run_id)
                )
            else:
                db.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?)",
                    (run_id, now, now, ladder, json.dumps(config, sort_keys=True), "running"),
                )
        return row is not None

    def set_run_status(self, run_id: str, status: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status=?, updated=? WHERE run_id=?", (status, time.time(), run_id)
            )

    def runs(self) -> list[RunSummary]:
        rows = self._db.execute(
            "SELECT r.run_id, r.created, r.ladder, r.status, r.config, "
            "(SELECT COUNT(*) FROM items i WHERE i.run_id=r.run_id) "
            "FROM runs r ORDER BY r.updated DESC"
        ).fetchall()
        return [RunSummary(r[0], r[1], r[2], r[3], r[5], json.loads(r[4] or "{}")) for r in rows]

    def resolve_run(self, ref: str) -> str:
        """A run id from a full id, a unique prefix, or "last"."""
        if ref == "last":
            row = self._db.execute(
                "SELECT run_id FROM runs ORDER BY updated DESC LIMIT 1"
            ).fetchone()
            if not row:
                raise StoreError(f"{self.path}: the store holds no runs")
            return row[0]
        rows = self._db.execute(
            "SELECT run_id FROM runs WHERE run_id LIKE ?", (ref + "%",)
        ).fetchall()
        if len(rows) == 1:
            return rows[0][0]
        if not rows:
            raise StoreError(f"{self.path}: no run {ref!r}")
        raise StoreError(
            f"{self.path}: run {ref!r} is ambiguous ({', '.join(r[0] for r in rows[:5])})"
        )

    def run_config(self, run_id: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT config, ladder FROM runs WHERE run_id=?", (run_id,)
        ).fetchone()
        if not row:
            raise StoreError(f"{self.path}: no run {run_id!r}")
        cfg = json.loads(row[0] or "{}")
        cfg.setdefault("ladder", row[1])
        return cfg

    # -- rungs and task sets ----------------------------------------------------------
    def set_rung(
        self, run_id: str, idx: int, label: str, params: int, path: str, sha256: str
    ) -> None:
        """Record the rung and this process's provenance (host, versions, model sha256)."""
        from emergetui.run.provenance import current

        prov = json.dumps(current(sha256), sort_keys=True)
        with self._tx() as db:
            db.execute(
                "INSERT INTO rungs (run_id,label,idx,params,path,sha256,provenance) "
                "VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(run_id,label) DO UPDATE SET idx=excluded.idx, params=excluded.params, "
                "path=excluded.path, "
                "heldout=CASE WHEN rungs.sha256=excluded.sha256 THEN rungs.heldout END, "
                "sha256=excluded.sha256, provenance=excluded.provenance",
                (run_id, label, idx, params, path, sha256, prov),
            )

    def update_rung(self, run_id: str, label: str, **fields: Any) -> None:
        allowed = {"n_gpu_layers", "status", "error", "heldout"}
        sets = {
            k: (json.dumps(v) if k == "heldout" and v is not None else v)
            for k, v in fields.items()
            if k in allowed
        }
        if not sets:
            return
        cols = ", ".join(f"{k}=?" for k in sets)
        with self._tx() as db:
            db.execute(
                f"UPDATE rungs SET {cols} WHERE run_id=? AND label=?",
                (*sets.values(), run_id, label),
            )

    def rungs(self, run_id: str) -> list[StoredRung]:
        rows = self._db.execute(
            "SELECT label, params, path, sha256, n_gpu_layers, status, error, heldout, provenance "
            "FROM rungs WHERE run_id=? ORDER BY idx",
            (run_id,),
        ).fetchall()
        return [
            StoredRung(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                heldout=json.loads(r[7]) if r[7] else None,
                provenance=json.loads(r[8]) if r[8] else None,
            )
            for r in rows
        ]

    def set_taskset(self, run_id: str, ts: StoredTaskSet) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO tasksets VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    ts.task,
                    ts.setting,
                    ts.shots,
                    json.dumps(ts.metrics),
                    ts.preferred,
                    json.dumps(ts.chance),
                    json.dumps(ts.not_computed),
                    ts.n_items,
                ),
            )

    def tasksets(self, run_id: str) -> list[StoredTaskSet]:
        rows = self._db.execute(
            "SELECT task, setting, shots, metrics, preferred, chance, not_computed, n_items "
            "FROM tasksets WHERE run_id=? ORDER BY task, shots, setting",
            (run_id,),
        ).fetchall()
        return [
            StoredTaskSet(
                r[0], r[1], r[2], json.loads(r[3]), r[4], json.loads(r[5]), json.loads(r[6]), r[7]
            )
            for r in rows
        ]

    # -- items -------------------------------------------------------------------------
    def completed(
        self, run_id: str, rung: str, model_sha256: str
    ) -> dict[tuple[str, str, str], str]:
        """(task, setting, item_id) -> item_hash of rows made by this model file."""
        rows = self._db.execute(
            "SELECT task, setting, item_id, item_hash FROM items "
            "WHERE run_id=? AND rung=? AND model_sha256=?",
            (run_id, rung, model_sha256),
        ).fetchall()
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    def put_records(self, records: Iterable[ItemRecord]) -> int:
        rows = [
            (
                r.run_id,
                r.rung,
                r.task,
                r.setting,
                r.item_id,
                r.item_hash,
                r.model_sha256,
                r.shots,
                r.prompt,
                json.dumps(r.choices),
                json.dumps(r.target_scores),
                json.dumps(r.targets),
                json.dumps(r.raw.to_dict()),
                json.dumps(r.metrics),
                r.error,
                time.time(),
            )
            for r in records
        ]
        if rows:
            with self._tx() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
                )
        return len(rows)

    def records(
        self, run_id: str, rung: str | None = None, task: str | None = None
    ) -> list[ItemRecord]:
        q = (
            "SELECT i.run_id, i.rung, i.task, i.setting, i.item_id, i.item_hash, i.model_sha256, "
            "i.prompt, i.choices, i.target_scores, i.targets, i.raw, i.metrics, i.error, i.shots "
            "FROM items i "
            "LEFT JOIN rungs g ON g.run_id=i.run_id AND g.label=i.rung WHERE i.run_id=?"
        )
        args: list[Any] = [run_id]
        if rung is not None:
            q += " AND i.rung=?"
            args.append(rung)
        if task is not None:
            q += " AND i.task=?"
            args.append(task)
        q += " ORDER BY g.idx, i.task, i.shots, i.setting, i.item_id"
        return [
            ItemRecord(
                run_id=r[0],
                rung=r[1],
                task=r[2],
                setting=r[3],
                item_id=r[4],
                item_hash=r[5],
                model_sha256=r[6],
                prompt=r[7],
                choices=json.loads(r[8]),
                target_scores=json.loads(r[9]),
                targets=json.loads(r[10]),
                raw=ItemRaw.from_dict(json.loads(r[11])),
                metrics=json.loads(r[12]),
                error=r[13],
                shots=r[14] or 0,
            )
            for r in self._db.execute(q, args)
        ]

    def count_items(self, run_id: str) -> int:
        return int(
            self._db.execute("SELECT COUNT(*) FROM items WHERE run_id=?", (run_id,)).fetchone()[0]
        )

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- model identity ------------------------------------------------------------------
    def sha256_of(self, path: str | Path) -> str:
        """sha256 of a model file, cached by (path, size, mtime) since ladders hold many GB."""
        p = Path(path).resolve()
        st = p.stat()
        row = self._db.execute(
            "SELECT sha256 FROM file_hashes WHERE path=? AND size=? AND mtime_ns=?",
            (str(p), st.st_size, st.st_mtime_ns),
        ).fetchone()
        if row:
            return row[0]
        digest = file_sha256(p)
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO file_hashes VALUES (?,?,?,?)",
                (str(p), st.st_size, st.st_mtime_ns, digest),
            )
        return digest


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store written by an older emergetui up to this schema (columns added, never dropped).

    Rows written before a column existed keep NULL there: a rung without
    provenance is one an older version computed, and ``merge`` says so.
    """
    cols = {r[1] for r in db.execute("PRAGMA table_info(rungs)")}
    if "provenance" not in cols:
        db.execute("ALTER TABLE rungs ADD COLUMN provenance TEXT")


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()
