"""Glue between the results store and the analysis, for the CLI's report commands.

The analysis itself never touches the database (it takes lists, so tests
and notebooks need none); this module is the one place that reads a run
back: its rows, its rungs (failed rungs left out: they have no rows worth
plotting) and the chance level the runner stored per task, setting and
metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emergetui.analysis.analyze import Analysis, AnalysisConfig, analyze
from emergetui.analysis.data import RungInfo

if TYPE_CHECKING:
    from emergetui.store.results import Store


def analysis_from_store(
    store: Store, run_id: str, *, seed: int = 0, config: AnalysisConfig | None = None
) -> Analysis:
    """Analyse a stored run exactly as ``emergetui report`` does."""
    rungs = [
        RungInfo(g.label, g.params, g.heldout) for g in store.rungs(run_id) if g.status != "failed"
    ]
    chance = {
        (t.task, t.setting, metric): level
        for t in store.tasksets(run_id)
        for metric, level in t.chance.items()
    }
    listed = {(t.task, t.setting): list(t.metrics) for t in store.tasksets(run_id)}
    return analyze(
        store.records(run_id), rungs, seed=seed, chance=chance, config=config, corpus=listed
    )


def preferred_metrics(store: Store, run_id: str) -> dict[tuple[str, str], str]:
    """The metric each task set asked to be shown first (``""`` when none)."""
    return {(t.task, t.setting): t.preferred for t in store.tasksets(run_id)}
