"""What the screens need from the core, as plain functions and dataclasses.

Everything here may touch the disk (GGUF headers, the HF cache, SQLite) or
take a while (the analysis bootstraps), so screens call these from thread
workers, never from a message handler. Keeping them out of the widgets also
keeps the widgets free of engine, store and analysis logic.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis, AnalysisConfig
from emergetui.models.fit import Memory, detect_memory
from emergetui.models.ladders import Ladder, LadderError, get_ladder, load_ladders
from emergetui.models.status import DEFAULT_N_CTX, RungRow, memory_note, rung_rows
from emergetui.report.from_store import analyse_run
from emergetui.store.results import Store
from emergetui.store.rows import RunSummary, StoredRung
from emergetui.store.stored_run import StoredRun, load_run

__all__ = ["DEFAULT_N_CTX", "RungRow", "memory_note", "rung_rows"]


def machine_memory() -> Memory:
    return detect_memory()


# -- ladders ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LadderChoice:
    """A ladder the start screen offers; ``spec`` is what ``--ladder`` takes (a name or a TOML
    path)."""

    name: str
    spec: str
    description: str
    ladder: Ladder | None
    problem: str | None = None


def available_ladders(extra: str | None = None) -> list[LadderChoice]:
    """Known ladders, plus the one named on the command line when it is a TOML file."""
    choices: dict[str, LadderChoice] = {}
    try:
        for name, lad in load_ladders().items():
            choices[name] = LadderChoice(
                name, name, lad.description, None if lad.problem else lad, lad.problem
            )
    except LadderError as e:
        choices["?"] = LadderChoice("?", "", "", None, str(e))
    if extra and extra not in choices:
        try:
            lad = get_ladder(extra)
            choices[lad.name] = LadderChoice(lad.name, extra, lad.description, lad)
        except LadderError as e:
            choices[extra] = LadderChoice(extra, extra, "", None, str(e))
    return list(choices.values())


# -- tasks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskChoice:
    name: str
    description: str
    selected: bool
    label: str  # what the list shows: the name, or for a task file the name inside it


def task_choices(tasks_dir: list[Path], preselected: list[str]) -> list[TaskChoice]:
    """The task catalogue, with the command line's tasks (names or paths) ticked."""
    from emergetui.tasks.registry import list_tasks

    infos = [t for t in list_tasks(list(tasks_dir)) if not t.error]
    names = {t.name for t in infos}
    out = [
        TaskChoice(spec, "from the command line or the ladder's default", True, task_label(spec))
        for spec in preselected
        if spec not in names
    ]
    out += [TaskChoice(t.name, t.description, t.name in preselected, t.name) for t in infos]
    return out


def task_label(spec: str) -> str:
    """How a task is shown: a task file (the bundled ladder's tasks are files) by the name it
    declares, else by its file name; a name as it is. The spec itself stays the value run."""
    path = Path(spec)
    if path.suffix not in (".json", ".toml") or not path.is_file():
        return spec
    from emergetui.tasks.task_toml import tomllib

    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError):  # TOMLDecodeError is a ValueError
        return path.name
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else path.name


def default_task_specs(ladder: Ladder | None) -> list[str]:
    if ladder is None:
        return []
    from emergetui.run.spec import default_tasks

    return default_tasks(ladder)


# -- stored runs ------------------------------------------------------------------------------
def list_runs(store_path: Path | None) -> list[RunSummary]:
    with Store(store_path) as store:
        return store.runs()


def run_config(store_path: Path | None, run_id: str) -> dict[str, Any]:
    with Store(store_path) as store:
        return store.run_config(run_id)


def fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


@dataclass
class ResultsData:
    """A stored run analysed: what the results screen shows."""

    run_id: str
    ladder: str
    status: str
    rungs: list[StoredRung]
    analysis: Analysis | None
    task_settings: list[tuple[str, str]] = field(default_factory=list)
    n_items: int = 0
    n_errors: int = 0
    probes: str = ""
    run: StoredRun | None = None
    """The rows read once, reused when the screen writes the report files."""


def probe_heatmaps(store: Store, run_id: str, task: str | None = None) -> str:
    """The `--probe` heat maps (layer × rung) of a run as text, or "" when it has none."""
    from emergetui.probe.report import heatmap_text, onset
    from emergetui.probe.store import load_probe_results

    results = load_probe_results(store, run_id)
    if not results:
        return ""
    out: list[str] = []
    for t, setting in dict.fromkeys((r.task, r.setting) for r in results):
        if task is not None and t != task:
            continue
        sel = [r for r in results if r.task == t and r.setting == setting]
        o = onset(sel)
        out.append(
            f"{t} [{setting}]: the probe first beats chance at rung {o.probe or 'none'}; "
            f"the behaviour at rung {o.behaviour or 'none'}"
        )
        for kind in ("probe_acc", "lens_prob"):
            out.append(heatmap_text(sel, t, kind=kind, setting=setting))
    return "\n".join(out)


def load_results(
    store_path: Path | None, run_id: str, seed: int = 0, config: AnalysisConfig | None = None
) -> ResultsData:
    """Analyse a stored run exactly as the batch CLI's results document does.

    ``config`` changes the bootstrap sizes (tests use small ones); the default
    is the documented analysis, the same numbers as ``emergetui report``.
    """
    with Store(store_path) as store:
        run = load_run(store, run_id)
        probes = probe_heatmaps(store, run_id)
    analysis = analyse_run(run, seed=seed, config=config) if run.records else None
    return ResultsData(
        run_id=run_id,
        ladder=run.ladder,
        status=run.status,
        rungs=run.rungs,
        analysis=analysis,
        task_settings=[(t.task, t.setting) for t in run.tasksets],
        n_items=len(run.records),
        n_errors=run.n_errors,
        probes=probes,
        run=run,
    )


REPORT_FORMATS = ("md", "csv", "json", "png")


def export_report(
    store_path: Path | None,
    data: ResultsData,
    out_dir: Path,
    formats: tuple[str, ...] = REPORT_FORMATS,
) -> list[Path]:
    """Write the report files of the run the results screen shows, from the rows it read and
    the analysis it shows (``emergetui report``'s writer: the same files, analysed once)."""
    from emergetui.report import write_run_report

    if data.analysis is None or data.run is None:
        raise ValueError(f"run {data.run_id} has no stored items to report on")
    with Store(store_path) as store:
        return write_run_report(
            store, data.run_id, out_dir, formats, run=data.run, analysis=data.analysis
        )
