"""Faults: a full disk (downloads and store), models that do not load, GPU out of memory, endless
generations.

What tests/hub already covers is not repeated here: a connection cut mid-file
resumed with a Range request, a partial file from an earlier process resumed,
the up-front free-space check (injectable ``disk_usage``), sha256 mismatches
deleting the bad bytes. Added here: the disk filling up *during* a download
(the up-front check passed, then something else took the space), seen both
from ``ensure_rung`` and from a batch run, and everything about the store.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emergetui.cli import main
from emergetui.engine import Engine, ModelLoadError
from emergetui.models.hub import HubError, HubSettings, ensure_rung, is_cached
from emergetui.models.ladders import RungSpec
from emergetui.run import events as ev
from emergetui.run.runner import RunConfig, Rung, Runner
from emergetui.store.results import Store
from emergetui.tasks.base import Item, ItemSet
from tests.hub.fake_hub import FakeHub

from .conftest import CleanRun
from .support import batch_args, compare_rows, count_by_rung, integrity, item_rows

REPO = "org/tiny-GGUF"
FILE = "tiny-Q8_0.gguf"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``emergetui ARGV`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_one_clean_error(err: str, *needles: str) -> str:
    """Exactly one ``emergetui:`` error line (progress lines may precede it), no traceback."""
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("emergetui: ")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------- full disk: downloads


class FullDisk:
    """A disk with ``free`` bytes left for ``*.incomplete`` downloads; the write that
    crosses it stores what fits and raises ENOSPC, as a real full disk does."""

    def __init__(self, free: int) -> None:
        self.free = free

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FullDisk:
        real_open = Path.open
        disk = self

        def open_(path: Path, mode: str = "r", *a: Any, **k: Any) -> Any:
            f = real_open(path, mode, *a, **k)
            if path.name.endswith(".incomplete") and ("w" in mode or "a" in mode):
                return _Limited(f, disk, path)
            return f

        monkeypatch.setattr(Path, "open", open_)
        return self


class _Limited:
    def __init__(self, f: Any, disk: FullDisk, path: Path) -> None:
        self._f, self._disk, self._path = f, disk, path

    def write(self, data: bytes) -> int:
        if len(data) > self._disk.free:
            self._f.write(data[: self._disk.free])
            self._disk.free = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self._path))
        self._disk.free -= len(data)
        return int(self._f.write(data))

    def __enter__(self) -> _Limited:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path) -> Iterator[FakeHub]:
    """The fake Hub of tests/hub serving one real tiny llama GGUF, HF_* pointed at it."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with FakeHub() as h:
        h.add_repo(REPO, {FILE: tiny_model.read_bytes()})
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


def _cdn_ranges(h: FakeHub) -> list[str | None]:
    return [
        r.headers.get("range")
        for r in h.requests
        if r.path.startswith("/cdn/") and r.method == "GET"
    ]


