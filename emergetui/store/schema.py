"""Every table of a results store, and the migrations between its versions.

A store's version is SQLite's ``PRAGMA user_version``. Stores written before
versioning existed read 0; they are recognised once by their tables and columns
(a ``rungs`` table without ``provenance`` is from before provenance was
recorded), brought to version 1 and stamped, and from then on each step is
chosen by the version number alone, never by probing columns again. A store
stamped with a version newer than this code knows is refused rather than
written to: an older emergetui could silently drop what the newer one keeps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from emergetui.errors import StoreError

VERSION = 1
"""The schema this code writes. Version 1: the schema as of emergetui 164d968, stamped."""

TABLES = {
    "runs": """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, ladder TEXT, config TEXT, status TEXT
)""",
    "rungs": """
CREATE TABLE IF NOT EXISTS rungs (
    run_id TEXT, label TEXT, idx INTEGER, params INTEGER, path TEXT, sha256 TEXT,
    n_gpu_layers INTEGER, status TEXT, error TEXT, heldout TEXT, provenance TEXT,
    PRIMARY KEY (run_id, label)
)""",
    "tasksets": """
CREATE TABLE IF NOT EXISTS tasksets (
    run_id TEXT, task TEXT, setting TEXT, shots INTEGER, metrics TEXT, preferred TEXT,
    chance TEXT, not_computed TEXT, n_items INTEGER,
    PRIMARY KEY (run_id, task, setting)
)""",
    "items": """
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT, rung TEXT, task TEXT, setting TEXT, item_id TEXT, item_hash TEXT,
    model_sha256 TEXT, shots INTEGER, prompt TEXT, choices TEXT, target_scores TEXT,
    targets TEXT, raw TEXT, metrics TEXT, error TEXT, created REAL,
    PRIMARY KEY (run_id, rung, task, setting, item_id)
)""",
    "file_hashes": """
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT
)""",
    # One row per (run, rung, task, setting, kind, layer): curves have layer >= 0, per-rung
    # scalars layer = -1 (store/probes.py).
    "probe_results": """
CREATE TABLE IF NOT EXISTS probe_results (
    run_id TEXT, rung TEXT, task TEXT, setting TEXT, kind TEXT, layer INTEGER, value REAL,
    n INTEGER,
    PRIMARY KEY (run_id, rung, task, setting, kind, layer)
)""",
}

RESULT_TABLES = ("runs", "rungs", "tasksets", "items")
"""The tables that make a file a results store (a merge source must have them)."""


def version_of(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def table_names(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def _adopt_unversioned(db: sqlite3.Connection) -> None:
    """Version 0 → 1: a new file, or a store from before versioning, recognised by its columns.

    Columns are added, never dropped; rows written before a column existed keep
    NULL there (a rung without provenance is one an older version computed, and
    ``merge`` says so). Missing tables (the probe table, created on first use
    before) are created.
    """
    for ddl in TABLES.values():
        db.execute(ddl)
    if "provenance" not in columns(db, "rungs"):
        db.execute("ALTER TABLE rungs ADD COLUMN provenance TEXT")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _adopt_unversioned}
"""``MIGRATIONS[v]`` brings a store at version ``v`` to ``v + 1``; add one per schema change."""


def migrate(db: sqlite3.Connection, where: str) -> int:
    """Bring the store on ``db`` (inside a write transaction) to :data:`VERSION`; returns the
    version it had. ``where`` names the file in errors."""
    found = version_of(db)
    if found > VERSION:
        raise StoreError(
            f"{where}: written by a newer emergetui (store version {found}, this one knows up to "
            f"{VERSION}); upgrade emergetui to read it"
        )
    for v in range(found, VERSION):
        MIGRATIONS[v](db)
        db.execute(f"PRAGMA user_version={v + 1}")
    return found
