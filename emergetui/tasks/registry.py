"""Task definitions as TOML data, and turning task specs from the CLI into item sets.

A task file (built-ins live in ``emergetui/data/tasks/``)::

    name = "arith-2digit-add"
    description = "2-digit addition"
    shots = [0, 1, 3]                # default [0]; the CLI's --shots overrides
    limit = 200                      # optional; the CLI's --limit overrides
    metrics = ["exact_match"]        # optional: which metrics to show, first = preferred
    max_tokens = 32                  # optional (BIG-bench tasks)
    shot_sampling = "fixed"          # or "bigbench" (BIG-bench tasks)

    [source]
    type = "arithmetic"              # op, digits, style ("bigbench"|"plain"), n
    # type = "bigbench"              # path = "..."  or  hf_repo = "..", hf_file = "../task.json"
    # type = "mmlu"                  # path = "..."  or  hf = "cais/mmlu"; scoring, subjects
    # type = "recall"                # keys, values, pairs, n: a fresh code per question

    [prompt]                         # BIG-bench field names, override the task.json
    example_input_prefix = "\\nQ: "

Relative paths resolve against the TOML file's folder and may not leave it
(absolute paths are taken as given). Why data, not code: users add tasks
without touching Python, and a task's exact definition is a file that can be
versioned next to the results.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from emergetui.tasks import arithmetic, bigbench, bigbench_fetch, mmlu, recall, suites
from emergetui.tasks.base import ItemSet, TaskError
from emergetui.tasks.metrics import BIGBENCH_DEFAULT_REGEX
from emergetui.tasks.sources import resolve_inside
from emergetui.tasks.task_toml import SOURCES, TaskDef, load_task_toml, typed

__all__ = ["SOURCES", "TaskDef", "load_task_toml", "list_tasks", "resolve_tasks"]

MMLU_HINT = (
    "needs the MMLU data: pass --mmlu-dir DIR (the original CSV release: DIR/dev, DIR/val, "
    "DIR/test), or use the task 'mmlu-hf', which downloads cais/mmlu from the Hugging Face Hub"
)


@dataclass(frozen=True)
class TaskInfo:
    """One entry of ``emergetui tasks``; ``error`` is set for a task file that does not parse."""

    name: str
    source: str
    description: str
    path: Path
    builtin: bool
    error: str = ""


def builtin_dir() -> Path:
    return Path(str(resources.files("emergetui") / "data" / "tasks"))


def _bigbench_dirs(folder: Path) -> list[Path]:
    """Subfolders that are BIG-bench tasks (own task.json, or subtasks with one)."""
    if not folder.is_dir():
        return []
    return sorted(
        d
        for d in folder.iterdir()
        if d.is_dir()
        and not d.name.startswith(".")
        and ((d / "task.json").is_file() or any(d.glob("*/task.json")))
    )


def _catalog(extra_dirs: Sequence[Path]) -> tuple[dict[str, TaskDef | Path], list[TaskInfo]]:
    """Name -> task definition (or BIG-bench folder); later dirs override earlier ones."""
    by_name: dict[str, TaskDef | Path] = {}
    infos: dict[str, TaskInfo] = {}
    for folder, builtin in [
        (builtin_dir(), True),
        *((Path(d).expanduser(), False) for d in extra_dirs),
    ]:
        try:
            files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
            bb_dirs = [] if builtin else _bigbench_dirs(folder)
        except OSError:  # unreadable folder: nothing to list there
            continue
        for file in files:
            try:
                tdef = load_task_toml(file, builtin)
            except TaskError as e:
                infos[file.stem] = TaskInfo(file.stem, "invalid", "", file, builtin, str(e))
                continue
            by_name[tdef.name] = tdef
            infos[tdef.name] = TaskInfo(
                tdef.name, str(tdef.source["type"]), tdef.description, file, builtin
            )
        for d in bb_dirs:
            by_name[d.name] = d
            infos[d.name] = TaskInfo(d.name, "bigbench", "BIG-bench task folder", d, False)
    return by_name, list(infos.values())


def list_tasks(extra_dirs: list[Path]) -> list[TaskInfo]:
    """Built-in tasks, then tasks in ``extra_dirs`` (TOML files and BIG-bench folders)."""
    return sorted(_catalog(extra_dirs)[1], key=lambda t: (not t.builtin, t.name))


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Run:
    shots: Sequence[int] | None
    limit: int | None
    seed: int
    mmlu_dir: Path | None
    bigbench_dir: Path | None = None
    fetcher: bigbench_fetch.Fetcher | None = None

    def bigbench_root(self, spec: str) -> tuple[Path, list[TaskError]]:
        """The BIG-bench benchmark_tasks folder (flag, environment or user config), else
        the download cache with ``spec``'s files fetched into it (and the subtasks that
        could not be had)."""
        root = suites.find_bigbench_dir(self.bigbench_dir)
        if root is not None or self.fetcher is None:
            return suites.need_bigbench_dir(root, spec), []
        name, sub = suites.split_name(spec)
        errors = self.fetcher.ensure(spec, name, sub)
        return self.fetcher.settings.tasks_dir, errors


def _build_bigbench(
    tasks: list[bigbench.BigBenchTask], tdef: TaskDef | None, run: _Run, rename: bool
) -> tuple[list[ItemSet], list[TaskError]]:
    sets: list[ItemSet] = []
    errors: list[TaskError] = []
    shots = run.shots if run.shots is not None else (tdef.shots if tdef else (0,))
    limit = run.limit if run.limit is not None else (tdef.limit if tdef else None)
    for task in tasks:
        try:
            if tdef is not None:
                where = f"{tdef.path} [prompt]"
                task.fmt = task.fmt.updated(tdef.prompt, where)
                if "stop_string" in tdef.prompt:
                    task.stop_string = tdef.prompt["stop_string"] or None
                    if task.stop_string and task.output_regex == BIGBENCH_DEFAULT_REGEX:
                        task.output_regex = None  # BIG-bench's default only applies without both
                if "output_regex" in tdef.prompt:
                    task.output_regex = tdef.prompt["output_regex"] or None
                    bigbench.check_regex(task.output_regex, where)
                if rename:
                    task.name = tdef.name + (
                        ":" + task.name.split(":", 1)[1] if ":" in task.name else ""
                    )
            s, e = bigbench.item_sets(
                task,
                shots,
                run.seed,
                shot_sampling=tdef.shot_sampling if tdef else "fixed",
                max_tokens=tdef.max_tokens if tdef else 32,
                limit=limit,
            )
        except TaskError as err:
            errors.append(err)
            continue
        sets += s
        errors += e
    return sets, errors


def _from_def(tdef: TaskDef, run: _Run) -> tuple[list[ItemSet], list[TaskError]]:
    src, where = tdef.source, f"{tdef.path} [source]"
    shots = tuple(run.shots) if run.shots is not None else tdef.shots
    limit = run.limit if run.limit is not None else tdef.limit
    base = tdef.path.parent
    if src["type"] == "arithmetic":
        try:
            sets = arithmetic.item_sets(
                tdef.name,
                typed(src, "op", str, where, "add"),
                typed(src, "digits", int, where, 1),
                typed(src, "n", int, where, 200),
                shots,
                run.seed,
                typed(src, "style", str, where, "bigbench"),
                limit,
            )
        except TaskError as e:
            raise TaskError(f"{where}: {e}") from None
        errors: list[TaskError] = []
    elif src["type"] == "recall":
        keys = typed(src, "keys", str, where, "ABCDEFGH")
        values = typed(src, "values", str, where, "STUVWXYZ")
        pairs, n = typed(src, "pairs", int, where, 4), typed(src, "n", int, where, 200)
        recall.check(keys, values, pairs, n, where)
        try:
            sets = recall.item_sets(tdef.name, keys, values, pairs, n, shots, run.seed, limit)
        except TaskError as e:
            raise TaskError(f"{tdef.path}: {e}") from None
        errors = []
    elif src["type"] == "bigbench":
        if "path" in src:
            tasks, errors = bigbench.load_bigbench(
                resolve_inside(base, typed(src, "path", str, where, ""), where)
            )
        elif "hf_repo" in src:
            tasks, errors = bigbench.load_bigbench_hf(
                typed(src, "hf_repo", str, where, ""),
                typed(src, "hf_file", str, where, "task.json"),
                typed(src, "revision", str, where, None),
            )
        else:
            raise TaskError(f"{where}: a bigbench source needs 'path' or 'hf_repo'")
        sets, more = _build_bigbench(tasks, tdef, run, rename=True)
        errors += more
    else:
        subjects = typed(src, "subjects", list, where, None)
        if subjects is not None:
            mmlu.check_subjects(subjects, f"{where} field 'subjects'")
        scoring = tuple(typed(src, "scoring", list, where, list(mmlu.SCORING)))
        if not scoring or any(m not in mmlu.SCORING for m in scoring):
            raise TaskError(f"{where}: field 'scoring' must list some of {mmlu.SCORING}")
        if "path" in src:
            root = resolve_inside(base, typed(src, "path", str, where, ""), where)
            data, origin = mmlu.load_local(root, subjects), str(root)
        elif "hf" in src:
            repo = typed(src, "hf", str, where, mmlu.HF_REPO)
            data = mmlu.load_hf(repo, subjects, revision=typed(src, "revision", str, where, None))
            origin = f"hf://{repo}"
        elif run.mmlu_dir is not None:
            data, origin = mmlu.load_local(run.mmlu_dir, subjects), str(run.mmlu_dir)
        else:
            raise TaskError(f"task {tdef.name!r} {MMLU_HINT}")
        sets, errors = mmlu.item_sets(data, shots, scoring, limit, tdef.name, origin)
    if tdef.metrics:
        for s in sets:
            s.metrics = tdef.metrics
            s.preferred_metric = tdef.metrics[0]
    return sets, errors


def _resolve_one(
    spec: str, run: _Run, catalog: dict[str, TaskDef | Path]
) -> tuple[list[ItemSet], list[TaskError]]:
    """A known task name wins over a same-named file in the working folder; anything
    with a path separator or a .toml/.json suffix is a path."""
    if spec.startswith(suites.PREFIX):
        return _by_bigbench_name(spec, run)
    path = Path(spec).expanduser()
    name, _, sub = spec.partition(":")
    looks_like_path = "/" in spec or os.sep in spec or path.suffix in (".toml", ".json")
    entry = None if looks_like_path else catalog.get(spec) or catalog.get(name)
    if entry is None:
        if path.suffix == ".toml" and path.is_file():
            return _from_def(load_task_toml(path), run)
        if path.exists() and (path.suffix == ".json" or path.is_dir()):
            tasks, errors = bigbench.load_bigbench(path)
            sets, more = _build_bigbench(tasks, None, run, rename=False)
            return sets, errors + more
        if looks_like_path:
            raise TaskError(f"{spec}: no such file or folder")
        close = difflib.get_close_matches(spec, list(catalog), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `emergetui tasks`"
        raise TaskError(f"unknown task {spec!r}{hint}")
    if isinstance(entry, TaskDef):
        sets, errors = _from_def(entry, run)
    else:
        tasks, errors = bigbench.load_bigbench(entry)
        sets, more = _build_bigbench(tasks, None, run, rename=False)
        errors += more
    if sub and spec not in catalog:  # "folder:subtask": keep that subtask and its errors
        sets = [s for s in sets if s.task.split(":", 1)[-1] == sub]
        errors = [e for e in errors if f"{os.sep}{sub}{os.sep}" in str(e)]
        if not sets and not errors:
            raise TaskError(f"{spec}: task {name!r} has no subtask {sub!r}")
    return sets, errors


def _by_bigbench_name(spec: str, run: _Run) -> tuple[list[ItemSet], list[TaskError]]:
    """``bigbench:NAME[/SUBTASK]`` from the BIG-bench checkout."""
    root, fetch_errors = run.bigbench_root(spec)
    folder, sub = suites.resolve_name(spec, root)
    tasks, errors = bigbench.load_bigbench(folder)
    errors = fetch_errors + errors
    if sub:
        tasks = [t for t in tasks if t.name.split(":", 1)[-1] == sub]
        errors = [e for e in errors if f"{os.sep}{sub}{os.sep}" in str(e)]
        if not tasks and not errors:
            raise TaskError(f"{spec}: task {folder.name!r} has no subtask {sub!r}")
    sets, more = _build_bigbench(tasks, None, run, rename=False)
    return sets, errors + more


def resolve_tasks(
    specs: list[str],
    shots: list[int] | None,
    limit: int | None,
    seed: int,
    extra_dirs: list[Path],
    *,
    mmlu_dir: Path | None = None,
    bigbench_dir: Path | None = None,
    suite_names: Sequence[str] = (),
    offline: bool = False,
) -> tuple[list[ItemSet], list[TaskError]]:
    """Item sets for every spec (task name, ``name:subtask``, task.json, BIG-bench
    folder, task TOML, or ``bigbench:NAME[/SUBTASK]``) and every named suite
    (see :mod:`emergetui.tasks.suites`; without a BIG-bench folder their files are
    fetched, :mod:`emergetui.tasks.bigbench_fetch`, from the cache only when
    ``offline``). A failing task yields a TaskError in the
    second list and the other tasks still load; ``limit`` keeps the first N items
    per setting (per subject for MMLU)."""
    if limit is not None and limit < 1:
        return [], [TaskError(f"--limit must be >= 1, got {limit}")]
    if shots is not None and any(k < 0 for k in shots):
        return [], [TaskError(f"--shots must be >= 0, got {shots}")]
    fetcher = bigbench_fetch.Fetcher(bigbench_fetch.FetchSettings.from_env(offline))
    run = _Run(shots, limit, seed, mmlu_dir, bigbench_dir, fetcher)
    catalog, _ = _catalog(extra_dirs)
    sets: list[ItemSet] = []
    errors: list[TaskError] = []
    if suite_names:
        try:
            root = suites.find_bigbench_dir(bigbench_dir)
            more, errors = (
                suites.expand_suites(suite_names, root)
                if root is not None
                else bigbench_fetch.suite_specs_fetched(suite_names)
            )
        except TaskError as e:
            return [], [e]
        specs = [*specs, *(m for m in more if m not in specs)]
    for spec in specs:
        try:
            found, failed = _resolve_one(spec, run, catalog)
        except TaskError as err:
            found, failed = [], [err]
        except (OSError, ValueError) as err:  # odd paths (NUL bytes, permissions) are bad input too
            found, failed = [], [TaskError(f"{spec}: {err}")]
        except RecursionError:
            found, failed = [], [TaskError(f"{spec}: task data nested too deeply")]
        sets += found
        errors += failed
    return sets, fetcher.collapse(errors)
