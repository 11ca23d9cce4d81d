"""Fixtures of the lab's tests: a ladder of the two tiny test models, a corpus, the lab's
choices."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from emergetui.run.spec import ExperimentSpec


@dataclass
class LabChoices:
    """What the command line hands the lab: an experiment spec and the results store."""

    spec: ExperimentSpec
    store: Path

    def with_spec(self, **changes: object) -> LabChoices:
        return replace(self, spec=self.spec.replace(**changes))


@pytest.fixture(scope="session")
def tiny_ladder(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_model_b: Path
) -> Path:
    path = tmp_path_factory.mktemp("ladder") / "tiny.toml"
    path.write_text(
        "[ladders.tiny]\n"
        'description = "two tiny random models"\n'
        "[[ladders.tiny.rungs]]\n"
        'label = "a"\nparams = 20000\n'
        f'path = "{tiny_model}"\n'
        "[[ladders.tiny.rungs]]\n"
        'label = "b"\nparams = 60000\n'
        f'path = "{tiny_model_b}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "heldout.txt"
    path.write_text("The cat sat on the mat. One plus two is three. " * 12, encoding="utf-8")
    return path


@pytest.fixture
def lab_args(tmp_path: Path, tiny_ladder: Path, corpus: Path) -> LabChoices:
    """What `emergetui --ladder tiny.toml --task arith-1digit-add --shots 0,1 --limit 4` passes."""
    spec = ExperimentSpec(
        ladder=str(tiny_ladder), tasks=("arith-1digit-add",), shots=(0, 1), limit=4, corpus=corpus
    )
    return LabChoices(spec, tmp_path / "results.sqlite")
