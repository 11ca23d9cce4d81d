"""What to run, as a typed value, and how it becomes a runnable experiment.

:class:`ExperimentSpec` is the one interface between the front ends and the
core: the batch CLI fills it from parsed arguments, the lab from its start
screen (or from a stored run, to resume it), and :func:`build_experiment`
turns it into the ladder's rungs, item sets and held-out text. Because both
front ends build the same spec from the same choices, they produce the same
run id, which is what makes a run started in one resumable in the other.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.errors import SpecError
from emergetui.models.ladders import Ladder, RungSpec, get_ladder
from emergetui.run.events import DownloadProgress
from emergetui.run.runner import RunConfig, Rung
from emergetui.store.identity import RunIdentity
from emergetui.tasks.base import ItemSet

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment's choices.

    ``None`` means "the default" (all rungs, the ladder's tasks, 0 shots).
    """

    ladder: str = "toy"
    rungs: tuple[str, ...] | None = None
    tasks: tuple[str, ...] | None = None
    tasks_dirs: tuple[Path, ...] = ()
    mmlu_dir: Path | None = None
    bigbench_dir: Path | None = None
    suites: tuple[str, ...] = ()
    shots: tuple[int, ...] | None = None
    limit: int | None = None
    seed: int = 0
    n_gpu_layers: str | int = "auto"
    max_model_gb: float | None = None
    n_ctx: int | None = None
    threads: int | None = None
    corpus: Path | None = None
    heldout: bool = True
    offline: bool = False
    probe: bool = False
    probe_items: int = 300
    stall_timeout_s: float | None = None  # None: the runner's default
    fast_packing: bool = False
    """Pack requests across items (``--fast-packing``): faster, but an item's log-probs then
    depend on what else is scored with it (docs/exactness.md)."""
    rpc: tuple[str, ...] = ()
    """llama.cpp RPC servers (``HOST:PORT``) for every rung without its own ``rpc`` in
    models.toml.
    """

    def __post_init__(self) -> None:
        if self.n_gpu_layers != "auto" and not isinstance(self.n_gpu_layers, int):
            raise SpecError(
                f"n_gpu_layers: expected 'auto' or an integer, got {self.n_gpu_layers!r}"
            )
        if self.limit is not None and self.limit < 1:
            raise SpecError(f"limit: expected a positive number of items, got {self.limit}")
        if self.stall_timeout_s is not None and not self.stall_timeout_s > 0:
            raise SpecError(f"stall timeout: expected seconds > 0, got {self.stall_timeout_s}")
        if self.shots is not None and any(s < 0 for s in self.shots):
            raise SpecError(f"shots: expected counts >= 0, got {list(self.shots)}")

    def replace(self, **changes: Any) -> ExperimentSpec:
        return dataclasses.replace(self, **changes)

    def demo(self) -> ExperimentSpec:
        """The default demo (``emergetui --batch`` with no arguments: the bundled toy ladder
        and its tasks), keeping only this spec's choices of *how* to run (GPU layers, size
        cap, threads, offline, stall timeout, RPC servers), so the lab's demo button runs
        exactly the experiment docs/toy-ladder.md and the batch output describe."""
        return ExperimentSpec(
            n_gpu_layers=self.n_gpu_layers,
            max_model_gb=self.max_model_gb,
            threads=self.threads,
            offline=self.offline,
            stall_timeout_s=self.stall_timeout_s,
            rpc=self.rpc,
            fast_packing=self.fast_packing,
        )

    def resuming(self, stored: RunIdentity | Mapping[str, Any]) -> ExperimentSpec:
        """This spec with the choices of a stored run (its ``RunConfig.identity()``, or that
        identity as the store keeps it), to resume it.
        """
        if isinstance(stored, RunIdentity):
            stored = stored.to_dict()
        shots = stored.get("shots")
        return self.replace(
            ladder=stored.get("ladder", self.ladder),
            rungs=tuple(stored.get("rungs") or ()) or None,
            tasks=tuple(stored.get("task_specs") or ()) or None,
            suites=tuple(stored.get("suites") or ()),
            shots=tuple(int(s) for s in shots) if shots else None,
            limit=stored.get("limit"),
            seed=int(stored.get("seed", 0)),
            heldout=bool(stored.get("heldout")),
        )


@dataclass
class Experiment:
    config: RunConfig
    ladder: Ladder
    warnings: list[str] = field(default_factory=list)


