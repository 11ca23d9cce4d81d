"""The store's schema version: old stores adopted once, nothing lost, newer ones refused."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from emergetui.errors import StoreError
from emergetui.probe.store import load_probe_results
from emergetui.store import schema
from emergetui.store.results import Store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store" / "unversioned-164d968.sqlite"
RUN = "abc123def456"


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as SQLite holds it."""
    with sqlite3.connect(path) as db:
        tables = sorted(schema.table_names(db))
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return schema.version_of(db)


@pytest.fixture()
def old_store(tmp_path: Path) -> Path:
    return Path(shutil.copy(FIXTURE, tmp_path / "old.sqlite"))


def test_a_store_from_before_versioning_is_stamped_and_loses_nothing(old_store: Path) -> None:
    before = _dump(old_store)
    assert _version(old_store) == 0 and set(before) == set(schema.TABLES)
    with Store(old_store) as st:
        (run,) = st.runs()
        assert (run.run_id, run.status, run.n_items) == (RUN, "done", 4)
        rungs = st.rungs(RUN)
        assert [r.label for r in rungs] == ["a", "b"]
        assert [r.heldout for r in rungs] == [{"nll": 2.5}, {"nll": 1.5}]
        assert all(r.provenance and r.provenance["model_sha256"] == r.sha256 for r in rungs)
        (ts,) = st.tasksets(RUN)
        assert (ts.task, ts.preferred, ts.not_computed, ts.n_items) == (
            "t1",
            "exact_str_match",
            ["bleu"],
            2,
        )
        recs = st.records(RUN)
        assert [(r.rung, r.item_id) for r in recs] == [
            ("a", "i0"),
            ("a", "i1"),
            ("b", "i0"),
            ("b", "i1"),
        ]
        assert recs[1].raw.target_logprobs == [[-0.5, -1.25]] and recs[1].raw.generated_text == "x1"
        assert recs[1].metrics == {"exact_str_match": 1.0}
        (probe,) = load_probe_results(st, RUN)
        assert probe.curves == {"probe_acc": [0.5, 0.75]}
        assert probe.scalars["params"] == 1000.0 and math.isnan(probe.scalars["gap"])
    assert _version(old_store) == schema.VERSION
    assert _dump(old_store) == before  # stamped, every row as it was


def test_a_store_from_before_provenance_gains_the_column_once(old_store: Path) -> None:
    with sqlite3.connect(old_store) as db:
        db.execute("ALTER TABLE rungs DROP COLUMN provenance")
        db.execute("DROP TABLE probe_results")
    with Store(old_store) as st:
        assert [r.provenance for r in st.rungs(RUN)] == [None, None]
        assert load_probe_results(st, RUN) == []
    with sqlite3.connect(old_store) as db:
        assert "provenance" in schema.columns(db, "rungs")
        assert "probe_results" in schema.table_names(db)


def test_a_stamped_store_is_migrated_by_its_version_not_its_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new.sqlite"
    Store(path).close()
    assert _version(path) == schema.VERSION

    def never(db: sqlite3.Connection) -> None:
        raise AssertionError("an up-to-date store was migrated again")

    monkeypatch.setitem(schema.MIGRATIONS, 0, never)
    with Store(path) as st:
        assert st.runs() == []


def test_a_store_from_a_newer_emergetui_is_refused_unchanged(old_store: Path) -> None:
    with sqlite3.connect(old_store) as db:
        db.execute(f"PRAGMA user_version={schema.VERSION + 1}")
    before = _dump(old_store)
    with pytest.raises(StoreError, match=r"old\.sqlite: written by a newer emergetui"):
        Store(old_store)
    assert _dump(old_store) == before
