"""BIG-bench by name without a checkout: a task's JSON files, fetched on first use.

Why: MMLU downloads itself (``mmlu-hf``) and other harnesses fetch BIG-bench on
demand; asking a new user to clone a 1.8 GB repository before the first
``--task bigbench:NAME`` is the wrong first hour. Only the files a task needs are
fetched (``NAME/task.json``, or the parent and its subtask folders listed in
:mod:`emergetui.tasks.bigbench_manifest`), from raw file URLs of the BIG-bench
repository at :data:`PINNED_REF`, into the user cache directory laid out like a
checkout's ``bigbench/benchmark_tasks``, so the ordinary loaders read it.

Each file is downloaded into ``FILE.part`` and resumed with an HTTP Range request
after an interruption; its size is checked against the server's; its sha256 is
recorded at the first download (``downloads.json`` beside the tasks) and verified
on every later use, so a corrupted cached file is deleted and fetched again (or,
offline, reported). Offline (``--offline``, ``EMERGETUI_OFFLINE=1`` or
``HF_HUB_OFFLINE=1``) only the cache is read and no request is made.

Environment: ``EMERGETUI_BIGBENCH_ENDPOINT`` (the base URL, for mirrors and tests),
``EMERGETUI_BIGBENCH_REF`` (another commit), ``XDG_CACHE_HOME`` (through platformdirs).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, replace
from http.client import HTTPException
from pathlib import Path

from emergetui.tasks.base import TaskError
from emergetui.tasks.bigbench_manifest import PROGRAMMATIC, SUBTASKS

ENDPOINT_ENV = "EMERGETUI_BIGBENCH_ENDPOINT"
REF_ENV = "EMERGETUI_BIGBENCH_REF"
OFFLINE_ENVS = ("EMERGETUI_OFFLINE", "HF_HUB_OFFLINE")
DEFAULT_ENDPOINT = "https://raw.githubusercontent.com/google/BIG-bench"
#: The repository state the task files are fetched at. BIG-bench has been frozen since
#: its 1.0.0 release; the files are the ones the bigbench 1.0.0 package ships (the
#: test fixtures). Set EMERGETUI_BIGBENCH_REF to a commit hash to pin another state.
PINNED_REF = "main"
TASKS_PATH = "bigbench/benchmark_tasks"
RECORD = "downloads.json"
_CHUNK = 1 << 16
_TIMEOUT_S = 30.0
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class FetchSettings:
    """Where from, where to, and whether the network may be used; read at call time."""

    endpoint: str
    ref: str
    cache_root: Path
    offline: bool

    @classmethod
    def from_env(cls, offline: bool = False) -> FetchSettings:
        import platformdirs

        ref = os.environ.get(REF_ENV) or PINNED_REF
        endpoint = (os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT).rstrip("/")
        cache = Path(platformdirs.user_cache_dir("emergetui")) / "bigbench" / ref
        env_off = any(os.environ.get(v, "").strip().lower() in _TRUE for v in OFFLINE_ENVS)
        return cls(endpoint, ref, cache, offline or env_off)

    @property
    def tasks_dir(self) -> Path:
        """The cache's ``benchmark_tasks`` folder (what ``--bigbench-dir`` would name)."""
        return self.cache_root / TASKS_PATH

    def url(self, rel: str) -> str:
        return f"{self.endpoint}/{self.ref}/{TASKS_PATH}/{rel}"


class _NotThere(Exception):
    """HTTP 404: the file is not in the repository (a programmatic task, a typo)."""


class _Network(Exception):
    """The server cannot be reached or stopped answering."""


