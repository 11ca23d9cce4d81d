"""The `--probe` phase of a run: per rung, per-layer states → logit lens and linear probes,
stored; its progress is events (``ProbeStarted``/``ProbeDone``/``ProbeFailed``), shown by
both front ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from emergetui.run.events import Event, ProbeDone, ProbeFailed, ProbeStarted
from emergetui.run.spec import Experiment, ExperimentSpec
from emergetui.store.results import Store
from emergetui.store.stored_run import StoredRun


def run_probe_pass(
    store: Store,
    run_id: str,
    exp: Experiment,
    spec: ExperimentSpec,
    emit: Callable[[Event], object],
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Probe every rung that scored successfully, one model in memory at a time.

    Runs after the behavioural scoring so a probe failure never costs the
    stored results; each rung's probe results are saved as soon as they exist.
    Progress goes to ``emit`` as events (the front ends show them); ``cancelled``
    is asked before each rung.
    """
    from emergetui.probe.store import save_probe_results
    from emergetui.run.faults import log_dir
    from emergetui.run.job import Call
    from emergetui.run.supervise import WorkerFailed, call_in_worker

    rungs = [g for g in store.rungs(run_id) if g.status == "done" and g.path]
    for index, rung in enumerate(rungs):
        if cancelled():
            return
        t0 = time.monotonic()
        emit(ProbeStarted(rung.label, index, len(rungs)))
        # in a worker process, like the rung's scoring: a llama.cpp crash costs this probe only
        call = Call(
            "emergetui.probe.run",
            "probe_rung",
            (rung.path, exp.config.item_sets),
            {
                "rung": rung.label,
                "n_gpu_layers": exp.config.n_gpu_layers,
                "seed": spec.seed,
                "max_items": spec.probe_items,
            },
            log_path=str(log_dir(store.path, run_id) / f"probe-{_safe(rung.label)}.log"),
            what=f"probing {rung.label}",
        )
        try:
            results = call_in_worker(call)
        except WorkerFailed as e:
            emit(ProbeFailed(rung.label, str(e)))
            continue
        save_probe_results(store, run_id, results)
        emit(ProbeDone(rung.label, len(results), time.monotonic() - t0))


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


def probe_document(store: Store, run_id: str) -> list[dict[str, Any]]:
    from emergetui.probe.store import load_probe_results

    out = []
    for r in load_probe_results(store, run_id):
        layer, best = r.best("probe_acc")
        out.append(
            {
                "rung": r.rung,
                "task": r.task,
                "setting": r.setting,
                "n": r.n,
                "curves": r.curves,
                "scalars": r.scalars,
                "best_probe_layer": layer,
                "best_probe_acc": best,
            }
        )
    return out


def probe_text(store: Store, run: StoredRun) -> str:
    from emergetui.probe.report import probe_report_markdown
    from emergetui.probe.store import behaviour_from_run, load_probe_results

    results = load_probe_results(store, run.run_id)
    if not results:
        return "no probe results"
    return probe_report_markdown(results, behaviour_from_run(run))
