"""Fixtures for the reliability tests: a tiny two-rung ladder, a fast mixed task, a clean reference
run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .support import Key, batch_args, item_rows, write_ladder, write_mix_task


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test here may reach the network or a real HF cache/token, or spin two llama.cpp threads.

    One llama.cpp thread: the CI machine is 2 shared cores, where ggml's
    spinning thread pool is ~100x slower once oversubscribed; results do not
    depend on the thread count (asserted in test_determinism).
    """
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_CACHE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    # Not HF_HUB_OFFLINE: huggingface_hub reads it once, at import, for the whole session.
    # A port nothing listens on makes any request that was not meant to happen fail at once.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr("emergetui.engine.engine.physical_cores", lambda: 1)
    yield


@pytest.fixture(scope="session")
def mix_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mix_task(tmp_path_factory.mktemp("mixtask"))


@pytest.fixture(scope="session")
def tiny_ladder(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_model_b: Path
) -> Path:
    return write_ladder(
        tmp_path_factory.mktemp("ladder") / "ladder.toml",
        [("small", 20000, tiny_model), ("large", 90000, tiny_model_b)],
    )


@dataclass(frozen=True)
class CleanRun:
    """An uninterrupted run of the mixed task over the tiny ladder: the reference every crash is
    judged by.
    """

    store: Path
    run_id: str
    doc: dict[str, Any]
    rows: dict[Key, dict[str, Any]]


@pytest.fixture(scope="session")
def clean_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_ladder: Path, mix_task: Path
) -> CleanRun:
    """Run once per session, in this process, with the CLI (one llama.cpp thread, as in the
    children).
    """
    import contextlib
    import io

    from emergetui.cli import main

    mp = pytest.MonkeyPatch()
    mp.setattr("emergetui.engine.engine.physical_cores", lambda: 1)
    store = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(batch_args(tiny_ladder, mix_task, store))
    finally:
        mp.undo()
    assert code == 0, err.getvalue()
    doc = json.loads(out.getvalue())
    rows = item_rows(store, doc["run_id"])
    assert len(rows) == 2 * 40
    return CleanRun(store, doc["run_id"], doc, rows)
