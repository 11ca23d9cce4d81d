"""Fixtures of the worker-process tests: a three-rung tiny ladder, a task big enough to
interrupt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emergetui.run import events as ev
from emergetui.run.runner import RunConfig, Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.results import Store
from tests.reliability.support import count_by_rung, item_rows, write_ladder
from tests.run.support import write_big_task

Rows = dict[Any, dict[str, Any]]

N_MC, N_GEN = 600, 40
TOTAL = N_MC + N_GEN


@pytest.fixture(scope="module")
def big_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough distinct items that the middle rung is still scoring when the signal lands."""
    return write_big_task(tmp_path_factory.mktemp("bigtask"), N_MC, N_GEN)


@pytest.fixture(scope="module")
def ladder3(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_model_b: Path) -> Path:
    return write_ladder(
        tmp_path_factory.mktemp("ladder3") / "ladder.toml",
        [("small", 20000, tiny_model), ("mid", 60000, tiny_model_b), ("large", 90000, tiny_model)],
    )


def config_of(ladder: Path, task: Path) -> RunConfig:
    spec = ExperimentSpec(ladder=str(ladder), tasks=(str(task),), heldout=False)
    return build_experiment(spec).config


@pytest.fixture(scope="module")
def clean_rows(tmp_path_factory: pytest.TempPathFactory, ladder3: Path, big_task: Path) -> Rows:
    """An uninterrupted run of the same experiment: what every faulty run is judged by."""
    cfg = config_of(ladder3, big_task)
    path = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    with Store(path) as store:
        events = list(Runner(cfg, store).events())
    assert not [e for e in events if isinstance(e, ev.RungFailed)]
    rows = item_rows(path)
    assert count_by_rung(rows) == {"small": TOTAL, "mid": TOTAL, "large": TOTAL}
    return rows  # type: ignore[return-value]