class Fetcher:
    """Fetches tasks for one resolution of task specs.

    After the first network failure the later tasks are read from the cache only, and
    one that is not there fails at once with the same line, so a 24-task suite on a
    machine without network costs one timeout, not 24.
    """

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.down: str = ""
        self.skipped: list[TaskError] = []

    def ensure(self, spec: str, name: str, sub: str) -> list[TaskError]:
        """Make ``bigbench:NAME[/SUB]``'s files present in ``settings.tasks_dir``.

        Returns one TaskError per listed subtask that could not be had (the others
        still run); raises a TaskError when the task itself cannot be had.
        """
        if self.down:
            try:
                return ensure_task(spec, name, sub, replace(self.settings, offline=True))
            except TaskError:
                err = TaskError(f"{spec}: not fetched, the network failed: {self.down}")
                self.skipped.append(err)
                raise err from None
        try:
            return ensure_task(spec, name, sub, self.settings)
        except _NetworkDown as e:
            self.down = e.detail
            raise TaskError(f"{spec}: {e.detail}") from None

    def collapse(self, errors: list[TaskError]) -> list[TaskError]:
        """``errors`` with the tasks skipped after the network failed named in one line."""
        if len(self.skipped) < 2:
            return errors
        names = [str(e).split(": ", 1)[0] for e in self.skipped]
        kept = [e for e in errors if not any(e is s for s in self.skipped)]
        return [
            *kept,
            TaskError(
                f"{len(names)} more tasks not fetched, the network failed: {', '.join(names)}"
            ),
        ]


class _NetworkDown(Exception):
    """The network failed: no other file of this resolution will be fetched."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def ensure_task(spec: str, name: str, sub: str, settings: FetchSettings) -> list[TaskError]:
    """:meth:`Fetcher.ensure` for one task (raises _NetworkDown when the network fails)."""
    if name in PROGRAMMATIC:
        raise TaskError(
            f"{spec}: {name} is a programmatic BIG-bench task (task.py); "
            "only JSON tasks are supported"
        )
    store = _Store(settings, spec)
    parent = f"{name}/task.json"
    if sub:
        store.get(parent, optional=True)
        store.get(f"{name}/{sub}/task.json")
        return []
    subs = SUBTASKS.get(name)
    if subs is None:
        store.get(parent)
        data = _json_or_none(settings.tasks_dir / parent)
        if isinstance(data, dict) and "examples" not in data:
            raise TaskError(
                f"{spec}: {name} is split into subtasks that emergetui does not know by name; "
                f"run one as bigbench:{name}/SUBTASK, or pass --bigbench-dir DIR "
                "(a BIG-bench checkout's bigbench/benchmark_tasks)"
            )
        return []
    store.get(parent, optional=True)
    errors = []
    for s in subs:
        try:
            store.get(f"{name}/{s}/task.json")
        except TaskError as e:
            errors.append(e)
    if len(errors) == len(subs):
        raise errors[0]
    return errors


def cached_tasks(settings: FetchSettings) -> list[str]:
    """Task folders with at least one recorded file (for ``emergetui doctor``)."""
    rec = _read_record(settings.cache_root / RECORD)
    return sorted({rel.split("/", 1)[0] for rel in rec})


def _json_or_none(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_record(path: Path) -> dict[str, dict[str, object]]:
    data = _json_or_none(path)
    return data if isinstance(data, dict) else {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Store:
    """The cache of one repository state, and the downloads into it."""

    def __init__(self, settings: FetchSettings, spec: str) -> None:
        self.s, self.spec = settings, spec
        self.record_path = settings.cache_root / RECORD

    def get(self, rel: str, optional: bool = False) -> bool:
        """Ensure ``rel`` is cached and verified; False when ``optional`` and absent."""
        path = self.s.tasks_dir / rel
        rec = _read_record(self.record_path).get(rel)
        if path.is_file() and isinstance(rec, dict):
            if _sha256(path) == rec.get("sha256"):
                return True
            path.unlink()  # corrupted since it was recorded: never trust it again
            if self.s.offline:
                raise TaskError(
                    f"{self.spec}: the cached {rel} in {self.s.tasks_dir} does not match the "
                    "sha256 recorded when it was downloaded (deleted); run once without "
                    "--offline to fetch it again, or pass --bigbench-dir DIR"
                )
        if self.s.offline:
            if optional:
                return False
            raise TaskError(
                f"{self.spec}: {rel} is not in the BIG-bench cache {self.s.tasks_dir} and "
                "offline use is on (--offline, EMERGETUI_OFFLINE or HF_HUB_OFFLINE); run once "
                "online, or pass --bigbench-dir DIR (a BIG-bench checkout's "
                "bigbench/benchmark_tasks)"
            )
        try:
            size = self._download(rel, path)
        except _NotThere:
            if optional:
                return False
            name = rel.split("/", 1)[0]
            raise TaskError(self._not_there(rel, name)) from None
        except _Network as e:
            raise _NetworkDown(
                f"cannot download {rel} from {self.s.endpoint} ({e}); check the connection, "
                "or pass --bigbench-dir DIR (a BIG-bench checkout's bigbench/benchmark_tasks)"
            ) from None
        self._record(rel, path, size)
        return True

    def _not_there(self, rel: str, name: str) -> str:
        where = f"{self.s.endpoint}/{self.s.ref}"
        if name in _known():
            return f"{self.spec}: {rel} is not in BIG-bench at {where}"
        import difflib

        close = difflib.get_close_matches(name, sorted(_known()), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"{self.spec}: no BIG-bench task {name!r} at {where}{hint}"

    def _record(self, rel: str, path: Path, size: int) -> None:
        rec = _read_record(self.record_path)
        rec[rel] = {"sha256": _sha256(path), "size": size, "url": self.s.url(rel)}
        tmp = self.record_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rec, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.record_path)

    def _download(self, rel: str, path: Path, attempts: int = 4) -> int:
        """GET into ``path.part``, resuming with Range; the size must be the server's."""
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        url = self.s.url(rel)
        last, stalled = "", 0
        while stalled < attempts:
            have = part.stat().st_size if part.is_file() else 0
            req = urllib.request.Request(
                url, headers={"User-Agent": "emergetui", "Accept-Encoding": "identity"}
            )
            if have:
                req.add_header("Range", f"bytes={have}-")
            total: int | None = None
            complete = False
            try:
                with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as resp:
                    restart = have > 0 and resp.status != 206  # Range ignored: start over
                    total = _total_size(resp, 0 if restart else have)
                    with part.open("wb" if restart or not have else "ab") as out:
                        while chunk := resp.read(_CHUNK):
                            out.write(chunk)
                complete = True
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    raise _NotThere() from None
                if e.code == 416 and have:  # the partial is longer than the file: start over
                    part.unlink()
                    continue
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, HTTPException, OSError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            got = part.stat().st_size if part.is_file() else 0
            if (total is None and complete) or (total is not None and got == total):
                os.replace(part, path)
                return got
            if total is not None and got > total:
                part.unlink()
                last = f"got {got} bytes, the server announced {total}"
            stalled = 0 if got > have else stalled + 1
            if stalled < attempts:
                time.sleep(min(0.1 * 2**stalled, 2.0))
        raise _Network(last or "no data")


