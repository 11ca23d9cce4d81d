"""Content hashes: the one sha256 of a file, and the short hash of a JSON-able identity.

A model file's sha256 names the file in the store (resume, merge, provenance),
in the ladders' manifests (download checks) and in the toy ladder's manifest;
one function reads it, in chunks, so multi-GB files never sit in memory. Like
``errors``, this module imports nothing of emergetui: every layer may use it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CHUNK = 1 << 22
"""Bytes read at a time (4 MiB): large enough to be I/O-bound, small enough for any machine."""


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as 64 hex digits."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def json_digest(value: Any, length: int) -> str:
    """The first ``length`` hex digits of the sha256 of ``value`` as sorted-key JSON (values
    JSON does not know are written with ``str``): equal content, equal digest."""
    blob = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
