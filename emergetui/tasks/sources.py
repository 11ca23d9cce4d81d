"""Reading task files so that bad data ends in a :class:`TaskError`, never a traceback.

Every loader goes through these helpers, so a user who points the lab at a
broken file always gets one line naming the file, and the line or field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emergetui.tasks.base import TaskError


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a leading BOM is dropped)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TaskError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise TaskError(f"{path}: is a folder, expected a file") from None
    except OSError as e:
        raise TaskError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise TaskError(
            f"{path}:{line}: not UTF-8 text "
            f"(invalid byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


def read_json(path: Path) -> Any:
    """Parsed JSON; syntax errors name the line and column."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TaskError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
    except ValueError as e:  # e.g. an integer longer than Python's 4300-digit conversion limit
        raise TaskError(f"{path}: invalid JSON: {e}") from None
    except RecursionError:
        raise TaskError(f"{path}: invalid JSON: nested too deeply") from None


def resolve_inside(base: Path, value: str, where: str) -> Path:
    """A path named inside a task file: absolute (or ``~``) as given, relative ones
    against ``base`` and required to stay inside it.

    Why: task files get shared; a relative path that climbs out of its folder
    (``../../etc/passwd``) is almost always a mistake or a trick, while an
    absolute path is an explicit choice by whoever wrote the file.
    """
    if not value or "\x00" in value:
        raise TaskError(f"{where}: empty or invalid path")
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return candidate
    base_resolved = base.resolve()
    resolved = (base_resolved / candidate).resolve()
    if resolved != base_resolved and base_resolved not in resolved.parents:
        raise TaskError(
            f"{where}: relative path {value!r} leaves the task file's folder {base}; "
            "use an absolute path if you mean it"
        )
    return resolved
