"""HF_TOKEN never ends up in logs, reports, exports or the store.

The token is a credential: emergetui may send it to the Hub host and nowhere
else (tests/hub checks it is not forwarded to the CDN), and must not write it
anywhere. This test sets a sentinel token, has it actually used (a private
repo that needs it, a gated repo that refuses it, a download cut half way so
the retry path formats its errors), then runs the batch, ``report``,
``export`` and ``runs`` and searches everything they printed, logged or wrote,
byte by byte.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from emergetui.cli import main
from tests.hub.fake_hub import FakeHub

from .support import batch_args, count_by_rung, item_rows

TOKEN = "hf_SentinelToken_do_not_leak_9f8e7d6c5b4a"
OTHER = "hf_TheOnlyTokenTheGatedRepoTakes_0000"


@pytest.fixture()
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path) -> Iterator[FakeHub]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with FakeHub() as h:
        data = tiny_model.read_bytes()
        h.add_repo("org/private-GGUF", {"private-Q8_0.gguf": data}, token=TOKEN)
        h.add_repo(
            "org/gated-GGUF", {"gated-Q8_0.gguf": data[:-1] + b"\0"}, gated=True, token=OTHER
        )
        h.cut_after["private-Q8_0.gguf"] = 20_000
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


def test_hf_token_is_used_but_never_written_or_logged(
    hub: FakeHub, tmp_path: Path, mix_task: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lad = tmp_path / "ladder.toml"
    lad.write_text(
        "[ladders.hubbed]\ndescription = 'x'\npattern = 'Q8_0'\nrungs = [\n"
        "  { label = 'private', params = 10, repo = 'org/private-GGUF' },\n"
        "  { label = 'gated', params = 20, repo = 'org/gated-GGUF' },\n]\n"
    )
    store, out_dir, export = tmp_path / "s.sqlite", tmp_path / "report", tmp_path / "items.jsonl"
    printed = io.StringIO()
    caplog.set_level(logging.DEBUG)  # everything any library logs, huggingface_hub's debug included
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        assert main(batch_args(lad, mix_task, store)) == 0
        for argv in (
            ["report", "last", "--out", str(out_dir)],
            ["export", "last", "--out", str(export)],
            ["export", "last"],
            ["runs"],
        ):
            assert main([*argv, "--store", str(store)]) == 0
    text = printed.getvalue()

    # the token was really in play: sent to the Hub host for the private repo, refused by the
    # gated one
    assert any(
        r.headers.get("authorization") == f"Bearer {TOKEN}"
        for r in hub.requests
        if "/resolve/" in r.path
    )
    assert "rung gated FAILED" in text and "hf auth login" in text
    assert count_by_rung(item_rows(store)) == {"private": 40}
    assert (out_dir / "report.md").is_file() and export.stat().st_size > 0

    assert TOKEN not in text
    assert TOKEN not in caplog.text and all(TOKEN not in str(r.args) for r in caplog.records)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("s.sqlite") for p in written) and len(written) > 10
    leaks = [str(p) for p in written if TOKEN.encode() in p.read_bytes()]
    assert leaks == []
