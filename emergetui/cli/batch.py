"""`emergetui --batch`: build the experiment from a spec, run it, print the results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emergetui.cli.progress import make_display
from emergetui.probe.batch_pass import probe_document, probe_text, run_probe_pass
from emergetui.report.document import (
    finding_lines,
    finite,
    results_table,
    run_document,
    verdict_lines,
)
from emergetui.run.events import RunFinished
from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.run.store import Store


def run_batch(
    spec: ExperimentSpec, store_path: Path | None, *, json_mode: bool = False, plots: bool = True
) -> int:
    """Run ``spec`` into the store at ``store_path``; the exit status follows the documented rules
    (docs/user-guide.md)."""
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
        doc = run_document(store, runner.run_id, exp.config.ladder, analyse=True, seed=spec.seed)
        if spec.probe:
            doc["probes"] = finite(probe_document(store, runner.run_id))
        if json_mode:
            json.dump(doc, sys.stdout, indent=2, allow_nan=False, default=_json_default)
            sys.stdout.write("\n")
        else:
            _print_findings(doc)
            print(results_table(doc))
            if plots:
                _print_plots(store, runner.run_id, spec.seed)
            _print_verdicts(doc)
            if spec.probe:
                print(probe_text(store, runner.run_id))
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


def _print_plots(store: Store, run_id: str, seed: int) -> None:
    try:
        from emergetui.report.termplot import run_plots
    except ImportError:
        return
    for text in run_plots(store, run_id, seed=seed):
        print(text)


def _print_findings(doc: dict[str, Any]) -> None:
    """The plain-words story first: what happened, where, what the continuous metric says."""
    lines = finding_lines(doc)
    if lines:
        print("\nFindings")
        for line in lines:
            print(f"  * {line}")
        print()


def _print_verdicts(doc: dict[str, Any]) -> None:
    lines = verdict_lines(doc)
    if lines:
        print("\nEmergence verdicts (see `emergetui --help` for the rule)")
        for line in lines:
            print(f"  {line}")
