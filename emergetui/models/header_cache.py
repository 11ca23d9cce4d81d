"""The numbers read from a GGUF header, cached per (resolved path, size, mtime) of its shards.

A ladder listing (`emergetui ladders`, the lab's rung table) reads the header of every
cached rung each time it is drawn, and every rung of a run reads its own in the worker.
The header of a multi-gigabyte model does not change unless the file does, so the
numbers are kept in the user cache dir, one small JSON file per model, keyed by the
first shard's resolved path and checked against every shard's size and mtime_ns:
a file that was replaced or rewritten is read again. A cache that cannot be read or
written is never an error; the header is simply read from the file.

``EMERGETUI_CACHE_DIR`` (or the ``cache_dir`` argument) points the cache elsewhere:
tests use it so that they never write into the user's cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENV_VAR = "EMERGETUI_CACHE_DIR"
# Bumped whenever what is stored (or how it is read) changes: old entries then read as misses.
FORMAT = 1

ShardStat = tuple[str, int, int]


def default_cache_dir() -> Path:
    """$EMERGETUI_CACHE_DIR, else the user cache dir (looked up lazily so tests can redirect it)."""
    root = os.environ.get(ENV_VAR)
    if root:
        return Path(root).expanduser() / "gguf-headers"
    import platformdirs

    return Path(platformdirs.user_cache_dir("emergetui", appauthor=False)) / "gguf-headers"


def shard_stats(shards: Sequence[Path]) -> list[ShardStat]:
    """What identifies the files' contents for the cache: resolved path, size, mtime_ns."""
    out: list[ShardStat] = []
    for s in shards:
        st = s.stat()
        out.append((str(s.resolve()), st.st_size, st.st_mtime_ns))
    return out


def _entry_path(stats: Sequence[ShardStat], cache_dir: Path | None) -> Path:
    digest = hashlib.sha256(stats[0][0].encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return (cache_dir or default_cache_dir()) / f"{digest}.json"


def load(stats: Sequence[ShardStat], cache_dir: Path | None = None) -> dict[str, Any] | None:
    """The stored numbers for these exact files, or None (missing, stale or unreadable)."""
    try:
        data = json.loads(_entry_path(stats, cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if data.get("shards") != [list(s) for s in stats]:
        return None
    header = data.get("header")
    return header if isinstance(header, dict) else None


def store(
    stats: Sequence[ShardStat], header: dict[str, Any], cache_dir: Path | None = None
) -> None:
    """Keep ``header`` for these files (atomically; silently skipped when not writable)."""
    target = _entry_path(stats, cache_dir)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    body = {"format": FORMAT, "shards": [list(s) for s in stats], "header": header}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


__all__ = ["ENV_VAR", "default_cache_dir", "load", "shard_stats", "store"]
