"""Model ladders: families of GGUF models of growing size, declared in TOML.

A ladder is the unit of an emergence experiment: every rung is scored on the
same tasks and the curve across ``params`` is what we study. Ladders come from
the built-in ``data/models.toml``, the user's ``models.toml`` in the platform
config folder, and ``--ladder FILE``; later files override earlier ones by
ladder name, so a user can re-point a built-in ladder at another quant.

Everything that comes from a TOML file or a repo listing is validated here,
with errors that name the file and the key, because a typo in a 40 GB
download spec should fail before the download, not after.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from emergetui.errors import EmergetuiError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
BUILTIN_FILE = DATA_DIR / "models.toml"

_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SHARD_RE = re.compile(r"^(?P<stem>.+)-(?P<idx>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
_GLOB_CHARS = frozenset("*?[")

_LADDER_KEYS = {
    "description",
    "pattern",
    "revision",
    "heldout",
    "kind",
    "manifest",
    "rungs",
    "rpc",
    "family",
    "variant",
    "quant",
    "train_tokens",
}
_RUNG_KEYS = {
    "label",
    "params",
    "repo",
    "pattern",
    "file",
    "revision",
    "sha256",
    "size",
    "path",
    "rpc",
    "train_tokens",
}
#: what a ladder's ``variant`` may say: a model as pre-trained, or tuned to follow instructions
VARIANTS = ("base", "instruct")
_ENDPOINT_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")
_KINDS = {"hub", "bundled"}


class LadderError(EmergetuiError, ValueError):
    """A ladder definition (or a repo listing it points at) cannot be used.

    Control characters in the message (a key read from the file may hold a
    newline) are escaped, so that the CLI's error stays one line.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__("".join(c if c.isprintable() else ascii(c)[1:-1] for c in message))


