"""BIG-bench JSON tasks, with prompts built the way BIG-bench's ``JsonTask`` builds them.

Format (``bigbench/api/json_task.py``): each example becomes
``example_input_prefix + input [+ choice_prefix + choices...] + example_output_prefix``,
the choices appended in an order drawn by ``np.random.RandomState(seed).permutation``
of the sorted choice strings (one generator consumed example by example); few-shot
contexts are formatted shots (input + one target) joined with
``few_shot_example_separator``, then the separator and the query; ``task_prefix``
goes once in front of the whole prompt. Multiple-choice items score the choice
strings themselves as continuations; generative items generate and are
post-processed with ``stop_string`` / ``output_regex`` (BIG-bench's default regex
when the task gives neither).

Shot selection: ``"fixed"`` (default) uses one seeded shot order per task, shared
by all items, for KV-cache prefix sharing (see :mod:`emergetui.tasks.fewshot`);
``"bigbench"`` replays ``make_nshot_dataset``'s per-item draws exactly, with
duplicate examples removed first as BIG-bench does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from emergetui.tasks.base import Item, ItemSet, TaskError

__all__ = ["SUPPORTED_METRICS", "BigBenchTask", "item_sets", "load_bigbench", "parse_task"]
from emergetui.tasks.bigbench_metrics import GENERATIVE_METRICS, SCORE_RANGES
from emergetui.tasks.bigbench_sets import SUPPORTED_METRICS, bigbench_meta, item_set
from emergetui.tasks.fewshot import ShotOrder, bigbench_draws, join_shots
from emergetui.tasks.metrics import BIGBENCH_DEFAULT_REGEX, META_STOP_STRING
from emergetui.tasks.sources import read_json

#: TOML/JSON field name -> PromptFormat attribute.
FORMAT_FIELDS = {
    "task_prefix": "task_prefix",
    "example_input_prefix": "input_prefix",
    "example_output_prefix": "output_prefix",
    "choice_prefix": "choice_prefix",
    "append_choices_to_input": "append_choices_to_input",
    "few_shot_example_separator": "separator",
}
SHOT_SAMPLING = ("fixed", "bigbench")


@dataclass(frozen=True)
class PromptFormat:
    """BIG-bench's prompt fields, with its defaults."""

    task_prefix: str = ""
    input_prefix: str = "\nQ: "
    output_prefix: str = "\nA: "
    choice_prefix: str = "\n  choice: "
    append_choices_to_input: bool = True
    separator: str = "\n"

    def updated(self, fields: Mapping[str, Any], where: str) -> PromptFormat:
        """A copy with fields given under their BIG-bench names; wrong types are TaskErrors."""
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            attr = FORMAT_FIELDS.get(key)
            if attr is None:
                continue
            want = bool if attr == "append_choices_to_input" else str
            if not isinstance(value, want):
                raise TaskError(f"{where}: field {key!r} must be a {want.__name__}, got {value!r}")
            changes[attr] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class Example:
    """One example of the task file, validated."""

    index: int
    input: str
    target: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()

    def shot_targets(self) -> tuple[str, ...]:
        """The answers BIG-bench may write after a shot: the targets, or else the first
        best-scoring choice (``default_format_fn``)."""
        if self.target:
            return self.target
        best = max(self.scores)
        return (next(c for c, s in zip(self.choices, self.scores, strict=True) if s == best),)


@dataclass
class BigBenchTask:
    """A loaded task.json; ``source`` says where it came from (path or hf://)."""

    name: str
    source: str
    description: str = ""
    fmt: PromptFormat = field(default_factory=PromptFormat)
    metrics: tuple[str, ...] = ()
    preferred_score: str = ""
    output_regex: str | None = None
    stop_string: str | None = None
    examples: list[Example] = field(default_factory=list)
    duplicates_removed: int = 0
    absolute_normalization: bool = False

    def score_range(self) -> tuple[float, float] | None:
        """BIG-bench's (low_score, high_score) for the preferred score, None if it has none.

        As json_task: the range's ends, except that multiple_choice_grade's low
        score is the mean over examples of the mean target score (random guessing).
        """
        rng = SCORE_RANGES.get(self.preferred_score)
        if rng is None:
            return None
        low, high = rng
        if self.preferred_score == "multiple_choice_grade":
            mc = [ex.scores for ex in self.examples if ex.scores]
            if mc:
                low = sum(sum(s) / len(s) for s in mc) / len(mc)
        return low, high


