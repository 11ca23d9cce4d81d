"""`emergetui --batch`: build the experiment from the arguments, run it, print the results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emergetui.errors import CliError
from emergetui.experiment import build_experiment
from emergetui.probe_pass import probe_document, probe_text, run_probe_pass
from emergetui.progress import make_display
from emergetui.runner import Runner
from emergetui.store import Store, StoreError
from emergetui.summary import finite, results_table, run_document, verdict_lines


def run_batch(args: argparse.Namespace) -> int:
    try:
        store = Store(args.store)
    except StoreError as e:
        raise CliError(str(e)) from e
    with store:
        exp = build_experiment(args)
        for warning in exp.warnings:
            print(f"emergetui: warning: {warning}", file=sys.stderr)
        runner = Runner(exp.config, store)
        display = make_display(json_mode=args.json)
        finished = None
        try:
            for ev in runner.events():
                display.handle(ev)
                if type(ev).__name__ == "RunFinished":
                    finished = ev
        except StoreError as e:
            raise CliError(str(e)) from e
        finally:
            display.close()
        if getattr(args, "probe", False) and finished is not None and not finished.cancelled:
            run_probe_pass(store, runner.run_id, exp, args)
        doc = run_document(store, runner.run_id, exp.config.ladder, analyse=True, seed=args.seed)
        if getattr(args, "probe", False):
            doc["probes"] = finite(probe_document(store, runner.run_id))
        if args.json:
            json.dump(doc, sys.stdout, indent=2, allow_nan=False, default=_json_default)
            sys.stdout.write("\n")
        else:
            print(results_table(doc))
            if not args.no_plot:
                _print_plots(store, runner.run_id, args.seed)
            _print_verdicts(doc)
            if getattr(args, "probe", False):
                print(probe_text(store, runner.run_id))
            print(f"\nrun {runner.run_id} stored in {store.path}")
            print(f"  report: emergetui report {runner.run_id} --out DIR    export: emergetui export {runner.run_id}")
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


def _print_verdicts(doc: dict[str, Any]) -> None:
    lines = verdict_lines(doc)
    if lines:
        print("\nEmergence verdicts (see `emergetui --help` for the rule)")
        for line in lines:
            print(f"  {line}")