@dataclass(frozen=True)
class RungSpec:
    """One model of a ladder: where to get it and how big it is (for the x axis).

    Exactly one source is set: ``repo`` (+ ``pattern`` or ``file``) for the
    Hugging Face Hub, or ``path`` for a local GGUF.
    """

    label: str
    params: int
    repo: str | None = None
    pattern: str | None = None
    file: str | None = None
    revision: str | None = None
    sha256: str | None = None
    size: int | None = None
    path: Path | None = None
    rpc: tuple[str, ...] = ()
    """llama.cpp RPC servers (``HOST:PORT``) this rung's layers are split over (``rpc = [...]``)."""
    train_tokens: int | None = None
    """Pre-training tokens from the model card (``None``: not stated); the compute axis needs it."""

    @property
    def is_local(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        """Short human description of the source, for listings and errors."""
        if self.path is not None:
            return str(self.path)
        what = self.file or self.pattern or "?"
        rev = f"@{self.revision}" if self.revision else ""
        return f"{self.repo}{rev} [{what}]"


@dataclass(frozen=True)
class Ladder:
    """A named, params-ordered list of rungs and the file that defined it.

    ``problem`` is set when the ladder is declared but unusable right now (the
    bundled toy ladder before its models are built): it stays listable, and
    :func:`get_ladder` raises with that message.
    """

    name: str
    description: str
    rungs: list[RungSpec]
    source_file: Path
    heldout: Path | None = None
    kind: str = "hub"
    problem: str | None = None
    family: str = ""
    """Ladders of one family (``qwen2.5-base`` and ``qwen2.5-instruct``) are series of one chart;
    empty: the ladder's own name (see :attr:`family_name`)."""
    variant: str | None = None
    """``base`` or ``instruct`` (:data:`VARIANTS`), or ``None`` when the file does not say."""
    quant: str | None = None
    """The quantization every rung uses (``quant``, else the ladder's ``pattern``)."""

    @property
    def family_name(self) -> str:
        return self.family or self.name.partition("@")[0]


def user_ladder_file() -> Path:
    """The per-user override file; looked up lazily so tests can redirect XDG dirs."""
    import platformdirs

    return Path(platformdirs.user_config_dir("emergetui")) / "models.toml"


def load_ladders(
    extra_files: Sequence[Path] = (), *, include_user: bool = True
) -> dict[str, Ladder]:
    """Load built-in, user and extra ladder files; later definitions win by name."""
    files: list[Path] = [BUILTIN_FILE]
    if include_user:
        user = user_ladder_file()
        if user.is_file():
            files.append(user)
    files.extend(Path(f) for f in extra_files)
    ladders: dict[str, Ladder] = {}
    for path in files:
        ladders.update(parse_ladder_file(path))
    return ladders


def get_ladder(
    name_or_file: str, extra_files: Sequence[Path] = (), *, include_user: bool = True
) -> Ladder:
    """Find a ladder by name, or load it from a TOML file that defines exactly one."""
    candidate = Path(name_or_file).expanduser()
    if name_or_file.endswith(".toml") or candidate.is_file():
        if not candidate.is_file():
            raise LadderError(f"{candidate}: ladder file not found")
        defined = parse_ladder_file(candidate)
        if len(defined) != 1:
            names = ", ".join(sorted(defined)) or "none"
            raise LadderError(
                f"{candidate}: defines {len(defined)} ladders ({names}); pass the file with "
                "--ladder and choose one by name"
            )
        ladder = next(iter(defined.values()))
    elif "@" in name_or_file and name_or_file.partition("@")[0]:
        name, _, quant = name_or_file.partition("@")
        return requantized(get_ladder(name, extra_files, include_user=include_user), quant)
    else:
        ladders = load_ladders(extra_files, include_user=include_user)
        if name_or_file not in ladders:
            close = difflib.get_close_matches(name_or_file, list(ladders), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise LadderError(
                f"unknown ladder {name_or_file!r}. Known: {', '.join(sorted(ladders))}.{hint}"
            )
        ladder = ladders[name_or_file]
    if ladder.problem:
        raise LadderError(ladder.problem)
    return ladder


def parse_ladder_file(path: Path) -> dict[str, Ladder]:
    """Parse and validate one ladder file; every error names the file and the key."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise LadderError(f"{path}: ladder file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise LadderError(f"{path}: invalid TOML: {exc}") from None
    except (
        ValueError,
        RecursionError,
    ) as exc:  # a 5000-digit integer, nesting deeper than the stack
        raise LadderError(f"{path}: invalid TOML: {exc or 'nested too deeply'}") from None
    except OSError as exc:
        raise LadderError(f"{path}: cannot read: {exc.strerror or exc}") from None
    for key in doc:
        if key != "ladders":
            raise LadderError(
                f"{path}: {key}: unknown top-level key (expected [ladders.NAME] tables)"
            )
    tables = doc.get("ladders", {})
    if not isinstance(tables, dict):
        raise LadderError(f"{path}: ladders: must be a table of [ladders.NAME] tables")
    return {name: _parse_ladder(path, name, table) for name, table in tables.items()}


def _parse_ladder(path: Path, name: str, table: Any) -> Ladder:
    where = f"ladders.{name}"

    def fail(key: str, msg: str) -> LadderError:
        return LadderError(f"{path}: {where}{'.' + key if key else ''}: {msg}")

    if not _LABEL_RE.match(name) or ".." in name:
        raise fail("", "ladder names may use letters, digits and . _ + - (max 64 characters)")
    if not isinstance(table, dict):
        raise fail("", "must be a table")
    for key in table:
        if key not in _LADDER_KEYS:
            raise fail(key, f"unknown key (allowed: {', '.join(sorted(_LADDER_KEYS))})")
    description = _opt_str(table, "description", fail) or ""
    kind = _opt_str(table, "kind", fail) or "hub"
    if kind not in _KINDS:
        raise fail("kind", f"must be one of {', '.join(sorted(_KINDS))}")
    ladder_rpc = _opt_rpc(table, fail)
    heldout_s = _opt_str(table, "heldout", fail)
    heldout = _resolve_local(path, heldout_s, fail, "heldout") if heldout_s else None
    variant = _opt_str(table, "variant", fail)
    if variant is not None and variant not in VARIANTS:
        raise fail("variant", f"must be one of {', '.join(VARIANTS)}, got {variant!r}")
    family = _opt_str(table, "family", fail) or ""
    if family and (not _LABEL_RE.match(family) or ".." in family):
        raise fail("family", "letters, digits and . _ + - only (max 64 characters)")
    quant = _opt_str(table, "quant", fail) or _opt_str(table, "pattern", fail)
    tokens = _opt_tokens(table, fail)
    base = Ladder(
        name, description, [], path, heldout, kind, family=family, variant=variant, quant=quant
    )

    if kind == "bundled":
        manifest = _opt_str(table, "manifest", fail)
        if not manifest:
            raise fail("manifest", 'required for kind = "bundled"')
        if "rungs" in table:
            raise fail("rungs", "a bundled ladder takes its rungs from its manifest")
        bundled = _bundled_ladder(base, _resolve_local(path, manifest, fail, "manifest"))
        return replace(
            bundled,
            rungs=[
                replace(r, rpc=ladder_rpc, train_tokens=r.train_tokens or tokens)
                for r in bundled.rungs
            ],
        )
    if "manifest" in table:
        raise fail("manifest", 'only used with kind = "bundled"')

    defaults = {k: _opt_str(table, k, fail) for k in ("pattern", "revision")}
    raw_rungs = table.get("rungs")
    if not isinstance(raw_rungs, list) or not raw_rungs:
        raise fail("rungs", "must be a non-empty array of rung tables")
    rungs = [_parse_rung(path, f"{where}.rungs[{i}]", r, defaults) for i, r in enumerate(raw_rungs)]
    labels: set[str] = set()
    for i, rung in enumerate(rungs):
        if rung.label in labels:
            raise fail(f"rungs[{i}].label", f"duplicate label {rung.label!r}")
        labels.add(rung.label)
    rungs = [r if "rpc" in raw else replace(r, rpc=ladder_rpc) for r, raw in zip(rungs, raw_rungs)]
    rungs = [r if r.train_tokens else replace(r, train_tokens=tokens) for r in rungs]
    rungs.sort(key=lambda r: r.params)
    return replace(base, rungs=rungs)


def _opt_rpc(table: Mapping[str, Any], fail: Any) -> tuple[str, ...]:
    """``rpc = ["host:port", ...]``: checked here, so a typo fails before any download."""
    value = table.get("rpc")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("rpc", 'must be an array of "HOST:PORT" strings, e.g. ["192.168.1.20:50052"]')
    out: list[str] = []
    for i, v in enumerate(value):
        m = _ENDPOINT_RE.match(v.strip())
        if not m or not 0 < int(m.group(2)) < 65536:
            raise fail(f"rpc[{i}]", f"{v!r} is not HOST:PORT (e.g. 192.168.1.20:50052)")
        if v.strip() not in out:
            out.append(v.strip())
    return tuple(out)


def _opt_tokens(table: Mapping[str, Any], fail: Any) -> int | None:
    """``train_tokens``: a positive integer (``18_000_000_000_000``), checked like ``params``."""
    value = table.get("train_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail("train_tokens", "a positive integer number of tokens, e.g. 2_000_000_000_000")
    return value


def requantized(ladder: Ladder, quant: str) -> Ladder:
    """The same ladder at another quant: every rung's ``pattern`` becomes ``quant``.

    Why: a quant is a series beside the ladder, never rungs of it (``--quants Q4_K_M,Q8_0``
    runs ``NAME@Q4_K_M`` and ``NAME@Q8_0``). Rungs pinned to a file or a local path cannot
    change quant, so such a ladder is refused with its name rather than run unchanged.
    """
    quant = quant.strip()
    if not quant or not _LABEL_RE.match(quant):
        raise LadderError(f"{ladder.name}@{quant}: {quant!r} is not a quant name like Q4_K_M")
    fixed = [r.label for r in ladder.rungs if r.path is not None or r.file is not None]
    if fixed:
        raise LadderError(
            f"{ladder.name}@{quant}: rungs {', '.join(fixed)} name a file, not a quant pattern; "
            "declare the other quant as its own ladder (with quant = ...) instead"
        )
    return replace(
        ladder,
        name=f"{ladder.name}@{quant}",
        rungs=[replace(r, pattern=quant, sha256=None, size=None) for r in ladder.rungs],
        quant=quant,
        family=ladder.family_name,
    )


def _parse_rung(path: Path, where: str, raw: Any, defaults: Mapping[str, str | None]) -> RungSpec:
    def fail(key: str, msg: str) -> LadderError:
        return LadderError(f"{path}: {where}{'.' + key if key else ''}: {msg}")

    if not isinstance(raw, dict):
        raise fail("", 'must be a table like { label = "0.5B", params = 494_000_000, ... }')
    for key in raw:
        if key not in _RUNG_KEYS:
            raise fail(key, f"unknown key (allowed: {', '.join(sorted(_RUNG_KEYS))})")
    label = raw.get("label")
    if not isinstance(label, str) or not _LABEL_RE.match(label) or ".." in label:
        raise fail("label", "required; letters, digits and . _ + - only (max 64 characters)")
    params = raw.get("params")
    if isinstance(params, bool) or not isinstance(params, int) or params <= 0:
        raise fail("params", "required; a positive integer parameter count, e.g. 494_000_000")
    size = raw.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise fail("size", "must be a positive integer number of bytes")
    sha = _opt_str(raw, "sha256", fail)
    if sha is not None:
        sha = sha.lower()
        if not _SHA256_RE.match(sha):
            raise fail("sha256", "must be 64 hexadecimal characters")
    repo, file = _opt_str(raw, "repo", fail), _opt_str(raw, "file", fail)
    local = _opt_str(raw, "path", fail)
    rpc = _opt_rpc(raw, fail)
    tokens = _opt_tokens(raw, fail)
    if local is not None:
        for key in ("repo", "pattern", "file", "revision"):
            if key in raw:
                raise fail(key, "not allowed together with path (a local file)")
        return RungSpec(
            label,
            params,
            sha256=sha,
            size=size,
            path=_resolve_local(path, local, fail, "path"),
            rpc=rpc,
            train_tokens=tokens,
        )
    if repo is None:
        raise fail("repo", 'required (or give path = "..." for a local GGUF)')
    if repo.count("/") != 1 or not all(_REPO_PART_RE.match(p) for p in repo.split("/")):
        raise fail("repo", f'{repo!r} is not a Hub repo id like "Qwen/Qwen2.5-0.5B-Instruct-GGUF"')
    pattern = _opt_str(raw, "pattern", fail)
    if file is not None:
        if pattern is not None:
            raise fail("file", "give either file or pattern, not both")
        if not is_safe_relative(file) or not file.lower().endswith(".gguf"):
            raise fail("file", f"{file!r} must be a relative .gguf path inside the repo")
    else:
        pattern = pattern or defaults.get("pattern")
        if not pattern:
            raise fail("pattern", 'required: a quant like "Q4_K_M" (or give file = "...")')
    revision = _opt_str(raw, "revision", fail) or defaults.get("revision")
    return RungSpec(
        label, params, repo, pattern, file, revision, sha, size, rpc=rpc, train_tokens=tokens
    )


def _bundled_ladder(base: Ladder, manifest: Path) -> Ladder:
    """Rungs (and, unless the TOML says otherwise, the held-out text) come from the builder's
    manifest.
    """
    if not manifest.is_file():
        problem = (
            f"{base.name} ladder not built: its manifest {manifest} is missing "
            f"(declared in {base.source_file})"
        )
        return replace(base, problem=problem)
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LadderError(f"{manifest}: unreadable manifest: {exc}") from None
    entries = doc.get("rungs", doc.get("models")) if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not entries:
        raise LadderError(f'{manifest}: expected a list of rungs (or {{"rungs": [...]}})')
    rungs: list[RungSpec] = []
    for i, entry in enumerate(entries):
        where = f"{manifest}: rungs[{i}]"
        if not isinstance(entry, dict):
            raise LadderError(f"{where}: must be an object")
        fname = entry.get("file")
        if not isinstance(fname, str) or not is_safe_relative(fname):
            raise LadderError(f"{where}.file: must be a relative path inside {manifest.parent}")
        keys = ("label", "params", "sha256", "size", "train_tokens")
        raw = {k: entry[k] for k in keys if k in entry}
        if "size_bytes" in entry:
            raw.setdefault("size", entry["size_bytes"])
        rungs.append(_parse_rung(manifest, f"rungs[{i}]", {**raw, "path": fname}, {}))
    rungs.sort(key=lambda r: r.params)
    heldout = doc.get("heldout") if isinstance(doc, dict) else None
    if base.heldout is None and isinstance(heldout, str) and is_safe_relative(heldout):
        return replace(base, rungs=rungs, heldout=manifest.parent / heldout)
    return replace(base, rungs=rungs)


def _opt_str(table: Mapping[str, Any], key: str, fail: Any) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "must be a non-empty string")
    return value.strip()


def _resolve_local(toml_file: Path, value: str, fail: Any, key: str) -> Path:
    """Relative paths in a ladder file are relative to that file, not to the CWD, and stay in its
    folder.

    Why: ladder files get shared like task files; a relative path that climbs
    out of its folder (``../../home/me/.ssh/id``) is almost always a mistake or
    a trick, while an absolute path is an explicit choice by whoever wrote the
    file (the rule of ``tasks.sources.resolve_inside``). Checked on the path as
    written, so symlinks the user put inside the folder keep working.
    """
    p = Path(value).expanduser()
    if p.is_absolute():
        return p
    base = Path(os.path.abspath(toml_file.parent))
    lexical = Path(os.path.normpath(base / p))
    if lexical != base and base not in lexical.parents:
        raise fail(
            key,
            f"relative path {value!r} leaves the folder {base}; "
            "use an absolute path if you mean it",
        )
    return (toml_file.parent / p).resolve()


def is_safe_relative(name: str) -> bool:
    """True for a relative POSIX path that stays inside its folder.

    Repo listings and TOML files are untrusted input that ends up as a path
    under the cache or the package; ``..``, absolute paths and backslashes
    could make a write or a read escape that folder.
    """
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return all(part not in ("", ".", "..") for part in parts) and ":" not in parts[0]


def _gguf_groups(names: Iterable[str]) -> dict[tuple[str, str], list[tuple[int, int, str]]]:
    """Group repo .gguf files so that split shards of one model form one entry."""
    groups: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for name in names:
        if not name.lower().endswith(".gguf"):
            continue
        folder, _, base = name.rpartition("/")
        m = _SHARD_RE.match(base)
        if m:
            key = (folder, m["stem"])
            groups.setdefault(key, []).append((int(m["idx"]), int(m["total"]), name))
        else:
            groups.setdefault((folder, base[: -len(".gguf")]), []).append((1, 1, name))
    return groups


def _pattern_matches(pattern: str, stem: str) -> bool:
    if _GLOB_CHARS & set(pattern):
        return fnmatch.fnmatchcase(stem.lower(), pattern.lower().removesuffix(".gguf"))
    # The quant must stand as its own token: Q4_K must not match q4_k_m, Q4_0 not Q4_0_4_4.
    token = r"(?:^|[-._/])" + re.escape(pattern.lower()) + r"(?:$|[-.])"
    return re.search(token, stem.lower()) is not None


def select_gguf_files(rung: RungSpec, names: Iterable[str]) -> list[str]:
    """Pick the files of ``rung`` from a repo listing: all shards, first shard first.

    Raises :class:`LadderError` when nothing or more than one model matches,
    listing the candidates, because guessing between two quants would silently
    change what the experiment measures.
    """
    names = list(names)
    for name in names:
        if name.lower().endswith(".gguf") and not is_safe_relative(name):
            raise LadderError(f"{rung.repo}: refusing unsafe file name {name!r} in repo listing")
    groups = _gguf_groups(names)
    if rung.file is not None:
        chosen = [k for k, members in groups.items() if any(n == rung.file for _, _, n in members)]
        what = f"file {rung.file!r}"
    else:
        pattern = rung.pattern or ""
        chosen = [k for k in groups if _pattern_matches(pattern, k[1])]
        what = f"pattern {pattern!r}"
    where = f"{rung.repo}@{rung.revision or 'main'}"
    if not chosen:
        available = sorted(n for members in groups.values() for _, _, n in members)
        shown = ", ".join(available[:20]) + (" ..." if len(available) > 20 else "")
        raise LadderError(f"{where}: no .gguf file matches {what}; available: {shown or 'none'}")
    if len(chosen) > 1:
        cands = "; ".join(_group_label(groups[k]) for k in sorted(chosen))
        raise LadderError(
            f"{where}: {what} is ambiguous, it matches {len(chosen)} models: {cands}. "
            'Use a longer pattern or an exact file = "..."'
        )
    members = sorted(groups[chosen[0]])
    totals = {total for _, total, _ in members}
    indices = [idx for idx, _, _ in members]
    if len(totals) != 1 or indices != list(range(1, next(iter(totals)) + 1)):
        raise LadderError(f"{where}: split model is incomplete: {_group_label(members)}")
    return [name for _, _, name in members]


def _group_label(members: list[tuple[int, int, str]]) -> str:
    members = sorted(members)
    if len(members) == 1 and members[0][1] == 1:
        return members[0][2]
    return f"{members[0][2]} (+{len(members) - 1} more shards)"


__all__ = [
    "BUILTIN_FILE",
    "Ladder",
    "LadderError",
    "VARIANTS",
    "RungSpec",
    "get_ladder",
    "requantized",
    "is_safe_relative",
    "load_ladders",
    "parse_ladder_file",
    "select_gguf_files",
    "user_ladder_file",
]