# --------------------------------------------------------------------------- parsing


def _str_field(data: Mapping[str, Any], key: str, where: str, default: str | None) -> str | None:
    value = data.get(key, default)
    if value is not None and not isinstance(value, str):
        raise TaskError(f"{where}: field {key!r} must be a string, got {value!r}")
    return value


def _parse_example(raw: Any, index: int, where: str) -> Example:
    at = f"{where}: examples[{index}]"
    if not isinstance(raw, dict):
        raise TaskError(f"{at}: must be an object, got {type(raw).__name__}")
    text = raw.get("input")
    if not isinstance(text, str):
        raise TaskError(f"{at}: field 'input' missing or not a string")
    if "target" not in raw and "target_scores" not in raw:
        raise TaskError(f"{at}: needs 'target' or 'target_scores'")
    target: tuple[str, ...] = ()
    if "target" in raw:
        t = raw["target"]
        target = (t,) if isinstance(t, str) else tuple(t) if isinstance(t, list) else ()
        if not target or not all(isinstance(x, str) for x in target):
            raise TaskError(f"{at}: field 'target' must be a string or a non-empty list of strings")
    choices: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()
    if "target_scores" in raw:
        ts = raw["target_scores"]
        if not isinstance(ts, dict) or not ts:
            raise TaskError(f"{at}: field 'target_scores' must be a non-empty object")
        bad = [k for k, v in ts.items() if not isinstance(v, (int, float))]
        if bad:
            raise TaskError(f"{at}: target_scores[{bad[0]!r}] is not a number")
        odd = [k for k, v in ts.items() if not math.isfinite(v)]
        if odd:  # NaN would make "the best choice" undefined (max() and == both break on it)
            raise TaskError(
                f"{at}: target_scores[{odd[0]!r}] is {ts[odd[0]]}; scores must be finite"
            )
        if max(ts.values()) <= 0:
            raise TaskError(f"{at}: target_scores has no choice with a positive score")
        choices = tuple(ts)
        scores = tuple(float(v) for v in ts.values())
    return Example(index, text, target, choices, scores)


def check_regex(regex: str | None, where: str) -> None:
    if regex is None:
        return
    try:
        groups = re.compile(regex).groups
    except re.error as e:
        raise TaskError(f"{where}: field 'output_regex' is not a valid regex: {e}") from None
    if groups > 1:
        raise TaskError(f"{where}: field 'output_regex' has {groups} groups; use (?:...)")


def _check_name(data: Mapping[str, Any], where: str) -> str | None:
    """The file's own ``name``, refused when it looks like a path.

    Why: a task's name ends up in file names (reports, exports); a name such
    as ``../../x`` must not get the chance to leave the folder it is written to.
    """
    name = _str_field(data, "name", where, None)
    if name and (any(c in name for c in "/\\\x00") or name.startswith(".")):
        raise TaskError(
            f"{where}: field 'name' must be a plain name "
            f"(no / or \\, not starting with '.'), got {name!r}"
        )
    return name


def parse_task(
    data: Any, where: str, default_name: str, parent: Mapping[str, Any] | None = None
) -> BigBenchTask:
    """Validate one task.json body (``where`` names it in errors).

    A subtask takes ``metrics``/``preferred_score``/``description`` from its parent
    task.json only when it lacks them; prompt fields are never inherited, as in BIG-bench.
    """
    if not isinstance(data, dict):
        raise TaskError(f"{where}: top level must be a JSON object")
    inherited = {
        k: v
        for k, v in (parent or {}).items()
        if k in ("metrics", "preferred_score", "description")
    }
    data = {**inherited, **data}
    name = _check_name(data, where) or default_name
    metrics = data.get("metrics", [])
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise TaskError(f"{where}: field 'metrics' must be a list of strings")
    fmt = PromptFormat().updated(data, where)
    output_regex = _str_field(data, "output_regex", where, None)
    stop_string = _str_field(data, "stop_string", where, None) or None
    if output_regex is None and stop_string is None:
        output_regex = BIGBENCH_DEFAULT_REGEX
    check_regex(output_regex, where)
    raw_examples = data.get("examples")
    if not isinstance(raw_examples, list) or not raw_examples:
        raise TaskError(f"{where}: task has no examples")
    examples: list[Example] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_examples):
        ex = _parse_example(raw, i, where)
        key = json.dumps(raw, sort_keys=False, ensure_ascii=False)
        if key in seen:  # BIG-bench's remove_duplicates: identical examples count once
            continue
        seen.add(key)
        examples.append(ex)
    return BigBenchTask(
        name=name,
        source=where,
        description=_str_field(data, "description", where, "") or "",
        fmt=fmt,
        metrics=tuple(metrics),
        preferred_score=_str_field(data, "preferred_score", where, "") or "",
        output_regex=output_regex,
        stop_string=stop_string,
        examples=examples,
        duplicates_removed=len(raw_examples) - len(examples),
        absolute_normalization=data.get("absolute_normalization", False) is True,
    )


