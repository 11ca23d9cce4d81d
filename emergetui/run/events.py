"""Plain progress/result events from the runner, consumed by the batch CLI and the TUI alike.

Events are small frozen dataclasses with no behaviour: a front end decides how
to show them, the runner never knows who listens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emergetui.models.progress import DownloadProgress


@dataclass(frozen=True)
class PlannedRung:
    """A rung as the run plans it (the model file may not be downloaded yet)."""

    label: str
    params: int
    path: str
    sha256: str = ""


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    ladder: str
    rungs: tuple[PlannedRung, ...]
    tasks: tuple[tuple[str, str], ...]  # (task, setting)
    resumed_items: int = 0


@dataclass(frozen=True)
class RungStarted:
    rung: str
    index: int
    n_rungs: int
    params: int


@dataclass(frozen=True)
class ModelLoaded:
    rung: str
    n_gpu_layers: int
    load_s: float
    n_params: int
    size_bytes: int


@dataclass(frozen=True)
class TaskStarted:
    rung: str
    task: str
    setting: str
    n_items: int
    n_done: int  # already stored from an earlier, interrupted run


@dataclass(frozen=True)
class ItemsDone:
    """A batch of items stored. ``values`` maps metric -> the new items' values, for live curves."""

    rung: str
    task: str
    setting: str
    n_done: int
    n_total: int
    values: dict[str, tuple[float, ...]] = field(default_factory=dict)
    items_per_s: float = 0.0
    tokens_per_s: float = 0.0
    n_errors: int = 0


@dataclass(frozen=True)
class ItemFailed:
    rung: str
    task: str
    setting: str
    item_id: str
    error: str


@dataclass(frozen=True)
class TaskFinished:
    rung: str
    task: str
    setting: str
    means: dict[str, float]
    n: int


@dataclass(frozen=True)
class HeldoutLoss:
    """Per-token loss of a rung on the held-out reference text."""

    rung: str
    loss: float
    ppl: float
    bpb: float
    n_tokens: int


@dataclass(frozen=True)
class RungFinished:
    """A rung done. ``phases``: seconds the rung's work spent by phase, measured where it ran
    ("fit", "plan", "load", "score", "generate", "heldout", "store"; "store" is the
    time spent turning finished items into records, metrics and events, and sending them).
    """

    rung: str
    elapsed_s: float
    tokens_decoded: int = 0
    phases: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerStarted:
    """A rung's worker process is running: its pid (for py-spy or a debugger) and llama.cpp's
    log.
    """

    rung: str
    pid: int
    log_path: str
    attempt: int = 1


@dataclass(frozen=True)
class RungFailed:
    """A rung given up.

    ``log``: the file that holds llama.cpp's log of it ("" when none was kept).
    """

    rung: str
    error: str
    log: str = ""


@dataclass(frozen=True)
class LogMessage:
    """A line for the run's log. The experiment's warnings (a task with fewer items than the
    limit, a rung that may not fit) arrive as ``LogMessage("warning", ...)`` before the run
    starts."""

    level: str  # "info" | "warning" | "error"
    message: str


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    elapsed_s: float
    cancelled: bool = False
    n_failed_rungs: int = 0


@dataclass(frozen=True)
class ProbeStarted:
    """The probe phase (``--probe``, after scoring) starts on a rung: per-layer states, the
    logit lens and linear probes, in a worker process of its own."""

    rung: str
    index: int
    n_rungs: int


@dataclass(frozen=True)
class ProbeDone:
    """A rung's probe results are stored (``n_settings`` task settings probed)."""

    rung: str
    n_settings: int
    elapsed_s: float


@dataclass(frozen=True)
class ProbeFailed:
    """A rung's probe failed; its scored results are unaffected and the next rung is probed."""

    rung: str
    error: str


Event = (
    RunStarted
    | DownloadProgress
    | RungStarted
    | ModelLoaded
    | TaskStarted
    | ItemsDone
    | ItemFailed
    | TaskFinished
    | HeldoutLoss
    | RungFinished
    | WorkerStarted
    | RungFailed
    | LogMessage
    | RunFinished
    | ProbeStarted
    | ProbeDone
    | ProbeFailed
)
