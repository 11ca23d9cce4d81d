"""Reading a task TOML file into a :class:`TaskDef`, every problem a TaskError naming the field.

The file format is documented in :mod:`emergetui.tasks.registry`, which turns
definitions into item sets.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.tasks import bigbench
from emergetui.tasks.base import TaskError
from emergetui.tasks.metrics import METRICS
from emergetui.tasks.sources import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SOURCES = ("arithmetic", "bigbench", "mmlu", "recall")


@dataclass(frozen=True)
class TaskDef:
    """A parsed task TOML."""

    name: str
    description: str
    path: Path
    builtin: bool
    source: dict[str, Any]
    shots: tuple[int, ...] = (0,)
    limit: int | None = None
    metrics: tuple[str, ...] = ()
    max_tokens: int = 32
    shot_sampling: str = "fixed"
    prompt: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- TOML


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    list: "a list",
    dict: "a table",
    bool: "true or false",
}
#: Allowed keys, so that a typo ("digit = 3") is an error instead of a silent default.
_TOP_KEYS = {
    "name",
    "description",
    "shots",
    "limit",
    "metrics",
    "max_tokens",
    "shot_sampling",
    "source",
    "prompt",
}
_SOURCE_KEYS = {
    "arithmetic": {"type", "op", "digits", "style", "n"},
    "bigbench": {"type", "path", "hf_repo", "hf_file", "revision"},
    "mmlu": {"type", "path", "hf", "revision", "scoring", "subjects"},
    "recall": {"type", "keys", "values", "pairs", "n"},
}


def typed(table: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    """``table[key]`` if present and of type ``kind`` (bools are not integers here)."""
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TaskError(
            f"{where}: field {key!r} must be {_TYPE_NAMES.get(kind, kind.__name__)}, got {value!r}"
        )
    return value


def _int_list(value: Any, key: str, where: str) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise TaskError(f"{where}: field {key!r} must be a non-empty list of integers >= 0")
    return tuple(value)


def load_task_toml(path: Path, builtin: bool = False) -> TaskDef:
    """Parse and validate a task file; every problem is a TaskError naming file and field."""
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TaskError(f"{path}: invalid TOML: {e}") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit integer, nesting deeper than the stack
        raise TaskError(f"{path}: invalid TOML: {e or 'nested too deeply'}") from None
    where = str(path)
    name = typed(data, "name", str, where, path.stem)
    if not name or any(c in name for c in "/\\\x00") or name.startswith("."):
        raise TaskError(f"{where}: field 'name' must be a plain name, got {name!r}")
    source = data.get("source")
    if not isinstance(source, dict):
        raise TaskError(f"{where}: missing [source] table")
    kind = source.get("type")
    if kind not in SOURCES:
        raise TaskError(f"{where}: field 'source.type' must be one of {SOURCES}, got {kind!r}")
    for keys, allowed, prefix in ((data, _TOP_KEYS, ""), (source, _SOURCE_KEYS[kind], "source.")):
        unknown_keys = sorted(set(keys) - allowed)
        if unknown_keys:
            raise TaskError(
                f"{where}: unknown field '{prefix}{unknown_keys[0]}' "
                f"(known: {', '.join(sorted(allowed))})"
            )
    metrics = tuple(typed(data, "metrics", list, where, []))
    unknown = [m for m in metrics if not isinstance(m, str) or m not in METRICS]
    if unknown:
        raise TaskError(
            f"{where}: field 'metrics': unknown metric {unknown[0]!r} (known: {', '.join(METRICS)})"
        )
    limit = typed(data, "limit", int, where, None)
    if limit is not None and limit < 1:
        raise TaskError(f"{where}: field 'limit' must be >= 1")
    max_tokens = typed(data, "max_tokens", int, where, 32)
    if max_tokens < 1:
        raise TaskError(f"{where}: field 'max_tokens' must be >= 1")
    sampling = typed(data, "shot_sampling", str, where, "fixed")
    if sampling not in bigbench.SHOT_SAMPLING:
        raise TaskError(f"{where}: field 'shot_sampling' must be one of {bigbench.SHOT_SAMPLING}")
    prompt = typed(data, "prompt", dict, where, {})
    for key, value in prompt.items():
        if key not in bigbench.FORMAT_FIELDS and key not in ("output_regex", "stop_string"):
            raise TaskError(
                f"{where}: unknown field 'prompt.{key}' (known: "
                f"{', '.join([*bigbench.FORMAT_FIELDS, 'output_regex', 'stop_string'])})"
            )
        if key in ("output_regex", "stop_string") and not isinstance(value, str):
            raise TaskError(f"{where}: field 'prompt.{key}' must be a string")
    bigbench.PromptFormat().updated(prompt, f"{where} [prompt]")  # type errors now, not at run time
    return TaskDef(
        name=name,
        description=typed(data, "description", str, where, ""),
        path=path,
        builtin=builtin,
        source=source,
        shots=_int_list(data["shots"], "shots", where) if "shots" in data else (0,),
        limit=limit,
        metrics=metrics,
        max_tokens=max_tokens,
        shot_sampling=sampling,
        prompt=prompt,
    )