def _total_size(resp: object, have: int) -> int | None:
    """The whole file's size from Content-Range (a resumed request) or Content-Length."""
    headers = getattr(resp, "headers", {})
    rng = headers.get("Content-Range") if headers else None
    if rng and "/" in rng:
        tail = rng.rsplit("/", 1)[1].strip()
        return int(tail) if tail.isdigit() else None
    length = headers.get("Content-Length") if headers else None
    return have + int(length) if length and length.isdigit() else None


def _known() -> frozenset[str]:
    from emergetui.tasks.bigbench_manifest import JSON_TASKS

    return JSON_TASKS | PROGRAMMATIC


def suite_specs_fetched(suites: Sequence[str]) -> tuple[list[str], list[TaskError]]:
    """``bigbench:NAME`` specs for every suite's tasks, to be fetched on use; one warning
    per suite naming its programmatic (unsupported) tasks."""
    from emergetui.tasks.suites import SUITES

    specs: list[str] = []
    warnings: list[TaskError] = []
    for suite in suites:
        if suite not in SUITES:
            raise TaskError(f"unknown suite {suite!r} (known: {', '.join(SUITES)})")
        names = SUITES[suite]
        prog = [n for n in names if n in PROGRAMMATIC]
        specs += [f"bigbench:{n}" for n in names if n not in prog and f"bigbench:{n}" not in specs]
        if prog:
            warnings.append(
                TaskError(
                    f"suite {suite}: {len(prog)} programmatic (unsupported): {', '.join(prog)}; "
                    f"running the other {len(names) - len(prog)} of {len(names)}"
                )
            )
    return specs, warnings
