"""Downloads through the fake Hub: patterns, shards, resume, offline, auth, disk space, sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_hub import FakeHub

from emergetui.models.gguf_info import read_model_info
from emergetui.models.hub import (
    DownloadProgress,
    HubError,
    HubSettings,
    ensure_rung,
    is_cached,
    resolve_files,
)
from emergetui.models.ladders import RungSpec

OFFICIAL = "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
MRADER = "mradermacher/Qwen2.5-0.5B-GGUF"
SPLIT = "Qwen/Qwen2.5-7B-Instruct-GGUF"
S1, S2 = (
    "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
    "qwen2.5-7b-instruct-q4_k_m-00002-of-00002.gguf",
)
TOKEN = "hf_SeCrEtToKeN0123456789"


def settings(
    hub: FakeHub, tmp_path: Path, token: str | None = None, offline: bool = False
) -> HubSettings:
    return HubSettings(hub.url, tmp_path / "hf" / "hub", offline, token)


def rung(repo: str, pattern: str = "Q4_K_M", **kw: object) -> RungSpec:
    return RungSpec(label="r", params=1, repo=repo, pattern=pattern, **kw)  # type: ignore[arg-type]


@pytest.fixture()
def repos(fake_hub: FakeHub, gguf_bytes: dict[str, bytes]) -> FakeHub:
    one = gguf_bytes["single"]
    fake_hub.add_repo(
        OFFICIAL,
        {
            "qwen2.5-0.5b-instruct-q4_k_m.gguf": one,
            "qwen2.5-0.5b-instruct-q8_0.gguf": one[:-1] + b"x",
            "README.md": b"hi",
        },
    )
    fake_hub.add_repo(
        MRADER, {"Qwen2.5-0.5B.Q4_K_M.gguf": one, "Qwen2.5-0.5B.Q4_K_S.gguf": one[:100]}
    )
    fake_hub.add_repo(SPLIT, {S1: gguf_bytes["shard1"], S2: gguf_bytes["shard2"]})
    return fake_hub


def test_settings_follow_the_environment(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    s = HubSettings.from_env()
    assert (s.endpoint, s.cache_dir, s.offline, s.token) == (
        fake_hub.url,
        tmp_path / "hf" / "hub",
        False,
        TOKEN,
    )
    assert TOKEN not in repr(s)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert HubSettings.from_env().offline


@pytest.mark.parametrize(
    ("repo", "name"),
    [(OFFICIAL, "qwen2.5-0.5b-instruct-q4_k_m.gguf"), (MRADER, "Qwen2.5-0.5B.Q4_K_M.gguf")],
)
def test_download_resolves_pattern_and_lands_in_hf_cache(
    repos: FakeHub, gguf_bytes: dict[str, bytes], tmp_path: Path, repo: str, name: str
) -> None:
    s = settings(repos, tmp_path)
    r = rung(repo)
    files = resolve_files(r, offline=False, settings=s)
    assert [(f.name, f.size, f.sha256) for f in files] == [
        (name, len(gguf_bytes["single"]), hashlib.sha256(gguf_bytes["single"]).hexdigest())
    ]
    events: list[DownloadProgress] = []
    path = ensure_rung(r, events.append, settings=s)
    commit = repos.repos[repo].commit
    assert path == s.cache_dir / f"models--{repo.replace('/', '--')}" / "snapshots" / commit / name
    assert path.read_bytes() == gguf_bytes["single"]
    assert events[-1].overall_downloaded == events[-1].overall_total == len(gguf_bytes["single"])
    assert events[-1].files_done == events[-1].files_total == 1 and events[-1].file == name
    assert all(a.downloaded <= b.downloaded for a, b in zip(events, events[1:], strict=False))
    assert is_cached(r, s)
    gets = repos.count("GET", "/cdn/")
    assert ensure_rung(r, settings=s) == path and repos.count("GET", "/cdn/") == gets


def test_split_model_fetches_every_shard_and_returns_the_first(
    repos: FakeHub, tmp_path: Path
) -> None:
    s = settings(repos, tmp_path)
    events: list[DownloadProgress] = []
    path = ensure_rung(rung(SPLIT), events.append, settings=s)
    assert path.name == S1 and (path.parent / S2).is_file()
    assert events[-1].files_done == 2 and events[-1].overall_downloaded == events[-1].overall_total
    info = read_model_info(path)
    assert info.n_layers == 2 and len(info.shards) == 2 and all(b > 0 for b in info.layer_bytes)
    assert info.output_bytes > 0 and info.architecture == "llama"


def test_connection_cut_mid_file_is_resumed_with_range(
    repos: FakeHub, tmp_path: Path, gguf_bytes: dict[str, bytes]
) -> None:
    repos.cut_after["qwen2.5-0.5b-instruct-q4_k_m.gguf"] = 1000
    path = ensure_rung(rung(OFFICIAL), settings=settings(repos, tmp_path))
    assert path.read_bytes() == gguf_bytes["single"]
    cdn = [r for r in repos.requests if r.path.startswith("/cdn/") and r.method == "GET"]
    assert [r.headers.get("range") for r in cdn] == [None, "bytes=1000-"]


def test_partial_file_from_an_earlier_run_is_resumed(
    repos: FakeHub, tmp_path: Path, gguf_bytes: dict[str, bytes]
) -> None:
    s = settings(repos, tmp_path)
    data = gguf_bytes["single"]
    blobs = s.cache_dir / f"models--{OFFICIAL.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / f"{hashlib.sha256(data).hexdigest()}.incomplete").write_bytes(data[:1500])
    events: list[DownloadProgress] = []
    assert ensure_rung(rung(OFFICIAL), events.append, settings=s).read_bytes() == data
    assert events[0].downloaded == 1500
    cdn = [r for r in repos.requests if r.path.startswith("/cdn/") and r.method == "GET"]
    assert [r.headers.get("range") for r in cdn] == ["bytes=1500-"]
    assert not list(blobs.glob("*.incomplete"))


def test_offline_uses_cache_only_and_never_the_network(
    repos: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = settings(repos, tmp_path)
    path = ensure_rung(rung(OFFICIAL), settings=online)
    before = len(repos.requests)
    offline = settings(repos, tmp_path, offline=True)
    assert ensure_rung(rung(OFFICIAL), settings=offline) == path
    assert ensure_rung(rung(OFFICIAL), offline=True, settings=online) == path
    assert (
        resolve_files(rung(OFFICIAL), offline=True, settings=online)[0].size == path.stat().st_size
    )
    with pytest.raises(HubError, match="not in the cache.*HF_HUB_OFFLINE"):
        ensure_rung(rung(SPLIT), settings=offline)
    with pytest.raises(HubError, match="not in the cache"):
        ensure_rung(rung(OFFICIAL, pattern="Q8_0"), settings=offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert ensure_rung(rung(OFFICIAL)) == path  # settings from the environment
    assert not is_cached(rung(MRADER), online)
    assert len(repos.requests) == before


def test_unreachable_hub_falls_back_to_a_cached_rung(
    repos: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings(repos, tmp_path)
    path = ensure_rung(rung(OFFICIAL), settings=s)
    import huggingface_hub

    def down(*a: object, **k: object) -> None:
        raise ConnectionError("network is down")

    monkeypatch.setattr(huggingface_hub.HfApi, "list_repo_tree", down)
    assert ensure_rung(rung(OFFICIAL), settings=s) == path
    with pytest.raises(HubError, match="cannot reach .*HF_HUB_OFFLINE=1") as info:
        ensure_rung(rung(MRADER), settings=s)
    assert info.value.network


def test_gated_repo_asks_to_log_in_and_never_leaks_the_token(
    fake_hub: FakeHub, gguf_bytes: dict[str, bytes], tmp_path: Path
) -> None:
    fake_hub.add_repo(
        "meta/gated-GGUF", {"m-Q4_K_M.gguf": gguf_bytes["single"]}, gated=True, token=TOKEN
    )
    r = rung("meta/gated-GGUF")
    with pytest.raises(HubError, match="no Hugging Face token.*hf auth login.*HF_TOKEN"):
        ensure_rung(r, settings=settings(fake_hub, tmp_path))
    wrong = "hf_WrongToken987654321"
    with pytest.raises(HubError) as info:
        ensure_rung(r, settings=settings(fake_hub, tmp_path, token=wrong))
    assert "hf auth login" in str(info.value) and wrong not in str(info.value)
    assert "does not grant access" in str(info.value)
    path = ensure_rung(r, settings=settings(fake_hub, tmp_path, token=TOKEN))
    assert path.read_bytes() == gguf_bytes["single"]
    resolve = [q for q in fake_hub.requests if "/resolve/" in q.path]
    cdn = [q for q in fake_hub.requests if q.path.startswith("/cdn/")]
    assert resolve[-1].headers.get("authorization") == f"Bearer {TOKEN}"
    assert cdn and all("authorization" not in q.headers for q in cdn)  # never sent off the Hub host


def test_unknown_repo_is_a_clear_error(fake_hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="repository nobody/nothing-GGUF not found"):
        ensure_rung(rung("nobody/nothing-GGUF"), settings=settings(fake_hub, tmp_path))


def test_refuses_when_the_disk_is_too_small(repos: FakeHub, tmp_path: Path) -> None:
    s = settings(repos, tmp_path)
    seen: list[str] = []

    def tiny_disk(path: str) -> SimpleNamespace:
        seen.append(path)
        return SimpleNamespace(total=10**9, used=10**9 - 5000, free=5000)

    with pytest.raises(
        HubError, match="not enough disk space for r: .* GB to download but only 0.00 GB free"
    ):
        ensure_rung(rung(SPLIT), disk_usage=tiny_disk, settings=s)
    assert seen and repos.count("GET", "/cdn/") == 0
    assert not is_cached(rung(SPLIT), s)


def test_sha256_mismatch_is_an_error_and_leaves_nothing_usable(
    repos: FakeHub, tmp_path: Path
) -> None:
    repos.repos[OFFICIAL].corrupt.add("qwen2.5-0.5b-instruct-q4_k_m.gguf")
    s = settings(repos, tmp_path)
    with pytest.raises(
        HubError, match="sha256 mismatch for qwen2.5-0.5b-instruct-q4_k_m.gguf.*deleted"
    ):
        ensure_rung(rung(OFFICIAL), settings=s)
    storage = s.cache_dir / f"models--{OFFICIAL.replace('/', '--')}"
    assert not list(storage.rglob("*.gguf")) and not list((storage / "blobs").iterdir())
    assert not is_cached(rung(OFFICIAL), s)


def test_pinned_sha256_must_match_the_repo(repos: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="not the pinned"):
        ensure_rung(rung(OFFICIAL, sha256="0" * 64), settings=settings(repos, tmp_path))
    assert repos.count("GET", "/cdn/") == 0


def test_local_path_rungs_are_only_validated(tmp_path: Path, gguf_bytes: dict[str, bytes]) -> None:
    p = tmp_path / "local.gguf"
    p.write_bytes(gguf_bytes["single"])
    sha = hashlib.sha256(gguf_bytes["single"]).hexdigest()
    s = HubSettings("http://127.0.0.1:9", tmp_path / "cache", False, None)
    assert ensure_rung(RungSpec("l", 1, path=p, sha256=sha), settings=s) == p
    assert is_cached(RungSpec("l", 1, path=p), s)
    with pytest.raises(HubError, match="does not match the sha256"):
        ensure_rung(RungSpec("l", 1, path=p, sha256="1" * 64), settings=s)
    with pytest.raises(HubError, match="not found"):
        ensure_rung(RungSpec("l", 1, path=tmp_path / "nope.gguf"), settings=s)


def test_revision_pinned_to_a_commit_works_online_and_offline(
    repos: FakeHub, tmp_path: Path
) -> None:
    commit = repos.repos[MRADER].commit
    r = rung(MRADER, revision=commit)
    path = ensure_rung(r, settings=settings(repos, tmp_path))
    assert path.parent.name == commit
    assert ensure_rung(r, settings=settings(repos, tmp_path, offline=True)) == path
    with pytest.raises(HubError, match="revision 'v9' not found in mradermacher/Qwen2.5-0.5B-GGUF"):
        ensure_rung(rung(MRADER, revision="v9"), settings=settings(repos, tmp_path))


def test_downloaded_split_model_loads_in_llama_cpp(repos: FakeHub, tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    path = ensure_rung(rung(SPLIT), settings=settings(repos, tmp_path))
    model = llama_cpp.Llama(str(path), n_ctx=32, n_gpu_layers=0, verbose=False)
    assert model.n_vocab() == 3 + 256 + 8
    model.close()