def load_bigbench(path: Path) -> tuple[list[BigBenchTask], list[TaskError]]:
    """A task.json, a task folder, or a folder of subtasks (each ``*/task.json``).

    Subtasks are named ``parent:subtask`` like BIG-bench; a broken subtask is
    reported in the error list and the others still load.
    """
    path = path.expanduser()
    if path.is_file():
        data = read_json(path)
        if isinstance(data, dict) and "examples" not in data and _subtask_files(path.parent):
            return _load_subtasks(path.parent, data)
        return [parse_task(data, str(path), path.parent.name)], []
    if not path.is_dir():
        raise TaskError(f"{path}: no such file or folder")
    own = path / "task.json"
    parent: Any = read_json(own) if own.is_file() else None
    if isinstance(parent, dict) and "examples" in parent:
        return [parse_task(parent, str(own), path.name)], []
    if not _subtask_files(path):
        raise TaskError(f"{path}: no task.json here and no subfolders with a task.json")
    return _load_subtasks(path, parent)


def _subtask_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/task.json") if p.is_file())


def _load_subtasks(folder: Path, parent: Any) -> tuple[list[BigBenchTask], list[TaskError]]:
    files = _subtask_files(folder)
    return _parse_subtasks(
        [(str(f), f.parent.name, partial(read_json, f)) for f in files],
        parent,
        folder.name,
        str(folder / "task.json"),
    )


def _parse_subtasks(
    subs: list[tuple[str, str, Callable[[], Any]]],
    parent: Any,
    default_parent: str,
    parent_where: str = "",
) -> tuple[list[BigBenchTask], list[TaskError]]:
    """``(where, folder name, reader)`` per subtask -> tasks named ``parent:subtask``."""
    parent_map = parent if isinstance(parent, dict) else {}
    name = _check_name(parent_map, parent_where or default_parent)
    parent_name = name or default_parent
    tasks: list[BigBenchTask] = []
    errors: list[TaskError] = []
    for where, folder_name, read in subs:
        try:
            task = parse_task(read(), where, folder_name, parent_map)
        except TaskError as e:
            errors.append(e)
            continue
        task.name = f"{parent_name}:{task.name}"
        tasks.append(task)
    return tasks, errors


def load_bigbench_hf(
    repo_id: str, filename: str, revision: str | None = None
) -> tuple[list[BigBenchTask], list[TaskError]]:
    """A task.json in the official schema from a Hugging Face dataset repo.

    If the file is a parent task.json without examples, the ``*/task.json`` files
    one level below it in the repo are fetched as its subtasks.
    """
    if not filename or filename.startswith("/") or ".." in Path(filename).parts:
        raise TaskError(f"hf://{repo_id}: invalid file name {filename!r}")
    try:
        import huggingface_hub as hub
    except ImportError:
        raise TaskError(
            "loading from the Hugging Face Hub needs huggingface_hub (pip install huggingface-hub)"
        ) from None

    def fetch(name: str) -> Any:
        try:
            local = Path(hub.hf_hub_download(repo_id, name, repo_type="dataset", revision=revision))
        except Exception as e:  # network, auth, missing file: all user-facing
            raise TaskError(f"hf://{repo_id}/{name}: download failed: {e}") from None
        return read_json(local)

    where = f"hf://{repo_id}/{filename}"
    data = fetch(filename)
    folder = Path(filename).parent
    default_name = folder.name or repo_id.split("/")[-1]
    if not (isinstance(data, dict) and "examples" not in data):
        return [parse_task(data, where, default_name)], []
    try:
        files = hub.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    except Exception as e:
        raise TaskError(f"{where}: cannot list the repo's subtasks: {e}") from None
    subs = sorted(
        f for f in files if Path(f).name == "task.json" and Path(f).parent.parent == folder
    )
    if not subs:
        raise TaskError(f"{where}: task has no examples and no subtasks")
    return _parse_subtasks(
        [(f"hf://{repo_id}/{f}", Path(f).parent.name, partial(fetch, f)) for f in subs],
        data,
        default_name,
        where,
    )


