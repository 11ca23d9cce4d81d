"""`emergetui merge`: one ladder from stores written on several machines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from emergetui.cli import main
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.merge import MergeError, merge_stores
from emergetui.store.results import Store

from .conftest import ADDITION, copy, run_batch, snapshot


def full_run_id(ladder: Path) -> str:
    spec = ExperimentSpec(ladder=str(ladder), tasks=(str(ADDITION),), limit=6, heldout=False)
    return build_experiment(spec).config.run_id()


def test_disjoint_rungs_make_the_whole_ladder(
    tmp_path: Path, stores: dict[str, Path], ladder3: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "all.db"
    assert main(["merge", str(stores["a"]), str(stores["b"]), "--into", str(into)]) == 0
    out = capsys.readouterr().out
    with Store(into) as st:
        (run,) = st.runs()
        # the id the whole ladder's run has: rerunning it against the merged store resumes it
        assert run.run_id == full_run_id(ladder3)
        rungs = st.rungs(run.run_id)
        assert [r.label for r in rungs] == ["s", "m", "l"]
        assert all(r.status == "done" and r.provenance for r in rungs)
        for r in rungs:
            assert r.provenance is not None
            assert r.provenance["model_sha256"] == r.sha256
            assert {"host", "emergetui", "llama_cpp"} <= set(r.provenance)
        merged = {(x.rung, x.item_id): x for x in st.records(run.run_id)}
    assert "3 rungs" in out and "18 items added" in out
    # the same items, bit for bit, as the single-machine run of the whole ladder
    with Store(stores["full"]) as st:
        full = {(x.rung, x.item_id): x for x in st.records(st.runs()[0].run_id)}
    assert merged.keys() == full.keys()
    for k, rec in merged.items():
        assert rec.raw == full[k].raw and rec.metrics == full[k].metrics
    # the report reads the whole ladder
    rep = tmp_path / "rep"
    assert main(["report", run.run_id, "--store", str(into), "--out", str(rep)]) == 0
    doc = json.loads(next(rep.glob("*.json")).read_text())
    assert [r["label"] for r in doc["rungs"]] == ["s", "m", "l"]
    from emergetui.report.document import run_document
    from emergetui.store.stored_run import load_run

    with Store(into) as st:  # the run document (--json) names each rung's provenance
        rdoc = run_document(load_run(st, run.run_id), None)
    assert all(r["provenance"]["model_sha256"] == r["sha256"] for r in rdoc.rungs)
    # and a rerun of the whole ladder finds everything stored
    run_batch(ladder3, None, into)
    with Store(into) as st:
        assert [r.run_id for r in st.runs()] == [run.run_id]
        assert st.count_items(run.run_id) == 18


def test_overlapping_identical_rungs_are_kept_once(tmp_path: Path, stores: dict[str, Path]) -> None:
    res = merge_stores([stores["a"], stores["c"]], tmp_path / "all.db")
    assert [r[0] for r in res.rungs] == ["s", "m", "l"]
    assert res.items_added == 18 and res.items_same == 6
    with sqlite3.connect(tmp_path / "all.db") as db:
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 18
        assert db.execute("SELECT COUNT(*) FROM rungs").fetchone()[0] == 3


def test_merge_is_idempotent_and_incremental(tmp_path: Path, stores: dict[str, Path]) -> None:
    both = tmp_path / "both.db"
    merge_stores([stores["a"], stores["b"]], both)
    first = snapshot(both)
    again = merge_stores([stores["a"], stores["b"]], both)
    assert again.items_added == 0 and snapshot(both) == first
    # one shard at a time gives the same store: the partial run is replaced by the whole one
    step = tmp_path / "step.db"
    merge_stores([stores["a"]], step)
    res = merge_stores([stores["b"]], step)
    assert res.replaced and snapshot(step)["items"] == first["items"]
    assert [r[:4] for r in snapshot(step)["runs"]] == [r[:4] for r in first["runs"]]
    # the sources are only read
    assert snapshot(stores["a"]) == snapshot(copy(stores["a"], tmp_path / "a-again.db"))


def test_different_experiments_are_refused(
    tmp_path: Path, stores: dict[str, Path], ladder3: Path
) -> None:
    other = tmp_path / "shots1.db"
    run_batch(ladder3, "l", other, "--shots", "1")
    into = tmp_path / "all.db"
    with pytest.raises(
        MergeError, match=r"not the same experiment: shots differs \(None vs \[1\]\)"
    ):
        merge_stores([stores["a"], other], into)
    assert not into.exists()
    seed = tmp_path / "seed.db"
    run_batch(ladder3, "l", seed, "--seed", "3")
    assert main(["merge", str(stores["a"]), str(seed), "--into", str(into)]) == 2
    assert not into.exists()


def test_conflicting_model_under_one_rung_is_refused(
    tmp_path: Path, stores: dict[str, Path], ladder3: Path
) -> None:
    """The same label made from another file (another quant, another download) cannot be mixed."""
    from tests.conftest import write_tiny

    other_ladder = tmp_path / "other.toml"
    other_m = write_tiny(tmp_path / "m2.gguf", seed=11, n_embd=48, n_layer=3)
    other_ladder.write_text(
        ladder3.read_text().replace(str(ladder3.parent / "m.gguf"), str(other_m))
    )
    other = tmp_path / "other.db"
    run_batch(other_ladder, "m,l", other)
    target = copy(stores["a"], tmp_path / "target.db")
    before = snapshot(target)
    with pytest.raises(MergeError, match="rung m: model file .* refusing to mix two models"):
        merge_stores([other], target)
    assert snapshot(target) == before


def test_conflicting_duplicate_item_is_refused_and_names_it(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    tampered = stores["c"]
    with sqlite3.connect(tampered) as db:
        raw, item = db.execute(
            "SELECT raw, item_id FROM items WHERE rung='m' ORDER BY item_id LIMIT 1"
        ).fetchone()
        doc = json.loads(raw)
        doc["choice_logprobs"] = [[x - 2.0 for x in row] for row in doc["choice_logprobs"]]
        db.execute("UPDATE items SET raw=? WHERE rung='m' AND item_id=?", (json.dumps(doc), item))
    target = copy(stores["a"], tmp_path / "target.db")
    before = snapshot(target)
    with pytest.raises(
        MergeError, match=rf"conflicting duplicate: rung m, .* item {item} .*differ by 2 nats"
    ):
        merge_stores([tampered], target)
    assert snapshot(target) == before


def test_store_from_an_older_run(tmp_path: Path, stores: dict[str, Path]) -> None:
    old = stores["b"]
    with sqlite3.connect(old) as db:  # the schema before provenance (and versions) was recorded
        db.execute("ALTER TABLE rungs DROP COLUMN provenance")
        db.execute("PRAGMA user_version=0")
    into = tmp_path / "all.db"
    with pytest.raises(
        MergeError, match=r"b\.db: written by an older emergetui: rung\(s\) l .*--accept-old"
    ):
        merge_stores([stores["a"], old], into)
    assert not into.exists()
    res = merge_stores([stores["a"], old], into, accept_old=True)
    assert dict((lab, prov) for lab, _, prov in res.rungs)["l"].startswith("unknown")
    # opening an old store with this version adds the column; its old rungs stay "unknown"
    with Store(old) as st:
        (r,) = st.rungs(st.runs()[0].run_id)
        assert r.provenance is None
    with pytest.raises(MergeError, match="older emergetui"):
        merge_stores([old], tmp_path / "x.db")


def test_bad_sources_are_one_clear_error(tmp_path: Path, stores: dict[str, Path]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(MergeError, match="junk.db: not a results store"):
        merge_stores([junk], tmp_path / "x.db")
    with pytest.raises(MergeError, match="nope.db: no such results store"):
        merge_stores([tmp_path / "nope.db"], tmp_path / "x.db")
    with pytest.raises(MergeError, match="cannot also be a source"):
        merge_stores([stores["a"]], stores["a"])
    empty = tmp_path / "empty.db"
    Store(empty).close()
    with pytest.raises(MergeError, match="holds no runs"):
        merge_stores([empty], tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_killed_merge_leaves_target_unchanged_or_complete(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    """SIGKILL a real `emergetui merge` process at several moments; never a half-merged store."""
    import random
    import signal
    import subprocess
    import sys
    import time

    from tests.rpc.conftest import REPO, child_env

    from .conftest import inflate

    inflate(stores["a"], 300)
    inflate(stores["b"], 300)
    before = tmp_path / "before.db"
    merge_stores([stores["a"]], before)
    complete = copy(before, tmp_path / "complete.db")
    merge_stores([stores["b"]], complete)
    states = {"before": snapshot(before), "complete": snapshot(complete)}
    t0 = time.monotonic()
    merge_stores([stores["b"]], copy(before, tmp_path / "timing.db"))
    took = time.monotonic() - t0
    t0 = time.monotonic()  # what a merge process needs before it starts merging
    subprocess.run(
        [sys.executable, "-m", "emergetui", "merge"],  # a usage error: start-up and parsing
        capture_output=True, env=child_env(), cwd=REPO,
    )  # fmt: skip
    startup = time.monotonic() - t0
    seen = {"before": 0, "complete": 0}
    killed_live = 0
    # kills at set moments around the measured merge time, both targets each; a loaded machine
    # can stretch or shrink a process's start-up against the measurement, so while no kill has
    # landed inside a merge yet, more kills follow at random earlier moments (at most 26 more)
    planned = [(f, fresh) for f in (0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0) for fresh in (False, True)]
    rng = random.Random(0)
    i = 0
    while i < len(planned) or ((killed_live < 3 or seen["before"] < 1) and i < 40):
        if i < len(planned):
            frac, fresh = planned[i]
            delay = startup + frac * took
        else:
            frac, fresh = rng.uniform(0.1, 1.0), i % 2 == 1
            delay = frac * (startup + took)
        target = tmp_path / f"t{i}-{fresh}.db"
        i += 1
        if not fresh:
            copy(before, target)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emergetui",
                "merge",
                str(stores["b"]),
                "--into",
                str(target),
            ]
            + ([str(stores["a"])] if fresh else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=child_env(),
            cwd=REPO,
        )
        time.sleep(delay)
        if proc.poll() is None:
            killed_live += 1
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        if fresh:  # a new target appears complete or not at all
            if target.exists():
                got = snapshot(target)
                assert got["items"] == states["complete"]["items"]
                seen["complete"] += 1
            continue
        got = snapshot(target)
        match = [k for k, v in states.items() if got == v]
        assert match, f"half-merged store after a kill {delay:.2f} s after the start"
        seen[match[0]] += 1
    print(f"merge {took:.2f} s; kills during the merge {killed_live}; target states {seen}")
    assert killed_live >= 3, "no kill landed while the merge was running"
    assert seen["before"] >= 1
