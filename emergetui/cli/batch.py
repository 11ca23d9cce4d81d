"""`emergetui --batch`: build the experiment from a spec, run it, print the results."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emergetui.cli.progress import make_display
from emergetui.probe.batch_pass import probe_document, probe_text, run_probe_pass
from emergetui.report.document import finite, run_document
from emergetui.report.summary import (
    COMPACT_MAX_PLOTS,
    COMPACT_PLOT_HEIGHT,
    findings_text,
    table_text,
    verdicts_text,
)
from emergetui.run.events import RunFinished
from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.run.store import Store


def run_batch(
    spec: ExperimentSpec,
    store_path: Path | None,
    *,
    json_mode: bool = False,
    plots: bool = True,
    table: str = "compact",
    x: str = "params",
) -> int:
    """Run ``spec`` into the store at ``store_path``; the exit status follows the README's rules.

    ``table``: "compact" prints findings, one ladder table per task setting, the verdicts
    and the plots of the curves worth seeing; "full" the findings, the long table, every
    plot and every verdict's detail."""
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
        axis = None
        if x != "params":  # --x: the curves on another axis too (cli/compare.py)
            from emergetui.cli.compare import axis_comparison

            axis = axis_comparison(store, runner.run_id, x, spec.seed)
            doc["axis"] = axis[0].to_dict() | {"notes": [*axis[1], *axis[0].notes]}
        if json_mode:
            json.dump(doc, sys.stdout, indent=2, allow_nan=False, default=_json_default)
            sys.stdout.write("\n")
        else:
            compact = table == "compact"
            print(findings_text(doc) + "\n" + table_text(doc, table), end="" if compact else "\n")
            if compact:
                print(verdicts_text(doc, table), end="")
            if plots:
                _print_plots(store, runner.run_id, spec.seed, compact=compact)
            if not compact:
                print(verdicts_text(doc, table), end="")
            if spec.probe:
                print(probe_text(store, runner.run_id))
            if axis is not None:
                from emergetui.report.compare import comparison_text

                print("\n" + comparison_text(axis[0], plots=plots, notes=axis[1]), end="")
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


def _print_plots(store: Store, run_id: str, seed: int, *, compact: bool) -> None:
    try:
        from emergetui.report.ladder_table import WORTH_SEEING
        from emergetui.report.termplot import run_plots
    except ImportError:
        return
    only, cap, rows = (
        (WORTH_SEEING, COMPACT_MAX_PLOTS, COMPACT_PLOT_HEIGHT) if compact else (None, None, 18)
    )
    for text in run_plots(store, run_id, seed=seed, only=only, max_plots=cap, height=rows):
        print(text)
