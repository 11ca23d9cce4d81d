"""The library's verbs, and the one driver of a run that every front end uses.

:class:`RunSession` drives a run end to end: it builds the experiment (its
warnings become ``LogMessage("warning", ...)`` events), iterates the runner,
runs the probe phase when the spec asks for it (``--probe``: its own events),
and reads and analyses the stored run once. The batch CLI (``cli/batch.py``),
the lab (``tui/driver.py``) and :func:`run` all drive runs through it, so the
three see the same events in the same order and none can drop a phase.

:func:`run` and :func:`analyze_run` return the run document
(:class:`~emergetui.report.rundoc.RunDocument`), whose ``to_dict()`` is what
``emergetui --batch --json`` prints, so a notebook and the command line see one
shape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emergetui.analysis.analyze import Analysis
from emergetui.probe.batch_pass import probe_document, run_probe_pass
from emergetui.report.document import run_document
from emergetui.report.from_store import analyse_run
from emergetui.report.rundoc import RunDocument
from emergetui.run.events import Event, LogMessage, RunFinished
from emergetui.run.runner import RunConfig, Runner
from emergetui.run.spec import Experiment, ExperimentSpec, build_experiment
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun, load_run

RunnerFactory = Callable[[RunConfig, Store], Runner]


@dataclass
class RunOutcome:
    """How a driven run ended, and (when analysed) what it found."""

    run_id: str
    experiment: Experiment
    finished: RunFinished | None
    """The runner's last event; None when it stopped without one (an error)."""
    stored: StoredRun | None = None
    analysis: Analysis | None = None
    document: RunDocument | None = None

    @property
    def cancelled(self) -> bool:
        return self.finished is not None and self.finished.cancelled


class RunSession:
    """One run: :meth:`drive` in one thread, :meth:`cancel` from any.

    ``store``: an open :class:`Store` (left open) or its path (opened and closed here).
    ``on_prepared`` sees the experiment and the runner before the first event (the lab
    names the run from it); ``runner_factory`` lets tests stand in for the runner.
    """

    def __init__(
        self,
        spec: ExperimentSpec,
        store: Store | Path | str | None = None,
        on_event: Callable[[Event], object] | None = None,
        *,
        on_prepared: Callable[[Experiment, Runner], object] | None = None,
        runner_factory: RunnerFactory = Runner,
    ) -> None:
        self.spec = spec
        self._store_arg = store
        self._on_event = on_event
        self._on_prepared = on_prepared
        self._factory = runner_factory
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._runner: Runner | None = None
        self.store: Store | None = None
        """The open store while :meth:`drive` runs (event handlers may read it)."""

    def cancel(self) -> None:
        with self._lock:
            self._cancel.set()
            if self._runner is not None:
                self._runner.cancel()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def drive(self, *, analyse: bool = True) -> RunOutcome:
        """Run (or resume) the spec; with ``analyse``, read the run back and analyse it once.

        Raises the experiment's errors (``SpecError``, ``LadderError``, ...) before anything
        runs; an ``on_event`` that raises stops the run, whose finished waves stay stored.
        """
        if isinstance(self._store_arg, Store):
            return self._drive(self._store_arg, analyse)
        path = Path(self._store_arg) if self._store_arg is not None else None
        with Store(path) as store:
            return self._drive(store, analyse)

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _drive(self, store: Store, analyse: bool) -> RunOutcome:
        exp = build_experiment(self.spec)
        runner = self._factory(exp.config, store)
        with self._lock:
            self._runner = runner
            if self._cancel.is_set():
                runner.cancel()
        self.store = store
        try:
            if self._on_prepared is not None:
                self._on_prepared(exp, runner)
            for warning in exp.warnings:
                self._emit(LogMessage("warning", warning))
            finished: RunFinished | None = None
            for event in runner.events():
                self._emit(event)
                if isinstance(event, RunFinished):
                    finished = event
            outcome = RunOutcome(runner.run_id, exp, finished)
            if self.spec.probe and finished is not None and not finished.cancelled:
                run_probe_pass(
                    store, runner.run_id, exp, self.spec, self._emit, self._cancel.is_set
                )
            if analyse:
                outcome.stored = load_run(store, runner.run_id)
                outcome.analysis = analyse_run(outcome.stored, seed=self.spec.seed)
                outcome.document = run_document(outcome.stored, outcome.analysis)
                if self.spec.probe:
                    outcome.document.probes = probe_document(store, runner.run_id)
            return outcome
        finally:
            self.store = None


def run(
    spec: ExperimentSpec,
    store: Path | str | None = None,
    on_event: Callable[[Event], object] | None = None,
) -> RunDocument:
    """Run (or resume) ``spec`` into ``store`` and return the analysed run document.

    ``on_event`` sees every event (the experiment's warnings, progress, rung failures, the
    probe phase); raise inside it to stop the run, whose finished waves stay stored.
    """
    doc = RunSession(spec, store, on_event).drive().document
    assert doc is not None  # drive(analyse=True) always makes one
    return doc


def analyze_run(
    run_id: str = "last", store: Path | str | None = None, seed: int = 0
) -> RunDocument:
    """The run document of a stored run (``run_id``: an id, a unique prefix, or ``"last"``)."""
    with Store(Path(store) if store is not None else None) as st:
        stored = load_run(st, st.resolve_run(run_id))
    return run_document(stored, analyse_run(stored, seed=seed))
