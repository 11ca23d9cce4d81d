"""`emergetui --batch --ladder a --ladder b [--quants Q4_K_M,Q8_0] [--x flops]`: several series.

Each ladder (and each quant of it: ``NAME@QUANT``) runs as its own stored run
with the same tasks, seed and limits, so each is one series with its own
verdicts, and two files of one size are never rungs of one curve. The runs are
then compared exactly as ``emergetui compare`` compares stored runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from emergetui.cli.compare import AXIS_CHOICES
from emergetui.errors import CliError

if TYPE_CHECKING:
    from emergetui.run.spec import ExperimentSpec


def add_series_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quants",
        default=None,
        metavar="Q,Q",
        help="run every rung at each of these quants (e.g. Q4_K_M,Q8_0): one series per quant",
    )
    p.add_argument(
        "--x",
        choices=AXIS_CHOICES,
        default="params",
        help="x axis of the comparison: params (default), flops (6*N*D), loss (bits/byte)",
    )


def series_ladders(args: argparse.Namespace) -> list[str]:
    """The ladder names to run: each ``--ladder`` at each of ``--quants`` (``NAME@QUANT``)."""
    ladders = list(args.ladder or ["toy"])
    quants = [q.strip() for q in (args.quants or "").split(",") if q.strip()]
    if args.quants is not None and not quants:
        raise CliError("--quants: expected comma-separated quant names, e.g. Q4_K_M,Q8_0")
    names = [f"{lad}@{q}" for lad in ladders for q in quants] if quants else ladders
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CliError(f"--ladder: {', '.join(dupes)} given twice")
    return names


def run_series_batch(
    spec: ExperimentSpec,
    ladders: list[str],
    store_path: Path | None,
    *,
    json_mode: bool = False,
    plots: bool = True,
    x: str = "params",
) -> int:
    """Run one stored run per ladder, then print their comparison; status 1 if a run failed."""
    from emergetui.analysis.compare import compare
    from emergetui.api import RunSession
    from emergetui.cli.compare import emit, non_embedding_counts
    from emergetui.cli.interrupt import cancel_on_ctrl_c
    from emergetui.cli.progress import make_display
    from emergetui.report.compare import series_from_store
    from emergetui.run.spec import build_experiment
    from emergetui.store.results import Store

    status = 0
    exps = [build_experiment(spec.replace(ladder=name)) for name in ladders]
    shared = set.intersection(*({(t.task, t.setting) for t in e.config.item_sets} for e in exps))
    if not shared:
        tasks = "; ".join(
            f"{e.ladder.name}: {', '.join(sorted({t.task for t in e.config.item_sets}))}"
            for e in exps
        )
        raise CliError(f"the ladders share no task ({tasks}); name the tasks with --task")
    with Store(store_path) as store:
        done = []
        for name, exp in zip(ladders, exps):
            display = make_display(json_mode=json_mode)
            # the one driver (api.RunSession): warnings and probes come as events
            session = RunSession(spec.replace(ladder=name), store, display.handle)
            try:
                with cancel_on_ctrl_c(session):
                    outcome = session.drive(analyse=False)
            finally:
                display.close()
            finished = outcome.finished
            if finished is None or finished.cancelled:
                return 130 if finished is not None else 1
            if finished.n_failed_rungs and finished.n_failed_rungs == len(exp.config.rungs):
                status = 1
            done.append((outcome.run_id, exp.ladder))
        series, notes = [], []
        for run_id, ladder in done:
            s, n = series_from_store(
                store,
                run_id,
                seed=spec.seed,
                ladder=ladder,
                non_embedding=non_embedding_counts(store, run_id),
            )
            series.append(s)
            notes += n
        cmp = compare(series, x, seed=spec.seed)
        emit(cmp, notes, json_mode=json_mode, plots=plots, out=None)
        if not json_mode:
            ids = " ".join(r for r, _ in done)
            print(f"\n{len(done)} runs stored in {store.path}: {ids}")
            print(f"  other axes: emergetui compare {ids} --x flops|loss")
    return status


__all__ = ["add_series_arguments", "run_series_batch", "series_ladders"]
