"""Glue between a stored run and the analysis: one :class:`Analysis` per stored run.

The analysis itself never touches the database (it takes lists, so tests and
notebooks need none); a :class:`~emergetui.store.stored_run.StoredRun` (read by
``load_run``) holds the rows, the rungs and the chance levels the runner stored.
Commands analyse a run once with :func:`analyse_run` and hand that one
``Analysis`` to the run document, the plots and the report files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emergetui.analysis.analyze import Analysis, AnalysisConfig, analyze
from emergetui.analysis.data import RungInfo

if TYPE_CHECKING:
    from emergetui.store.stored_run import StoredRun


def rung_infos(run: StoredRun) -> list[RungInfo]:
    """The rungs an analysis draws (failed rungs left out: they have no rows worth a point)."""
    return [RungInfo(g.label, g.params, g.heldout) for g in run.analysed_rungs]


def analyse_run(run: StoredRun, *, seed: int = 0, config: AnalysisConfig | None = None) -> Analysis:
    """Analyse a stored run exactly as ``emergetui report`` does."""
    return analyze(
        run.records,
        rung_infos(run),
        seed=seed,
        chance=run.chance,
        config=config,
        corpus=run.listed,
    )