def test_disk_full_mid_download_is_one_clear_error_and_the_next_run_resumes(
    hub: FakeHub, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tiny_model.read_bytes()
    s = HubSettings(hub.url, tmp_path / "hf" / "hub", False, None)
    spec = RungSpec("dl", 1, repo=REPO, pattern="Q8_0")
    disk = FullDisk(free=50_000).install(monkeypatch)
    t0 = time.monotonic()
    with pytest.raises(HubError) as info:
        ensure_rung(spec, settings=s)
    msg = str(info.value)
    assert "disk is full" in msg and FILE in msg and "run again" in msg, msg
    assert not info.value.network  # not a network problem: no fallback, no retry loop
    assert time.monotonic() - t0 < 5.0
    storage = s.cache_dir / f"models--{REPO.replace('/', '--')}"
    partial = list(storage.glob("blobs/*.incomplete"))
    assert len(partial) == 1 and partial[0].read_bytes() == data[:50_000]
    # nothing that a later run could take for the model
    assert not list(storage.rglob("*.gguf")) and not is_cached(spec, s)
    with pytest.raises(HubError, match="not in the cache"):
        ensure_rung(spec, settings=HubSettings(hub.url, s.cache_dir, True, None))

    disk.free = 1 << 40  # space freed: the same call resumes where the bytes stopped
    path = ensure_rung(spec, settings=s)
    assert path.read_bytes() == data
    assert _cdn_ranges(hub) == [None, "bytes=50000-"]
    assert not list(storage.glob("blobs/*.incomplete"))


def test_disk_full_during_a_batch_download_fails_that_rung_only(
    hub: FakeHub, tmp_path: Path, tiny_model: Path, mix_task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lad = tmp_path / "ladder.toml"
    lad.write_text(
        "[ladders.mixed]\ndescription = 'x'\nrungs = [\n"
        f"  {{ label = 'local', params = 10, path = '{tiny_model}' }},\n"
        f"  {{ label = 'dl', params = 20, repo = '{REPO}', pattern = 'Q8_0' }},\n]\n"
    )
    store = tmp_path / "s.sqlite"
    disk = FullDisk(free=30_000).install(monkeypatch)
    code, out, err = run_cli(batch_args(lad, mix_task, store))
    assert code == 0, err  # one rung of two failed: the run itself completed
    assert "rung dl FAILED" in err and "disk is full" in err and "Traceback" not in err
    doc = json.loads(out)
    status = {r["label"]: (r["status"], r["error"]) for r in doc["rungs"]}
    assert status["local"] == ("done", None)
    assert status["dl"][0] == "failed" and "disk is full" in status["dl"][1]
    assert count_by_rung(item_rows(store)) == {"local": 40}

    disk.free = 1 << 40
    code, out, err = run_cli(batch_args(lad, mix_task, store))
    assert code == 0, err
    assert "40/40 already stored" in err  # the local rung is not redone
    assert {r["label"]: r["status"] for r in json.loads(out)["rungs"]} == {
        "local": "done",
        "dl": "done",
    }
    assert count_by_rung(item_rows(store)) == {"local": 40, "dl": 40}
    assert _cdn_ranges(hub) == [None, "bytes=30000-"]


# --------------------------------------------------------------------------- full disk: the store


def _fill_after_first_rows(kind: str) -> type[Store]:
    """A Store whose disk fills up once the first batch of rows is committed.

    ``"grow"``: real SQLite SQLITE_FULL, by capping ``max_page_count`` at the
    file's current size (SQLite then rolls the transaction back by itself);
    ``"commit"``: COMMIT itself reports the full disk (the WAL could not grow).
    """

    class _Conn:
        def __init__(self, con: sqlite3.Connection) -> None:
            self._con, self.full = con, False

        def execute(self, sql: str, *args: Any) -> Any:
            if self.full and sql.strip().upper() == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return self._con.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    class FillingStore(Store):
        def put_records(self, records: Any) -> int:
            n = super().put_records(records)
            if n:
                if kind == "grow":
                    pages = self._db.execute("PRAGMA page_count").fetchone()[0]
                    self._db.execute(f"PRAGMA max_page_count={pages}")
                elif not isinstance(self._db, _Conn):
                    self._db = _Conn(self._db)  # type: ignore[assignment]
                    self._db.full = True
            return n

    return FillingStore


@pytest.mark.parametrize("kind", ["grow", "commit"])
def test_disk_full_in_the_store_is_one_clear_error_and_keeps_committed_rows(
    kind: str,
    tmp_path: Path,
    tiny_ladder: Path,
    mix_task: Path,
    clean_run: CleanRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "s.sqlite"
    with monkeypatch.context() as m:
        m.setattr("emergetui.run.runner.Store", _fill_after_first_rows(kind))
        code, _, err = run_cli(batch_args(tiny_ladder, mix_task, store))
    assert code == 2
    assert_one_clean_error(err, str(store), "disk is full")
    assert integrity(store) == "ok"
    kept = item_rows(store)
    counts = count_by_rung(kept)
    # The first commit of rows survived (all of the first rung, or its first second's worth on a
    # slow machine), nothing after it was half-written, and what survived is exactly right.
    assert set(counts) == {"small"} and counts["small"] > 0
    compare_rows(kept, clean_run.rows)

    code, out, err = run_cli(batch_args(tiny_ladder, mix_task, store))  # space again: resume
    assert code == 0, err
    rows = item_rows(store)
    assert set(rows) == set(clean_run.rows)
    compare_rows(
        rows,
        clean_run.rows,
        exact_rungs={"large"} | ({"small"} if counts["small"] == 40 else set()),
    )


# ---------------------------------------------------------------------- models that do not load


def _sets(n: int = 4) -> list[ItemSet]:
    items = [
        Item(
            item_id=f"q{i}",
            prompt=f"Q: {i}+1=\nA:",
            choices=(f" {i + 1}", " no"),
            target_scores=(1.0, 0.0),
        )
        for i in range(n)
    ]
    return [
        ItemSet(
            "mc",
            "shots=0",
            items,
            metrics=("multiple_choice_grade",),
            preferred_metric="multiple_choice_grade",
        )
    ]


def test_a_gguf_that_fails_to_load_is_recorded_others_run_and_a_fixed_file_reruns(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    """A GGUF whose header parses but whose tensor data is cut off: llama.cpp refuses it at load."""
    broken = tmp_path / "mid.gguf"
    data = tiny_model_b.read_bytes()
    broken.write_bytes(data[: len(data) * 2 // 3])
    rungs = [Rung("small", 1, tiny_model), Rung("mid", 2, broken), Rung("large", 3, tiny_model_b)]
    cfg = RunConfig(ladder="x", rungs=rungs, item_sets=_sets(), n_gpu_layers=0)
    with Store(tmp_path / "s.sqlite") as store:
        events = list(Runner(cfg, store).events())
        failed = {e.rung: e.error for e in events if isinstance(e, ev.RungFailed)}
        assert set(failed) == {"mid"} and str(broken) in failed["mid"]
        assert events[-1].n_failed_rungs == 1
        assert {r.label: (r.status, r.error) for r in store.rungs(cfg.run_id())} == {
            "small": ("done", None),
            "mid": ("failed", failed["mid"]),
            "large": ("done", None),
        }
        assert count_by_rung(item_rows(store.path)) == {"small": 4, "large": 4}

        broken.write_bytes(data)  # the user re-downloads the file
        events = list(Runner(cfg, store).events())
        assert [e.rung for e in events if isinstance(e, ev.ModelLoaded)] == [
            "mid"
        ]  # only the failed rung works
        assert {r.label: r.status for r in store.rungs(cfg.run_id())} == {
            "small": "done",
            "mid": "done",
            "large": "done",
        }
        assert count_by_rung(item_rows(store.path)) == {"small": 4, "mid": 4, "large": 4}


def test_gpu_out_of_memory_retries_with_fewer_layers(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's wiring of ``fit.load_with_retry``: a load that runs out of GPU memory above
    one layer is retried with half the layers; a model that fails even on the CPU is recorded."""
    from emergetui.models import fit as fit_mod
    from emergetui.models.fit import GB, Memory

    # in_process: the monkeypatches below must reach the rung's work (a worker would not see them)
    monkeypatch.setattr(
        fit_mod,
        "detect_memory",
        lambda: Memory(ram_free=64 * GB, vram_free=80 * GB, source="test GPU"),
    )
    real_load = Engine.load.__func__  # type: ignore[attr-defined]
    tried: dict[str, list[int]] = {}

    def load(cls: type[Engine], path: Any, n_gpu_layers: Any = "auto", *a: Any, **k: Any) -> Engine:
        name = Path(path).name
        tried.setdefault(name, []).append(n_gpu_layers)
        if n_gpu_layers < 0 or n_gpu_layers > 1 or name == Path(tiny_model_b).name:
            raise ModelLoadError(
                f"{path}: CUDA error: out of memory (simulated, {n_gpu_layers} layers)"
            )
        return real_load(cls, path, n_gpu_layers, *a, **k)

    monkeypatch.setattr(Engine, "load", classmethod(load))
    cfg = RunConfig(
        ladder="x",
        rungs=[Rung("small", 1, tiny_model), Rung("large", 2, tiny_model_b)],
        item_sets=_sets(),
        n_gpu_layers="auto",
    )
    with Store(tmp_path / "s.sqlite") as store:
        events = list(Runner(cfg, store, in_process=True).events())
        # small: 2 layers, all on GPU (-1) fails, half (1) loads;
        # large: 3 layers, -1 -> 1 -> 0, all fail
        assert tried == {tiny_model.name: [-1, 1], tiny_model_b.name: [-1, 1, 0]}
        warnings = [
            e.message for e in events if isinstance(e, ev.LogMessage) and e.level == "warning"
        ]
        assert any(
            "small: loading with -1 GPU layers failed" in w and "retrying with 1" in w
            for w in warnings
        )
        assert [(e.rung, e.n_gpu_layers) for e in events if isinstance(e, ev.ModelLoaded)] == [
            ("small", 1)
        ]
        rungs = {r.label: r for r in store.rungs(cfg.run_id())}
        assert (rungs["small"].status, rungs["small"].n_gpu_layers) == ("done", 1)
        assert rungs["large"].status == "failed" and "out of memory" in (rungs["large"].error or "")
        assert count_by_rung(item_rows(store.path)) == {"small": 4}


def test_a_generation_that_never_meets_its_stop_string_ends_at_its_token_bound(
    tmp_path: Path, tiny_model: Path
) -> None:
    bounds = (1, 5, 17, 120)
    items = [
        Item(
            item_id=f"g{k}",
            prompt="the",
            targets=(" the",),
            generate=True,
            stop=("<never>",),
            max_tokens=k,
        )
        for k in bounds
    ]
    items.append(
        Item(
            item_id="toolong",
            prompt="the",
            targets=(" the",),
            generate=True,
            stop=("<never>",),
            max_tokens=10_000,
        )
    )
    cfg = RunConfig(
        ladder="x",
        rungs=[Rung("r", 1, tiny_model)],
        item_sets=[ItemSet("gen", "shots=0", items)],
        n_gpu_layers=0,
        n_ctx=256,
    )
    t0 = time.monotonic()
    with Store(tmp_path / "s.sqlite") as store:
        list(Runner(cfg, store).events())
        recs = {r.item_id: r for r in store.records(cfg.run_id())}
    assert time.monotonic() - t0 < 60
    for k in bounds:
        raw = recs[f"g{k}"].raw
        assert recs[f"g{k}"].error is None
        # "eos" only if the model itself chose to end; it can never run past the bound
        assert (raw.stop_reason, len(raw.generated_tokens)) == ("length", k) or (
            raw.stop_reason == "eos" and len(raw.generated_tokens) < k
        ), (k, raw.stop_reason, len(raw.generated_tokens))
        assert len(raw.generated_logprobs) == len(raw.generated_tokens)
    # a bound the context cannot hold is refused for that item, not truncated silently or hung on
    assert "do not fit the context" in (recs["toolong"].error or "")
