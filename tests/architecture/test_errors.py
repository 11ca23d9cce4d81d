"""One error family: every failure a user can see is an EmergetuiError, caught once per front
end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.cli import main
from emergetui.engine.errors import EngineError, ModelLoadError, RequestError
from emergetui.errors import CliError, EmergetuiError, SpecError, StoreError
from emergetui.models.gguf_info import GGUFInfoError
from emergetui.models.hub import HubError
from emergetui.models.ladders import LadderError
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.tasks.base import TaskError


@pytest.mark.parametrize(
    "cls",
    [
        CliError,
        SpecError,
        EngineError,
        ModelLoadError,
        RequestError,
        GGUFInfoError,
        HubError,
        LadderError,
        StoreError,
        TaskError,
    ],
)
def test_every_user_facing_error_is_an_emergetui_error(cls: type[Exception]) -> None:
    assert issubclass(cls, EmergetuiError)


def test_the_core_raises_domain_errors_not_cli_errors() -> None:
    with pytest.raises(LadderError):
        build_experiment(ExperimentSpec(ladder="no-such-ladder"))
    with pytest.raises(SpecError, match="has no rung"):
        build_experiment(ExperimentSpec(rungs=("toy-99",)))
    with pytest.raises(SpecError, match="limit"):
        ExperimentSpec(limit=0)


def test_the_cli_maps_each_domain_error_to_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s.sqlite")
    cases = [
        ["--batch", "--ladder", "no-such-ladder", "--store", store],
        ["--batch", "--rungs", "toy-99", "--store", store],
        ["--batch", "--shots", "a,b", "--store", store],
        ["--batch", "--task", str(tmp_path / "missing.json"), "--store", store],
        ["report", "nope", "--store", str(tmp_path / "absent.sqlite")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("emergetui: ") and err.count("\n") == 1 and "Traceback" not in err
