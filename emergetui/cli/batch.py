"""`emergetui --batch`: drive a run (:class:`~emergetui.api.RunSession`), print the results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.api import RunSession
from emergetui.cli.progress import make_display
from emergetui.probe.batch_pass import probe_text
from emergetui.report.document import results_table
from emergetui.report.rundoc import RunDocument, finding_lines
from emergetui.run.spec import ExperimentSpec
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun


def run_batch(
    spec: ExperimentSpec, store_path: Path | None, *, json_mode: bool = False, plots: bool = True
) -> int:
    """Run ``spec`` into the store at ``store_path``; the exit status follows the README's rules."""
    with Store(store_path) as store:
        display = make_display(json_mode=json_mode)
        try:
            outcome = RunSession(spec, store, display.handle).drive()
        finally:
            display.close()
        doc, run, analysis = outcome.document, outcome.stored, outcome.analysis
        assert doc is not None and run is not None and analysis is not None
        if json_mode:
            json.dump(doc.to_dict(), sys.stdout, indent=2, allow_nan=False, default=_json_default)
            sys.stdout.write("\n")
        else:
            _print_findings(doc)
            print(results_table(doc))
            if plots:
                _print_plots(run, analysis)
            _print_verdicts(doc)
            if spec.probe:
                print(probe_text(store, run))
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


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _print_plots(run: StoredRun, analysis: Analysis) -> None:
    try:
        from emergetui.report.termplot import run_plots
    except ImportError:
        return
    for text in run_plots(run, analysis):
        print(text)


def _print_findings(doc: RunDocument) -> None:
    """The plain-words story first: what happened, where, what the continuous metric says."""
    lines = finding_lines(doc)
    if lines:
        print("\nFindings")
        for line in lines:
            print(f"  * {line}")
        print()


def _print_verdicts(doc: RunDocument) -> None:
    lines = doc.verdicts
    if lines:
        print("\nEmergence verdicts (see `emergetui --help` for the rule)")
        for line in lines:
            print(f"  {line}")