def select_rungs(ladder: Ladder, wanted: tuple[str, ...] | None) -> list[RungSpec]:
    if not wanted:
        return list(ladder.rungs)
    known = {r.label: r for r in ladder.rungs}
    missing = [w for w in wanted if w not in known]
    if missing:
        raise SpecError(
            f"rungs: ladder {ladder.name} has no rung {', '.join(missing)} "
            f"(it has {', '.join(known)})"
        )
    return [r for r in ladder.rungs if r.label in wanted]


def _fetcher(spec: RungSpec, offline: bool) -> Callable[[Callable[[DownloadProgress], None]], Path]:
    def fetch(emit: Callable[[DownloadProgress], None]) -> Path:
        from emergetui.models import hub

        return hub.ensure_rung(spec, on_progress=emit, offline=offline or None)

    return fetch


def default_tasks(ladder: Ladder) -> list[str]:
    """A bundled ladder names its own tasks ("tasks", else its main "task"); others get
    the arithmetic suite."""
    if ladder.kind == "bundled" and ladder.rungs and ladder.rungs[0].path is not None:
        manifest = ladder.rungs[0].path.parent / "manifest.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            tasks = data.get("tasks") or ([data["task"]] if data.get("task") else [])
            if tasks:
                return [str(manifest.parent / t) for t in tasks]
    return ["arith-2digit-add", "arith-3digit-add"]


def heldout_text(spec: ExperimentSpec, ladder: Ladder) -> tuple[str | None, str]:
    if not spec.heldout:
        return None, ""
    path: Path | None = spec.corpus or ladder.heldout
    if path is None:
        files = sorted(DEFAULT_CORPUS.glob("*.txt")) if DEFAULT_CORPUS.is_dir() else []
        path = files[0] if files else None
    if path is None:
        return None, ""
    try:
        return Path(path).read_text(encoding="utf-8"), Path(path).name
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read held-out corpus: {e}") from None


def build_experiment(spec: ExperimentSpec) -> Experiment:
    """Resolve a spec against the ladders and task files; raises an EmergetuiError on bad input."""
    ladder = get_ladder(spec.ladder)
    specs = select_rungs(ladder, spec.rungs)
    shots = list(spec.shots) if spec.shots is not None else None
    from emergetui.tasks.registry import resolve_tasks

    suites = list(spec.suites)
    tasks = list(spec.tasks) if spec.tasks else ([] if suites else default_tasks(ladder))
    item_sets, errors = resolve_tasks(
        tasks,
        shots,
        spec.limit,
        spec.seed,
        list(spec.tasks_dirs),
        mmlu_dir=spec.mmlu_dir,
        bigbench_dir=spec.bigbench_dir,
        suite_names=suites,
        offline=spec.offline,
    )
    warnings = [str(e) for e in errors]
    item_sets = [s for s in item_sets if s.items]
    if not item_sets:
        raise SpecError("no task could be loaded" + (f": {warnings[0]}" if warnings else ""))
    text, name = heldout_text(spec, ladder)
    rungs = [
        Rung(label=s.label, params=s.params, path=s.path, rpc=s.rpc)
        if s.path is not None
        else Rung(label=s.label, params=s.params, fetch=_fetcher(s, spec.offline), rpc=s.rpc)
        for s in specs
    ]
    extra: dict[str, Any] = {"limit": spec.limit, "shots": shots, "task_specs": tasks}
    if suites:  # only when used, so that the run ids of earlier runs do not change
        extra["suites"] = suites
    config = RunConfig(
        ladder=ladder.name,
        rungs=rungs,
        item_sets=_sorted(item_sets),
        seed=spec.seed,
        n_gpu_layers=spec.n_gpu_layers,
        n_ctx=spec.n_ctx,
        heldout_text=text,
        heldout_name=name,
        extra=extra,
        max_model_gb=spec.max_model_gb,
        n_threads=spec.threads,
        rpc=tuple(spec.rpc),
        fast_packing=spec.fast_packing,
    )
    if spec.stall_timeout_s is not None:
        config.stall_timeout_s = spec.stall_timeout_s
    return Experiment(config, ladder, warnings)


def _sorted(sets: list[ItemSet]) -> list[ItemSet]:
    return sorted(sets, key=lambda s: (s.task, s.shots, s.setting))


__all__ = ["Experiment", "ExperimentSpec", "build_experiment", "default_tasks", "select_rungs"]
