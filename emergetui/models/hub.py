"""Getting rung files from the Hugging Face Hub into the standard HF cache.

huggingface_hub does the Hub protocol (listing, HEAD metadata, auth, cache
layout), but since 1.x it no longer resumes a download interrupted in an
earlier process: its temporary file is unique per process and deleted on
failure. A 72B rung is ~47 GB, so the bytes are fetched here instead, into a
persistent ``blobs/<etag>.incomplete`` that the next run continues with an
HTTP Range request, then checked (size, sha256) and handed to
``hf_hub_download``, which finds the blob and links it into the snapshot.

Every function reads HF_ENDPOINT / HF_HUB_CACHE / HF_HOME / HF_HUB_OFFLINE /
HF_TOKEN when called (:class:`HubSettings`), not when huggingface_hub was
imported, so the settings in force are the ones the user sees.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

from emergetui.errors import EmergetuiError
from emergetui.hashing import file_sha256
from emergetui.models.ladders import LadderError, RungSpec, is_safe_relative, select_gguf_files
from emergetui.models.progress import DownloadProgress

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_LOGIN_HINT = (
    "log in with `hf auth login` or set HF_TOKEN "
    "(and accept the model's terms on its Hub page if it is gated)"
)
_log = logging.getLogger(__name__)
DiskUsage = Callable[[str], Any]
ProgressFn = Callable[["DownloadProgress"], None]


class HubError(EmergetuiError, RuntimeError):
    """A rung's files cannot be found, fetched or verified; the message says what to do."""

    def __init__(self, message: str, *, network: bool = False) -> None:
        super().__init__(message)
        self.network = network


@dataclass(frozen=True)
class RemoteFile:
    """One file of a rung as the repo lists it (sha256 is the LFS oid when known)."""

    name: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class HubSettings:
    """Hub endpoint, cache, offline flag and token, read from the environment at call time."""

    endpoint: str
    cache_dir: Path
    offline: bool
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> HubSettings:
        from huggingface_hub import constants, get_token

        endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        home = os.environ.get("HF_HOME")
        cache = os.environ.get("HF_HUB_CACHE") or (
            os.path.join(home, "hub") if home else constants.HF_HUB_CACHE
        )
        flag = os.environ.get("HF_HUB_OFFLINE")
        offline = (
            constants.HF_HUB_OFFLINE
            if flag is None
            else flag.strip().lower() in {"1", "true", "yes", "on"}
        )
        return cls(endpoint, Path(cache).expanduser(), offline, get_token())


def resolve_files(
    rung: RungSpec, offline: bool, settings: HubSettings | None = None
) -> list[RemoteFile]:
    """The files (first shard first) that make up ``rung``; offline: from the cache only."""
    s = settings or HubSettings.from_env()
    if rung.path is not None:
        size = rung.path.stat().st_size if rung.path.is_file() else None
        return [RemoteFile(str(rung.path), size, rung.sha256)]
    if offline:
        return _resolve_cached(rung, s)[0]
    return _resolve_online(rung, s)


def is_cached(rung: RungSpec, settings: HubSettings | None = None) -> bool:
    """Whether ``rung`` can run without the network (never touches it)."""
    try:
        return (
            rung.path.is_file()
            if rung.path
            else bool(_resolve_cached(rung, settings or HubSettings.from_env()))
        )
    except HubError:
        return False


def ensure_rung(
    rung: RungSpec,
    on_progress: ProgressFn | None = None,
    offline: bool | None = None,
    disk_usage: DiskUsage = shutil.disk_usage,
    settings: HubSettings | None = None,
) -> Path:
    """Make ``rung`` available locally and return the path llama.cpp should load.

    For split models every shard is fetched and the first shard's path is
    returned. Offline (``offline=True`` or HF_HUB_OFFLINE) only the cache is
    consulted and no request is made.
    """
    s = settings or HubSettings.from_env()
    if rung.path is not None:
        return _check_local(rung)
    if not (s.offline if offline is None else offline):
        try:
            return _download(rung, s, on_progress, disk_usage)
        except HubError as exc:  # Hub unreachable: a complete cached copy still does
            if not (exc.network and is_cached(rung, s)):
                raise
            _log.warning("%s; using the cached copy of %s", exc, rung.label)
    files, snap = _resolve_cached(rung, s)
    return snap / files[0].name


