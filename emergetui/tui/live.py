"""Live state of a run, folded from the runner's events: progress, downloads and moving curves.

Pure Python (no Textual) so the folding logic is tested without a terminal.
The curves are built from the metric values that ``ItemsDone`` carries: a
running mean with a confidence interval that narrows as items arrive, so a
person sees a rung's point settle instead of jumping in at the end. When a
task setting finishes, the worker reads its stored rows and sends a
:class:`SettledTask` with the exact moments, which replaces the running ones
(it also covers items stored by an earlier, interrupted run).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import cast

from emergetui.analysis.bootstrap import wilson_interval
from emergetui.analysis.data import DISCRETE_PRIORITY, metric_kind
from emergetui.run import events as ev
from emergetui.run.describe import describe

Z95 = 1.959963984540054

# continuous metrics in the order the metric toggle visits them
CONTINUOUS_ORDER = (
    "logprob_correct",
    "prob_correct",
    "brier_sum",
    "token_edit_distance",
    "logprob_correct_mean",
)


@dataclass
class Moments:
    """Count, sum and sum of squares: enough for a running mean and its interval."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, values: Iterable[float]) -> None:
        for v in values:
            x = float(v)
            if math.isfinite(x):
                self.n += 1
                self.total += x
                self.total_sq += x * x

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def sd(self) -> float:
        """Sample standard deviation (0 for a single item: no spread is known yet)."""
        if self.n < 2:
            return 0.0
        var = (self.total_sq - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(0.0, var))

    def interval(self, binary: bool, z: float = Z95) -> tuple[float, float]:
        """Wilson interval for 0/1 metrics (honest near 0 and 1 with few items; the analysis's
        own :func:`~emergetui.analysis.bootstrap.wilson_interval`), else normal."""
        if not self.n:
            return (math.nan, math.nan)
        m = self.mean
        if binary and 0.0 <= m <= 1.0:
            level = 2.0 * NormalDist().cdf(z) - 1.0
            return wilson_interval(m * self.n, self.n, level)
        half = z * self.sd / math.sqrt(self.n)
        return (m - half, m + half)


def is_binary_metric(metric: str) -> bool:
    return metric_kind(metric).discrete


@dataclass(frozen=True)
class SettledTask:
    """Exact per-metric moments of one finished (rung, task, setting), read from the store."""

    rung: str
    task: str
    setting: str
    moments: dict[str, Moments]


@dataclass(frozen=True)
class LivePoint:
    rung: str
    params: int
    mean: float
    ci_low: float
    ci_high: float
    n: int
    settled: bool
    current: bool


@dataclass
class TaskProgress:
    rung: str
    task: str
    setting: str
    n_done: int
    n_total: int
    items_per_s: float = 0.0
    tokens_per_s: float = 0.0
    n_errors: int = 0
    finished: bool = False

    @property
    def fraction(self) -> float:
        return self.n_done / self.n_total if self.n_total else 1.0


@dataclass
class RungState:
    label: str
    params: int
    status: str = "pending"  # pending | downloading | loading | scoring | done | failed
    n_gpu_layers: int | None = None
    load_s: float | None = None
    heldout_loss: float | None = None
    elapsed_s: float | None = None
    error: str | None = None


