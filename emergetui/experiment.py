"""Turning command-line choices into a runnable experiment (ladder rungs, item sets, held-out text).

Shared by the batch CLI and the TUI's start screen so both build exactly the
same experiment, and so the same run id, from the same choices.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emergetui.errors import CliError
from emergetui.run.events import DownloadProgress
from emergetui.models.ladders import Ladder, LadderError, RungSpec, get_ladder
from emergetui.run.runner import RunConfig, Rung
from emergetui.tasks.base import ItemSet, TaskError

DEFAULT_CORPUS = Path(__file__).parent / "data" / "corpus"


@dataclass
class Experiment:
    config: RunConfig
    ladder: Ladder
    warnings: list[str] = field(default_factory=list)


def parse_int_list(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CliError(f"{what}: expected comma-separated integers, got {text!r}") from None


def parse_gpu_layers(text: str | None) -> str | int:
    if text is None or text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise CliError(f"--n-gpu-layers: expected 'auto' or an integer, got {text!r}") from None


def select_rungs(ladder: Ladder, wanted: str | None) -> list[RungSpec]:
    if not wanted:
        return list(ladder.rungs)
    labels = [w.strip() for w in wanted.split(",") if w.strip()]
    known = {r.label: r for r in ladder.rungs}
    missing = [w for w in labels if w not in known]
    if missing:
        raise CliError(
            f"--rungs: ladder {ladder.name} has no rung {', '.join(missing)} (it has {', '.join(known)})"
        )
    return [r for r in ladder.rungs if r.label in labels]


def _fetcher(spec: RungSpec, offline: bool) -> Callable[[Callable[[DownloadProgress], None]], Path]:
    def fetch(emit: Callable[[DownloadProgress], None]) -> Path:
        from emergetui.models import hub

        return hub.ensure_rung(spec, on_progress=emit, offline=offline or None)

    return fetch


def default_tasks(ladder: Ladder) -> list[str]:
    """A bundled ladder names its own tasks ("tasks", else its main "task"); others get
    the arithmetic suite."""
    if ladder.kind == "bundled" and ladder.rungs and ladder.rungs[0].path is not None:
        import json

        manifest = ladder.rungs[0].path.parent / "manifest.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            tasks = data.get("tasks") or ([data["task"]] if data.get("task") else [])
            if tasks:
                return [str(manifest.parent / t) for t in tasks]
    return ["arith-2digit-add", "arith-3digit-add"]


def heldout_text(args: argparse.Namespace, ladder: Ladder) -> tuple[str | None, str]:
    if getattr(args, "no_heldout", False):
        return None, ""
    path: Path | None = args.corpus or ladder.heldout
    if path is None:
        files = sorted(DEFAULT_CORPUS.glob("*.txt")) if DEFAULT_CORPUS.is_dir() else []
        path = files[0] if files else None
    if path is None:
        return None, ""
    try:
        return Path(path).read_text(encoding="utf-8"), Path(path).name
    except (OSError, UnicodeDecodeError) as e:
        raise CliError(f"{path}: cannot read held-out corpus: {e}") from None


def build_experiment(args: argparse.Namespace) -> Experiment:
    try:
        ladder = get_ladder(args.ladder)
    except LadderError as e:
        raise CliError(str(e)) from None
    specs = select_rungs(ladder, args.rungs)
    shots = parse_int_list(args.shots, "--shots")
    from emergetui.tasks.registry import resolve_tasks

    tasks = args.tasks or default_tasks(ladder)
    item_sets, errors = resolve_tasks(
        tasks,
        shots,
        args.limit,
        args.seed,
        list(args.tasks_dir),
        mmlu_dir=getattr(args, "mmlu_dir", None),
    )
    warnings = [str(e) for e in errors]
    item_sets = [s for s in item_sets if s.items]
    if not item_sets:
        raise CliError("no task could be loaded" + (f": {warnings[0]}" if warnings else ""))
    text, name = heldout_text(args, ladder)
    layers = parse_gpu_layers(args.n_gpu_layers)
    rungs = [
        Rung(label=s.label, params=s.params, path=s.path)
        if s.path is not None
        else Rung(label=s.label, params=s.params, fetch=_fetcher(s, args.offline))
        for s in specs
    ]
    extra = {"limit": args.limit, "shots": shots, "task_specs": tasks}
    config = RunConfig(
        ladder=ladder.name,
        rungs=rungs,
        item_sets=_sorted(item_sets),
        seed=args.seed,
        n_gpu_layers=layers,
        n_ctx=args.n_ctx,
        heldout_text=text,
        heldout_name=name,
        extra=extra,
        max_model_gb=getattr(args, "max_model_gb", None),
        n_threads=getattr(args, "threads", None),
    )
    return Experiment(config, ladder, warnings)


def _sorted(sets: list[ItemSet]) -> list[ItemSet]:
    return sorted(sets, key=lambda s: (s.task, s.shots, s.setting))


__all__ = ["Experiment", "TaskError", "build_experiment"]