def _download(
    rung: RungSpec, s: HubSettings, on_progress: ProgressFn | None, disk_usage: DiskUsage
) -> Path:
    files = _resolve_online(rung, s)
    storage = _storage_dir(s, rung.repo or "")
    metas = [_metadata(rung, f, s) for f in files]
    commit = metas[0].commit_hash
    todo = [(f, m) for f, m in zip(files, metas, strict=True) if not _cached_ok(storage, f, m)]
    if todo:
        _check_disk(rung, s, storage, todo, disk_usage)
        meter = _Meter(rung.label, files, on_progress)
        meter.files_done = len(files) - len(todo)
        meter.overall_done = sum(f.size or 0 for f in files) - sum(f.size or 0 for f, _ in todo)
        for f, meta in todo:
            _download_one(rung, f, meta, s, storage, meter)
    _write_ref(storage, rung.revision or "main", commit)
    return storage / "snapshots" / commit / files[0].name


def _check_local(rung: RungSpec) -> Path:
    """A pinned sha256 on a local file is checked on every use: pins are deliberate."""
    from emergetui.models.gguf_info import shard_paths

    assert rung.path is not None
    missing = [p for p in shard_paths(rung.path) if not p.is_file()]
    if missing:
        raise HubError(f"{rung.label}: local model file not found: {missing[0]}")
    if rung.sha256 and file_sha256(rung.path) != rung.sha256:
        raise HubError(f"{rung.label}: {rung.path} does not match the sha256 pinned for it")
    return rung.path


def _cached_ok(storage: Path, f: RemoteFile, meta: Any) -> bool:
    """True if the snapshot has this file at its full size; a truncated copy is removed."""
    pointer = storage / "snapshots" / meta.commit_hash / f.name
    size = meta.size if meta.size is not None else f.size
    if pointer.exists() and size not in (None, pointer.stat().st_size):
        blob = pointer.resolve()
        pointer.unlink()
        blob.unlink(missing_ok=True)
    return pointer.exists()


def _storage_dir(s: HubSettings, repo: str) -> Path:
    return s.cache_dir / ("models--" + repo.replace("/", "--"))


def _resolve_cached(rung: RungSpec, s: HubSettings) -> tuple[list[RemoteFile], Path]:
    storage = _storage_dir(s, rung.repo or "")
    rev = rung.revision or "main"
    hint = f"{rung.label} ({rung.describe()}) is not in the cache at {s.cache_dir}"
    ref = storage / "refs" / rev
    commit = (
        rev
        if _COMMIT_RE.match(rev)
        else ref.read_text().strip()
        if is_safe_relative(rev) and ref.is_file()
        else ""
    )
    snap = storage / "snapshots" / commit
    if not _COMMIT_RE.match(commit) or not snap.is_dir():
        raise HubError(
            f"{hint}; download it while online (e.g. `emergetui pull`) or unset HF_HUB_OFFLINE"
        )
    names = [p.relative_to(snap).as_posix() for p in snap.rglob("*.gguf") if p.is_file()]
    try:
        chosen = select_gguf_files(rung, names)
    except LadderError as exc:
        raise HubError(
            f"{hint} ({exc}); download it while online or unset HF_HUB_OFFLINE"
        ) from None
    blobs = {n: (snap / n).resolve().name for n in chosen}  # LFS blobs are named by their sha256
    return [
        RemoteFile(n, (snap / n).stat().st_size, b if _SHA256_RE.match(b) else None)
        for n, b in blobs.items()
    ], snap


def _resolve_online(rung: RungSpec, s: HubSettings) -> list[RemoteFile]:
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    api = HfApi(endpoint=s.endpoint, token=s.token or False, library_name="emergetui")
    try:
        tree = api.list_repo_tree(rung.repo or "", recursive=True, revision=rung.revision)
        by_name = {e.path: e for e in tree if isinstance(e, RepoFile)}
    except Exception as exc:  # noqa: BLE001 - every failure becomes one actionable HubError
        raise _as_hub_error(exc, rung, s, "listing") from None
    try:
        chosen = select_gguf_files(rung, by_name)
    except LadderError as exc:
        raise HubError(f"{rung.label}: {exc}") from None
    entries = [by_name[n] for n in chosen]
    files = [
        RemoteFile(e.path, e.lfs.size if e.lfs else e.size, e.lfs.sha256 if e.lfs else None)
        for e in entries
    ]
    if len(files) > 1 or not (rung.sha256 or rung.size):  # pins apply to single-file rungs
        return files
    f = files[0]
    for what, pinned, listed in (("sha256", rung.sha256, f.sha256), ("size", rung.size, f.size)):
        if pinned and listed and pinned != listed:
            raise HubError(
                f"{rung.label}: {f.name} in {rung.repo} has {what} {listed}, "
                f"not the pinned {pinned}"
            )
    return [RemoteFile(f.name, f.size or rung.size, f.sha256 or rung.sha256)]


