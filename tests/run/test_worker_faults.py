"""A rung's worker dying costs that rung, not the run — and the rung is explained and resumable.

Each test runs a real ladder with the real runner: every rung in its own
worker process running llama.cpp on a tiny GGUF. The faults are real too: a
signal sent from outside at a random moment while the worker scores, a GGUF
that makes llama.cpp ``abort()``, an item that raises inside the worker, a
worker frozen with SIGSTOP. Nothing in the product knows it is being tested.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from emergetui.run import events as ev
from emergetui.run.runner import RunConfig, Runner
from emergetui.store.results import Store
from emergetui.tasks.base import Item, ItemSet
from tests.reliability.support import (
    compare_rows,
    count_by_rung,
    integrity,
    item_rows,
)
from tests.run.conftest import TOTAL, Rows, config_of
from tests.run.support import write_aborting_gguf

WORDS = {
    signal.SIGSEGV: "SIGSEGV",
    signal.SIGABRT: "SIGABRT",
    signal.SIGKILL: "killed by SIGKILL — likely the out-of-memory killer —",
}


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT, signal.SIGKILL], ids=str)
def test_a_worker_killed_mid_scoring_costs_one_rung_and_a_rerun_finishes_it(
    sig: signal.Signals,
    tmp_path: Path,
    ladder3: Path,
    big_task: Path,
    clean_rows: Rows,
) -> None:
    rng = random.Random(int(sig))
    cfg = config_of(ladder3, big_task)
    path = tmp_path / "s.sqlite"
    kills: list[float] = []
    with Store(path) as store:
        runner = Runner(cfg, store, commit_every_s=0.0)
        pid, armed, events = 0, False, []
        for e in runner.events():
            events.append(e)
            if isinstance(e, ev.WorkerStarted) and e.rung == "mid":
                pid, armed = e.pid, True  # SIGKILL is retried once (OOM?): that worker dies too
            elif isinstance(e, ev.ItemsDone) and e.rung == "mid" and armed:
                armed = False
                delay = rng.uniform(0.0, 0.05)
                kills.append(delay)
                threading.Timer(delay, os.kill, (pid, sig)).start()
    failed = [e for e in events if isinstance(e, ev.RungFailed)]
    assert [f.rung for f in failed] == ["mid"], failed
    error = failed[0].error
    assert WORDS[sig] in error and (" while scoring" in error or " while generating" in error), (
        error
    )
    assert failed[0].log and failed[0].log in error and Path(failed[0].log).is_file()
    assert events[-1] == ev.RunFinished(cfg.run_id(), events[-1].elapsed_s, n_failed_rungs=1)
    started = [e.attempt for e in events if isinstance(e, ev.WorkerStarted) and e.rung == "mid"]
    assert started == ([1, 2] if sig == signal.SIGKILL else [1])
    assert integrity(path) == "ok"
    rows = item_rows(path)
    counts = count_by_rung(rows)
    assert counts["small"] == counts["large"] == TOTAL and 0 < counts.get("mid", 0) < TOTAL, kills
    compare_rows(
        rows, clean_rows, exact_rungs={"small", "large"} if sig == signal.SIGKILL else None
    )
    with sqlite3.connect(path) as con:
        status = dict(con.execute("SELECT label, status FROM rungs").fetchall())
    assert status == {"small": "done", "mid": "failed", "large": "done"}

    # the rerun works on the missing items of the failed rung only, and ends as a clean run would
    with Store(path) as store:
        again = list(Runner(cfg, store).events())
    assert [e.rung for e in again if isinstance(e, ev.ModelLoaded)] == ["mid"]
    resumed = [e for e in again if isinstance(e, ev.TaskStarted) and e.rung == "mid"]
    assert [e.n_done for e in resumed] == [counts["mid"]]
    assert not [e for e in again if isinstance(e, ev.RungFailed)]
    rows = item_rows(path)
    assert set(rows) == set(clean_rows)
    compare_rows(rows, clean_rows, exact_rungs={"small", "large"})
    assert integrity(path) == "ok"


def _small_sets() -> list[ItemSet]:
    items = [
        Item(f"q{i}", f"{i} plus 1 is", choices=(f" {i + 1}", " 7"), target_scores=(1.0, 0.0))
        for i in range(6)
    ]
    return [ItemSet("mc", "shots=0", items, metrics=("multiple_choice_grade",))]


def test_a_gguf_that_makes_llama_cpp_abort_is_contained_and_quoted(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    bad = write_aborting_gguf(tmp_path / "bad.gguf")
    rungs = [("small", 1, tiny_model), ("bad", 2, bad), ("large", 3, tiny_model_b)]
    cfg = RunConfig(
        ladder="x",
        rungs=[_rung(*r) for r in rungs],
        item_sets=_small_sets(),
        n_gpu_layers=0,
    )
    with Store(tmp_path / "s.sqlite") as store:
        events = list(Runner(cfg, store).events())
        stored = {r.label: (r.status, r.error) for r in store.rungs(cfg.run_id())}
    failed = {e.rung: e for e in events if isinstance(e, ev.RungFailed)}
    assert set(failed) == {"bad"}
    error = failed["bad"].error
    assert "SIGABRT" in error and "while loading the model" in error, error
    # the assertion llama.cpp died on is quoted from its log, the gdb backtrace is left in the file
    assert "GGML_ASSERT(n_expert_used_max <= hparams.n_expert) failed" in error.splitlines()[-1]
    assert "GGML_ASSERT" in Path(failed["bad"].log).read_text(errors="replace")
    assert stored == {"small": ("done", None), "bad": ("failed", error), "large": ("done", None)}
    assert events[-1].n_failed_rungs == 1


def _rung(label: str, params: int, path: Path) -> object:
    from emergetui.run.runner import Rung

    return Rung(label, params, path)


def test_a_python_exception_in_the_worker_fails_the_rung_with_its_words(
    tmp_path: Path, tiny_model: Path
) -> None:
    """An item whose prompt is not text (a library caller's bug): the engine raises in the
    worker.
    """
    bad = Item("odd", None, choices=(" 2", " 3"), target_scores=(1.0, 0.0))  # type: ignore[arg-type]
    cfg = RunConfig(
        ladder="x",
        rungs=[_rung("r", 1, tiny_model)],  # type: ignore[list-item]
        item_sets=[ItemSet("mc", "shots=0", [bad], metrics=("multiple_choice_grade",))],
        n_gpu_layers=0,
    )
    with Store(tmp_path / "s.sqlite") as store:
        events = list(Runner(cfg, store).events())
    failed = [e for e in events if isinstance(e, ev.RungFailed)]
    assert (
        len(failed) == 1
        and "raised TypeError: object of type 'NoneType' has no len()" in failed[0].error
    ), failed
    assert "Traceback" in Path(failed[0].log).read_text()
    assert isinstance(events[-1], ev.RunFinished) and events[-1].n_failed_rungs == 1


def test_a_worker_that_stops_making_progress_is_stopped_after_the_stall_timeout(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    cfg = RunConfig(
        ladder="x",
        rungs=[_rung("frozen", 1, tiny_model), _rung("next", 2, tiny_model_b)],  # type: ignore[list-item]
        item_sets=_small_sets(),
        n_gpu_layers=0,
        stall_timeout_s=2.0,
    )
    with Store(tmp_path / "s.sqlite") as store:
        events = []
        for e in Runner(cfg, store).events():
            events.append(e)
            if isinstance(e, ev.WorkerStarted) and e.rung == "frozen":
                os.kill(e.pid, signal.SIGSTOP)  # alive, silent: a hung decode looks like this
        stored = {r.label: r.status for r in store.rungs(cfg.run_id())}
    failed = [e for e in events if isinstance(e, ev.RungFailed)]
    assert [f.rung for f in failed] == ["frozen"]
    assert "no progress for 2s (the stall timeout)" in failed[0].error
    assert stored == {"frozen": "failed", "next": "done"}
