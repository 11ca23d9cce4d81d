"""`emergetui --batch`: build the experiment from a spec, run it, print the results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emergetui.analysis.analyze import Analysis
from emergetui.cli.progress import make_display
from emergetui.probe.batch_pass import probe_document, probe_text, run_probe_pass
from emergetui.report.document import results_table, run_document
from emergetui.report.from_store import analyse_run
from emergetui.report.rundoc import RunDocument, finding_lines
from emergetui.run.events import RunFinished
from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun, load_run


def run_batch(
    spec: ExperimentSpec, store_path: Path | None, *, json_mode: bool = False, plots: bool = True
) -> int:
    """Run ``spec`` into the store at ``store_path``; the exit status follows the README's rules."""
    with Store(store_path) as store:
        exp = build_experiment(spec)
        for warning in exp.warnings:
            print(f"emergetui: warning: {warning}", file=sys.stderr)
        runner = Runner(exp.config, store)
        display = make_display(json_mode=json_mode)
        finished = None
        try:
            for ev in runner.events():
                display.handle(ev)
                if isinstance(ev, RunFinished):
                    finished = ev
        finally:
            display.close()
        if spec.probe and finished is not None and not finished.cancelled:
            run_probe_pass(store, runner.run_id, exp, spec)
        # read and analysed once: the document, the plots and the verdicts show this analysis
        run = load_run(store, runner.run_id)
        analysis = analyse_run(run, seed=spec.seed)
        doc = run_document(run, analysis)
        if spec.probe:
            doc.probes = probe_document(store, runner.run_id)
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
            print(f"\nrun {runner.run_id} stored in {store.path}")
            print(
                f"  report: emergetui report {runner.run_id} --out DIR    "
                f"export: emergetui export {runner.run_id}"
            )
        if finished is None:
            return 1
        if finished.cancelled:
            return 130
        all_failed = finished.n_failed_rungs and finished.n_failed_rungs == len(exp.config.rungs)
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