def _metadata(rung: RungSpec, f: RemoteFile, s: HubSettings) -> Any:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(rung.repo or "", f.name, revision=rung.revision, endpoint=s.endpoint)
    try:
        meta = get_hf_file_metadata(url, token=s.token or False, endpoint=s.endpoint)
    except Exception as exc:  # noqa: BLE001
        raise _as_hub_error(exc, rung, s, f"fetching metadata of {f.name}") from None
    if not _COMMIT_RE.match(meta.commit_hash or "") or not is_safe_relative(meta.etag or ""):
        raise HubError(
            f"{rung.label}: {s.endpoint} did not answer like a Hugging Face Hub "
            f"(commit {meta.commit_hash!r}, ETag {meta.etag!r} for {f.name})"
        )
    return meta


def _check_disk(
    rung: RungSpec,
    s: HubSettings,
    storage: Path,
    todo: list[tuple[RemoteFile, Any]],
    disk_usage: DiskUsage,
) -> None:
    need = 0
    for f, meta in todo:
        size = meta.size if meta.size is not None else (f.size or 0)
        partial = storage / "blobs" / f"{meta.etag}.incomplete"
        need += max(0, size - (partial.stat().st_size if partial.is_file() else 0))
    probe = s.cache_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = disk_usage(str(probe)).free
    if need + 64 * (1 << 20) > free:
        raise HubError(
            f"not enough disk space for {rung.label}: {need / 1e9:.2f} GB to download but only "
            f"{free / 1e9:.2f} GB free at {s.cache_dir}. Free some space, or set HF_HUB_CACHE "
            "(or HF_HOME) to a folder on a bigger disk"
        )


def _download_one(
    rung: RungSpec, f: RemoteFile, meta: Any, s: HubSettings, storage: Path, meter: _Meter
) -> None:
    blobs = storage / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blob = blobs / meta.etag
    size = meta.size if meta.size is not None else f.size
    expected_sha = f.sha256 or (meta.etag if _SHA256_RE.match(meta.etag) else None)
    partial = blobs / f"{meta.etag}.incomplete"
    if blob.is_file():  # same bytes already cached for another revision or repo
        meter.start_file(f.name, size, size or 0)
    else:
        meter.start_file(f.name, size, partial.stat().st_size if partial.is_file() else 0)
        _fetch(rung, f.name, meta.location, s, partial, size, meter)
        got = partial.stat().st_size
        bad = (
            f"size mismatch for {f.name}: expected {size} bytes, got {got}"
            if size not in (None, got)
            else ""
        )
        if not bad and expected_sha and (actual := file_sha256(partial)) != expected_sha:
            bad = f"sha256 mismatch for {f.name}: expected {expected_sha}, got {actual}"
        if bad:  # never leave bytes where a later run would trust them
            partial.unlink(missing_ok=True)
            raise HubError(
                f"{rung.label}: {bad}. The corrupt download was deleted; run again to re-download"
            )
        os.replace(partial, blob)
    _link(rung, f, meta, s)
    meter.finish_file()


def _link(rung: RungSpec, f: RemoteFile, meta: Any, s: HubSettings) -> None:
    """Let huggingface_hub create the snapshot pointer (symlink, or copy where unsupported)."""
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(
            rung.repo or "",
            f.name,
            revision=meta.commit_hash,
            cache_dir=s.cache_dir,
            endpoint=s.endpoint,
            token=s.token or False,
        )
    except Exception as exc:  # noqa: BLE001
        raise _as_hub_error(exc, rung, s, f"linking {f.name} into the cache") from None


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    """Record branch -> commit so that offline runs find the snapshot."""
    if _COMMIT_RE.match(revision) or not is_safe_relative(revision):
        return
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


