"""The library's two verbs: run an experiment, analyse a stored run.

Both return the run document (:class:`~emergetui.report.rundoc.RunDocument`), whose
``to_dict()`` is what ``emergetui --batch --json`` prints, so a notebook and the
command line see one shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from emergetui.report.document import run_document
from emergetui.report.from_store import analyse_run
from emergetui.report.rundoc import RunDocument
from emergetui.run.events import Event
from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.results import Store
from emergetui.store.stored_run import load_run


def run(
    spec: ExperimentSpec,
    store: Path | str | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> RunDocument:
    """Run (or resume) ``spec`` into ``store`` and return the analysed run document.

    ``on_event`` sees every runner event (progress, rung failures); raise
    inside it to stop the run, whose finished waves stay stored.
    """
    with Store(Path(store) if store is not None else None) as st:
        exp = build_experiment(spec)
        runner = Runner(exp.config, st)
        for ev in runner.events():
            if on_event is not None:
                on_event(ev)
        run = load_run(st, runner.run_id)
        return run_document(run, analyse_run(run, seed=spec.seed))


def analyze_run(
    run_id: str = "last", store: Path | str | None = None, seed: int = 0
) -> RunDocument:
    """The run document of a stored run (``run_id``: an id, a unique prefix, or ``"last"``)."""
    with Store(Path(store) if store is not None else None) as st:
        rid = st.resolve_run(run_id)
        run = load_run(st, rid)
        return run_document(run, analyse_run(run, seed=seed))
