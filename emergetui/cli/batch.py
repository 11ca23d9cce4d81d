"""`emergetui --batch`: drive a run (:class:`~emergetui.api.RunSession`), print the results."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.api import RunSession
from emergetui.cli.interrupt import cancel_on_ctrl_c
from emergetui.cli.progress import make_display
from emergetui.probe.batch_pass import probe_text
from emergetui.report.rundoc import RunDocument
from emergetui.report.summary import (
    COMPACT_MAX_PLOTS,
    COMPACT_PLOT_HEIGHT,
    findings_text,
    table_text,
    verdicts_text,
)
from emergetui.run.events import Event, RunFinished
from emergetui.run.spec import ExperimentSpec
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun


def run_batch(
    spec: ExperimentSpec,
    store_path: Path | None,
    *,
    json_mode: bool = False,
    plots: bool = True,
    table: str = "compact",
    x: str = "params",
) -> int:
    """Run ``spec`` into the store at ``store_path``; the exit status follows the documented rules
    (docs/user-guide.md).

    ``table``: "compact" prints findings, one ladder table per task setting, the verdicts
    and the plots of the curves worth seeing; "full" the findings, the long table, every
    plot and every verdict's detail."""
    with Store(store_path) as store:
        display = make_display(json_mode=json_mode)
        session = RunSession(spec, store, _stop_when_cancelled(display.handle))
        try:
            with cancel_on_ctrl_c(session):
                outcome = session.drive()
        finally:
            display.close()
        doc, run, analysis = outcome.document, outcome.stored, outcome.analysis
        assert doc is not None and run is not None and analysis is not None
        axis = None
        if x != "params":  # --x: the curves on another axis too (cli/compare.py)
            from emergetui.cli.compare import axis_comparison

            axis = axis_comparison(store, run.run_id, x, spec.seed)
            doc.axis = axis[0].to_dict() | {"notes": [*axis[1], *axis[0].notes]}
        if json_mode:
            json.dump(doc.to_dict(), sys.stdout, indent=2, allow_nan=False, default=_json_default)
            sys.stdout.write("\n")
        else:
            compact = table == "compact"
            print(findings_text(doc) + "\n" + table_text(doc, table), end="" if compact else "\n")
            if compact:
                print(verdicts_text(doc, table), end="")
            if plots:
                _print_plots(run, analysis, compact=compact)
            if not compact:
                print(verdicts_text(doc, table), end="")
            _print_forecasts(doc)
            if spec.probe:
                print(probe_text(store, run))
            if axis is not None:
                from emergetui.report.compare import comparison_text

                print("\n" + comparison_text(axis[0], plots=plots, notes=axis[1]), end="")
            print(f"\nrun {outcome.run_id} stored in {store.path}")
            print(
                f"  report: emergetui report {outcome.run_id} --out DIR    "
                f"export: emergetui export {outcome.run_id}"
            )
        finished = outcome.finished
        if finished is None:
            return 1
        if finished.cancelled:
            return 130
        n_rungs = len(outcome.experiment.config.rungs)
        all_failed = finished.n_failed_rungs and finished.n_failed_rungs == n_rungs
        return 1 if all_failed else 0


def _stop_when_cancelled(handle: Callable[[Event], object]) -> Callable[[Event], object]:
    """The display's handler, and a cancelled run's last event ends the command as Ctrl+C
    always has (exit 130, the stored items kept), without analysing a partial run."""

    def on_event(event: Event) -> None:
        handle(event)
        if isinstance(event, RunFinished) and event.cancelled:
            raise KeyboardInterrupt

    return on_event


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _print_plots(run: StoredRun, analysis: Analysis, *, compact: bool) -> None:
    try:
        from emergetui.report.ladder_table import WORTH_SEEING
        from emergetui.report.termplot import run_plots
    except ImportError:
        return
    only, cap, rows = (
        (WORTH_SEEING, COMPACT_MAX_PLOTS, COMPACT_PLOT_HEIGHT) if compact else (None, None, 18)
    )
    for text in run_plots(run, analysis, only=only, max_plots=cap, height=rows):
        print(text)


def _print_forecasts(doc: RunDocument) -> None:
    """Could each headline curve's rungs be predicted from the smaller ones (and how)?"""
    from emergetui.report.forecast_section import forecast_lines

    lines = forecast_lines(doc.forecast or [])
    if lines:
        print("\nForecasts (each rung from the rungs below it; 90% bands)")
        for line in lines:
            print(f"  {line}")