def _fetch(
    rung: RungSpec,
    name: str,
    url: str,
    s: HubSettings,
    partial: Path,
    size: int | None,
    meter: _Meter,
    attempts: int = 5,
) -> None:
    """GET ``url`` into ``partial``, resuming from its current size; retries while bytes flow."""
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers

    ua = build_hf_headers(token=False, library_name="emergetui").get("user-agent", "emergetui")
    same_host = urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(s.endpoint).netloc
    stalled, last_error = 0, ""
    while stalled < attempts:
        have = partial.stat().st_size if partial.is_file() else 0
        if size is not None and have > size:  # not ours to trust: start over
            partial.unlink()
            have = 0
        if size is not None and have == size:
            return
        req = urllib.request.Request(url, headers={"User-Agent": ua, "Accept-Encoding": "identity"})
        if s.token and same_host:
            req.add_unredirected_header("Authorization", f"Bearer {s.token}")
        if have:
            req.add_header("Range", f"bytes={have}-")
        before = have
        try:
            with urllib.request.urlopen(req, timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT) as resp:
                restart = have > 0 and resp.status == 200  # server ignored Range: start over
                if restart:
                    meter.rewind(have)
                    before = 0
                with partial.open("wb" if restart or not have else "ab") as out:
                    while chunk := resp.read(_CHUNK):
                        out.write(chunk)
                        meter.add(len(chunk))
            if size is None:
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # Range past the end: the partial is not this file
                partial.unlink()
                meter.rewind(have)
                continue
            if exc.code in (401, 403):
                raise HubError(
                    f"{rung.label}: access to {name} in {rung.repo} was refused "
                    f"(HTTP {exc.code}); {_LOGIN_HINT}"
                ) from None
            last_error = f"HTTP {exc.code}"
        except (urllib.error.URLError, HTTPException, OSError) as exc:
            if (
                getattr(exc, "errno", None) in _DISK_FULL
            ):  # retrying cannot help, and it is no network error
                kept = partial.stat().st_size if partial.is_file() else 0
                raise HubError(
                    f"{rung.label}: the disk is full: {name} could not be written to "
                    f"{partial.parent} ({kept} of {size if size is not None else '?'} bytes "
                    "are kept and will be resumed). Free some space, or set HF_HUB_CACHE "
                    "(or HF_HOME) to a folder on a bigger disk, then run again"
                ) from None
            last_error = _scrub(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", s.token)
        grew = (partial.stat().st_size if partial.is_file() else 0) > before
        stalled = 0 if grew else stalled + 1
        if stalled < attempts:
            time.sleep(min(0.2 * 2**stalled, 5.0))
    raise HubError(
        f"{rung.label}: download of {name} failed ({last_error or 'no data'}); the partial "
        f"file is kept at {partial} and the next run resumes it",
        network=True,
    )


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "hf_***") if token else text


def _as_hub_error(exc: Exception, rung: RungSpec, s: HubSettings, doing: str) -> HubError:
    """Turn huggingface_hub / httpx errors into one message that says what to do next."""
    from huggingface_hub import errors

    repo, status = rung.repo, getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, errors.GatedRepoError) or status in (401, 403):
        who = "your token does not grant access" if s.token else "no Hugging Face token is set"
        return HubError(f"{rung.label}: {repo} refused access ({who}); {_LOGIN_HINT}")
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{rung.label}: revision {rung.revision!r} not found in {repo}")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(
            f"{rung.label}: repository {repo} not found at {s.endpoint}; check the repo id, "
            f"or if it is private or gated, {_LOGIN_HINT}"
        )
    first_line = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", s.token)
    if isinstance(exc, errors.HfHubHTTPError):
        return HubError(f"{rung.label}: the Hub answered HTTP {status} while {doing}: {first_line}")
    return HubError(
        f"{rung.label}: cannot reach {s.endpoint} while {doing} "
        f"({type(exc).__name__}: {first_line}); check the "
        "connection or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use cached models only",
        network=True,
    )


class _Meter:
    """Turns byte counts into throttled :class:`DownloadProgress` events (speed over ~5 s)."""

    def __init__(self, rung: str, files: list[RemoteFile], on_progress: ProgressFn | None) -> None:
        self.rung, self.on_progress, self.files_total = rung, on_progress, len(files)
        sizes = [f.size for f in files]
        self.overall_total = None if None in sizes else sum(x or 0 for x in sizes)
        self.files_done = self.overall_done = self.done = self.fresh = 0
        self.file, self.last = "", 0.0
        self.total: int | None = None
        self.window: deque[tuple[float, int]] = deque()

    def start_file(self, name: str, total: int | None, already: int) -> None:
        self.file, self.total, self.done = name, total, already
        self._emit(force=True)

    def add(self, n: int) -> None:
        self.done += n
        self.fresh += n
        self._emit()

    def rewind(self, n: int) -> None:
        self.done = max(0, self.done - n)

    def finish_file(self) -> None:
        self.done = self.total if self.total is not None else self.done
        self.files_done += 1
        self.overall_done += self.done
        self._emit(force=True, finished=True)

    def _emit(self, force: bool = False, finished: bool = False) -> None:
        now = time.monotonic()
        self.window.append((now, self.fresh))
        while len(self.window) > 2 and now - self.window[0][0] > 5.0:
            self.window.popleft()
        if self.on_progress is None or (not force and now - self.last < 0.1):
            return
        self.last = now
        t0, b0 = self.window[0]
        speed = (self.fresh - b0) / (now - t0) if now > t0 else 0.0
        left = None if self.total is None else self.total - self.done
        eta = 0.0 if left == 0 else (left / speed if left is not None and speed > 0 else None)
        self.on_progress(
            DownloadProgress(
                self.rung,
                self.file,
                self.done,
                self.total,
                speed,
                eta,
                self.files_done,
                self.files_total,
                self.overall_done + (0 if finished else self.done),
                self.overall_total,
            )
        )


__all__ = [
    "DownloadProgress",
    "HubError",
    "HubSettings",
    "RemoteFile",
    "ensure_rung",
    "is_cached",
    "resolve_files",
]
