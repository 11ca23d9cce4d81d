"""Fixtures for the ladder / hub / fit tests: a fake Hub, an isolated HF cache, tiny GGUFs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_hub import FakeHub
from tiny_gguf import write_gguf


@pytest.fixture(scope="session")
def gguf_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Bytes of a single-file model and of a 2-shard model, written once per session."""
    d = tmp_path_factory.mktemp("gguf")
    single = write_gguf(d / "single.gguf").read_bytes()
    s1 = write_gguf(d / "s1.gguf", n_layers=2, layers=range(0, 1), split=(0, 2)).read_bytes()
    s2 = write_gguf(d / "s2.gguf", n_layers=2, layers=range(1, 2), split=(1, 2)).read_bytes()
    return {"single": single, "shard1": s1, "shard2": s2}


@pytest.fixture()
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    """A running fake Hub with HF_* pointing at it and at a private cache under tmp_path."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub
