"""One driver of a run (api.RunSession): the experiment's warnings and the probe phase are
events, for library callers as for the batch CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui import api
from emergetui.run import events as ev
from emergetui.run.spec import ExperimentSpec
from tests.conftest import FIXTURES

ADDITION = FIXTURES / "bigbench" / "arithmetic" / "1_digit_addition" / "task.json"


def test_api_run_gives_warnings_and_the_probe_phase_as_events(
    tmp_path: Path, ladder_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    spec = ExperimentSpec(
        ladder=str(ladder_file),
        tasks=(str(ADDITION), str(missing)),
        shots=(0,),
        limit=6,
        heldout=False,
        probe=True,
        probe_items=6,
    )
    seen: list[ev.Event] = []
    doc = api.run(spec, tmp_path / "s.sqlite", seen.append)

    # the task that did not load is a warning event, before the run starts
    first = seen[0]
    assert isinstance(first, ev.LogMessage) and first.level == "warning"
    assert "missing.json" in first.message
    kinds = [type(e) for e in seen]
    assert kinds.index(ev.RunStarted) > 0
    # the probe phase follows the scoring, one start and one result per rung, in ladder order
    finished = kinds.index(ev.RunFinished)
    probes = seen[finished + 1 :]
    assert [type(e) for e in probes] == [ev.ProbeStarted, ev.ProbeDone] * 2
    assert [(e.rung, e.index, e.n_rungs) for e in probes if isinstance(e, ev.ProbeStarted)] == [
        ("small", 0, 2),
        ("large", 1, 2),
    ]
    assert all(e.n_settings == 1 for e in probes if isinstance(e, ev.ProbeDone))
    assert doc.probes and {p["rung"] for p in doc.probes} == {"small", "large"}
    # the core printed nothing: the front ends decide how events look
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_cancelled_session_skips_the_probe_phase(tmp_path: Path, ladder_file: Path) -> None:
    spec = ExperimentSpec(
        ladder=str(ladder_file), tasks=(str(ADDITION),), shots=(0,), limit=2, probe=True
    )
    seen: list[ev.Event] = []
    session = api.RunSession(spec, tmp_path / "s.sqlite", seen.append)
    session.cancel()  # before it starts: the runner is told at once
    outcome = session.drive(analyse=False)
    assert outcome.cancelled and outcome.document is None
    assert not any(isinstance(e, (ev.ProbeStarted, ev.ProbeDone)) for e in seen)