# --------------------------------------------------------------------------- prompts and items


def format_inputs(task: BigBenchTask, seed: int) -> list[str]:
    """Each example's formatted input, as ``default_format_fn`` makes it.

    One ``RandomState(seed)`` is consumed in example order for the choice
    permutations, so the appended choice order matches BIG-bench's for the same seed.
    """
    import numpy as np

    rng = np.random.RandomState(seed)
    fmt = task.fmt
    out = []
    for ex in task.examples:
        text = ex.input
        if ex.choices and fmt.append_choices_to_input:
            permuted = [str(c) for c in rng.permutation(sorted(ex.choices))]
            text = text + fmt.choice_prefix + fmt.choice_prefix.join(permuted)
        out.append(fmt.input_prefix + text + fmt.output_prefix)
    return out


def _same_input(examples: Sequence[Example], test: Example, j: int) -> bool:
    """Whether example ``j`` asks what the test item asks (then it is not shown as a shot)."""
    return examples[j].input == test.input


def _fixed_contexts(
    task: BigBenchTask, inputs: list[str], shots: int, seed: int, count: int
) -> list[str]:
    order = ShotOrder.seeded(len(task.examples), seed, task.name)
    shot_texts = [inp + ex.shot_targets()[0] for inp, ex in zip(inputs, task.examples, strict=True)]
    contexts = []
    for ex in task.examples[:count]:
        picked = order.shots_for(shots, partial(_same_input, task.examples, ex), task.name)
        contexts.append(task.fmt.separator.join(shot_texts[j] for j in picked))
    return contexts


def item_sets(
    task: BigBenchTask,
    shots: Sequence[int],
    seed: int,
    *,
    shot_sampling: str = "fixed",
    max_tokens: int = 32,
    limit: int | None = None,
) -> tuple[list[ItemSet], list[TaskError]]:
    """One :class:`ItemSet` per shot count; a shot count the task cannot fill is an
    error for that setting only."""
    if shot_sampling not in SHOT_SAMPLING:
        raise TaskError(
            f"{task.name}: shot_sampling must be one of {SHOT_SAMPLING}, got {shot_sampling!r}"
        )
    inputs = format_inputs(task, seed)
    # As json_task: generate only for a generative metric (or when none is declared).
    generative = not task.metrics or any(m in GENERATIVE_METRICS for m in task.metrics)
    stop = (task.stop_string,) if task.stop_string else ("\n",)
    meta_stop = ((META_STOP_STRING, task.stop_string),) if task.stop_string else ()
    sets: list[ItemSet] = []
    errors: list[TaskError] = []
    count = len(inputs) if limit is None else min(limit, len(inputs))
    meta_bb = bigbench_meta(task, count)
    for k in shots:
        try:
            if k == 0:
                contexts = [""] * count
            elif shot_sampling == "bigbench":
                keys = [
                    (i, e.shot_targets(), e.choices, e.scores)
                    for i, e in zip(inputs, task.examples, strict=True)
                ]
                contexts = bigbench_draws(
                    keys,
                    inputs,
                    [e.shot_targets() for e in task.examples],
                    k,
                    seed,
                    task.fmt.separator,
                    task.name,
                    count,
                )
            else:
                contexts = _fixed_contexts(task, inputs, k, seed, count)
        except TaskError as e:
            errors.append(e)
            continue
        items = []
        for ex, inp, ctx in zip(task.examples[:count], inputs[:count], contexts, strict=True):
            query = join_shots([ctx], inp, task.fmt.separator) if k else inp
            items.append(
                Item(
                    item_id=str(ex.index),
                    prompt=task.fmt.task_prefix + query,
                    choices=ex.choices,
                    target_scores=ex.scores,
                    targets=ex.target,
                    generate=bool(ex.target) and generative,
                    stop=stop,
                    max_tokens=max_tokens,
                    output_regex=task.output_regex,
                    shots=k,
                    meta=(("example", str(ex.index)), *meta_stop, *meta_bb),
                )
            )
        sets.append(item_set(task, k, items, seed, shot_sampling))
    return sets, errors
