"""Stores written by real batch runs of a three-rung tiny ladder, as two machines would write
them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from emergetui.cli import main
from tests.conftest import FIXTURES, write_tiny

ADDITION = FIXTURES / "bigbench" / "arithmetic" / "1_digit_addition" / "task.json"


@pytest.fixture(scope="session")
def ladder3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ladder3")
    models = [
        write_tiny(d / "s.gguf", seed=0),
        write_tiny(d / "m.gguf", seed=1, n_embd=48, n_layer=3),
        write_tiny(d / "l.gguf", seed=2, n_embd=64, n_layer=3),
    ]
    p = d / "ladder.toml"
    rows = [
        f'  {{ label = "{lab}", params = {n}, path = "{m}" }},'
        for lab, n, m in zip(("s", "m", "l"), (20_000, 50_000, 90_000), models)
    ]
    p.write_text("[ladders.tiny3]\nrungs = [\n" + "\n".join(rows) + "\n]\n")
    return p


def batch_args(ladder: Path, rungs: str | None, store: Path, *extra: str) -> list[str]:
    args = ["--batch", "--ladder", str(ladder), "--task", str(ADDITION), "--limit", "6"]
    args += ["--no-heldout", "--no-plot", "--threads", "1", "--store", str(store)]
    if rungs:
        args += ["--rungs", rungs]
    return args + list(extra)


def run_batch(ladder: Path, rungs: str | None, store: Path, *extra: str) -> None:
    assert main(batch_args(ladder, rungs, store, *extra)) == 0


@pytest.fixture(scope="session")
def shard_stores(tmp_path_factory: pytest.TempPathFactory, ladder3: Path) -> dict[str, Path]:
    """a: rungs s,m; b: rung l; c: rungs m,l (overlaps a on m); full: all three in one run."""
    d = tmp_path_factory.mktemp("shards")
    out = {}
    for name, rungs in (("a", "s,m"), ("b", "l"), ("c", "m,l"), ("full", None)):
        out[name] = d / f"{name}.db"
        run_batch(ladder3, rungs, out[name])
    return out


@pytest.fixture()
def stores(tmp_path: Path, shard_stores: dict[str, Path]) -> dict[str, Path]:
    """Private copies a test may change."""
    return {name: copy(p, tmp_path / p.name) for name, p in shard_stores.items()}


def snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """A store's content, row order and the merge's 'updated' time left out."""
    with sqlite3.connect(path) as db:
        return {
            "runs": sorted(db.execute("SELECT run_id, created, ladder, config, status FROM runs")),
            "rungs": sorted(db.execute("SELECT * FROM rungs")),
            "tasksets": sorted(db.execute("SELECT * FROM tasksets")),
            "items": sorted(db.execute("SELECT * FROM items")),
        }


def copy(src: Path, dst: Path) -> Path:
    """A consistent copy (SQLite's backup API: includes what is still in the WAL)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def inflate(path: Path, copies: int) -> None:
    """Add ``copies`` copies of every item under new ids (same content hash per id in every store),
    so that a merge runs long enough to be killed in the middle."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM items").fetchall()
        marks = ",".join("?" * len(rows[0]))
        for k in range(copies):
            db.executemany(
                f"INSERT INTO items VALUES ({marks})",
                [(*r[:4], f"{r[4]}#{k}", *r[5:]) for r in rows],
            )