@dataclass
class LiveState:
    """Everything the run screen shows, updated one event at a time by :meth:`apply`."""

    run_id: str = ""
    ladder: str = ""
    rungs: dict[str, RungState] = field(default_factory=dict)
    tasks: list[tuple[str, str]] = field(default_factory=list)
    progress: dict[tuple[str, str, str], TaskProgress] = field(default_factory=dict)
    downloads: dict[tuple[str, str], ev.DownloadProgress] = field(default_factory=dict)
    moments: dict[tuple[str, str, str, str], Moments] = field(default_factory=dict)
    settled: set[tuple[str, str, str]] = field(default_factory=set)
    current_rung: str | None = None
    finished: ev.RunFinished | None = None
    resumed_items: int = 0
    n_item_errors: int = 0

    def apply(self, item: object) -> str | None:
        """Fold one event (or :class:`SettledTask`) in; returns a log line worth showing, if any."""
        if isinstance(item, SettledTask):
            self._settle(item)
            return None
        match item:
            case ev.RunStarted():
                self.run_id, self.ladder = item.run_id, item.ladder
                self.rungs = {r.label: RungState(r.label, r.params) for r in item.rungs}
                self.tasks = list(item.tasks)
                self.resumed_items = item.resumed_items
            case ev.DownloadProgress():
                self.downloads[(item.rung, item.file)] = item
                self._rung(item.rung).status = "downloading"
                self.current_rung = item.rung
            case ev.RungStarted():
                self.current_rung = item.rung
                self._rung(item.rung, item.params).status = "loading"
            case ev.ModelLoaded():
                r = self._rung(item.rung)
                r.status, r.n_gpu_layers, r.load_s = "scoring", item.n_gpu_layers, item.load_s
            case ev.TaskStarted():
                self.progress[(item.rung, item.task, item.setting)] = TaskProgress(
                    item.rung, item.task, item.setting, item.n_done, item.n_items
                )
            case ev.ItemsDone():
                self._items_done(item)
            case ev.ItemFailed():
                self.n_item_errors += 1
            case ev.TaskFinished():
                p = self.progress.get((item.rung, item.task, item.setting))
                if p is not None:
                    p.finished, p.n_done = True, max(p.n_done, item.n)
            case ev.HeldoutLoss():
                self._rung(item.rung).heldout_loss = item.loss
            case ev.RungFinished():
                r = self._rung(item.rung)
                r.status, r.elapsed_s = (
                    ("done" if r.status != "failed" else "failed"),
                    item.elapsed_s,
                )
                self.downloads = {k: v for k, v in self.downloads.items() if k[0] != item.rung}
            case ev.RungFailed():
                r = self._rung(item.rung)
                r.status, r.error = "failed", item.error
            case ev.RunFinished():
                self.finished = item
                self.current_rung = None
        return describe(cast(ev.Event, item))

    def _rung(self, label: str, params: int = 0) -> RungState:
        if label not in self.rungs:
            self.rungs[label] = RungState(label, params)
        return self.rungs[label]

    def _items_done(self, item: ev.ItemsDone) -> None:
        key = (item.rung, item.task, item.setting)
        p = self.progress.setdefault(
            key, TaskProgress(item.rung, item.task, item.setting, 0, item.n_total)
        )
        p.n_done, p.n_total = item.n_done, item.n_total
        p.items_per_s, p.tokens_per_s = item.items_per_s, item.tokens_per_s
        p.n_errors += item.n_errors
        if key in self.settled:
            return
        for metric, values in item.values.items():
            self.moments.setdefault((item.task, item.setting, metric, item.rung), Moments()).add(
                values
            )

    def _settle(self, s: SettledTask) -> None:
        for key in [k for k in self.moments if (k[0], k[1], k[3]) == (s.task, s.setting, s.rung)]:
            del self.moments[key]
        for metric, m in s.moments.items():
            self.moments[(s.task, s.setting, metric, s.rung)] = m
        self.settled.add((s.rung, s.task, s.setting))

    # -- views -------------------------------------------------------------------------
    def metrics_for(self, task: str, setting: str) -> list[str]:
        """Metrics seen for a task setting: discrete ones first, then continuous, stable order."""
        seen = {k[2] for k in self.moments if (k[0], k[1]) == (task, setting)}
        return order_metrics(seen)

    def curve(self, task: str, setting: str, metric: str) -> list[LivePoint]:
        """One point per rung with values so far, in parameter order."""
        binary = is_binary_metric(metric)
        points: list[LivePoint] = []
        for r in sorted(self.rungs.values(), key=lambda r: (r.params, r.label)):
            m = self.moments.get((task, setting, metric, r.label))
            if m is None or m.n == 0:
                continue
            lo, hi = m.interval(binary)
            points.append(
                LivePoint(
                    r.label,
                    r.params,
                    m.mean,
                    lo,
                    hi,
                    m.n,
                    settled=(r.label, task, setting) in self.settled,
                    current=r.label == self.current_rung,
                )
            )
        return points

    def overall(self) -> tuple[int, int]:
        """Items done and items planned over all rungs and tasks seen so far."""
        done = sum(p.n_done for p in self.progress.values())
        return done, sum(p.n_total for p in self.progress.values())


def order_metrics(names: Iterable[str]) -> list[str]:
    """Discrete metrics (in analysis priority), then known continuous ones, then the rest."""
    names = set(names)
    ordered = [m for m in DISCRETE_PRIORITY if m in names]
    ordered += [m for m in CONTINUOUS_ORDER if m in names]
    ordered += sorted(names - set(ordered))
    return ordered


@dataclass
class MetricChoice:
    """Which metric a curve shows: the discrete one, or the n-th continuous one.

    Shared by the run and results screens so the mirage toggle behaves the
    same while a run is live and after it: ``toggle`` flips discrete <->
    continuous, ``cycle`` walks the continuous metrics.
    """

    discrete: bool = True
    continuous_index: int = 0

    def toggle(self) -> None:
        self.discrete = not self.discrete

    def cycle(self) -> None:
        self.continuous_index += 1

    def pick(self, available: Iterable[str]) -> str | None:
        avail = order_metrics(available)
        if not avail:
            return None
        disc = [m for m in avail if is_binary_metric(m)]
        cont = [m for m in avail if not is_binary_metric(m)]
        if self.discrete and disc:
            return disc[0]
        if not self.discrete and cont:
            return cont[self.continuous_index % len(cont)]
        return avail[0]

    @property
    def label(self) -> str:
        return "discrete" if self.discrete else "continuous"
