"""One run identity: the runner, the store and the merge name a run with the same id."""

from __future__ import annotations

import hashlib
import json

import pytest

from emergetui.report.rundoc import RUN_DOCUMENT_VERSION, DocumentError, RunDocument
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.identity import RunIdentity

#: A stored ``config`` as emergetui 164d968 wrote it (task_specs relative, so the id does not
#: depend on where the checkout is) and the run id that version printed for it.
EARLIER_CONFIG = {
    "ladder": "toy",
    "rungs": ["toy-1", "toy-2"],
    "tasks": [["toy_addition", "shots=0"], ["toy_cipher", "shots=1"]],
    "seed": 3,
    "heldout": "heldout.txt",
    "limit": 5,
    "shots": None,
    "task_specs": ["task_addition.json", "toy_cipher.toml"],
}


def _earlier_run_id(config: dict) -> str:
    """emergetui 164d968's RunConfig.run_id: sha256 of the sorted JSON, 12 hex digits."""
    blob = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def test_run_ids_are_those_of_earlier_versions() -> None:
    """Ids printed by emergetui 164d968 for the same configs: stored runs still resume."""
    assert RunIdentity.from_dict(EARLIER_CONFIG).run_id == _earlier_run_id(EARLIER_CONFIG)
    assert RunIdentity.from_dict(EARLIER_CONFIG).run_id == "04e5579e034b"
    for spec in (ExperimentSpec(), ExperimentSpec(seed=3, limit=5)):
        ident = build_experiment(spec).config.identity()
        assert ident.run_id == _earlier_run_id(ident.to_dict())


def test_the_stored_layout_round_trips_to_the_same_id() -> None:
    ident = build_experiment(ExperimentSpec(seed=2)).config.identity()
    stored = json.loads(json.dumps(ident.to_dict()))  # as the runs table keeps it
    again = RunIdentity.from_dict(stored)
    assert again == ident and again.run_id == ident.run_id
    blob = json.dumps(stored, sort_keys=True, default=str)
    assert ident.run_id == hashlib.sha256(blob.encode()).hexdigest()[:12]


def test_partial_runs_share_the_experiment_and_the_whole_ladder_gets_its_id() -> None:
    whole = build_experiment(ExperimentSpec()).config.identity()
    part = build_experiment(ExperimentSpec(rungs=whole.rungs[:2])).config.identity()
    assert part.run_id != whole.run_id
    assert part.experiment_key() == whole.experiment_key()
    assert part.with_rungs(whole.rungs).run_id == whole.run_id
    other = build_experiment(ExperimentSpec(seed=1)).config.identity()
    assert other.experiment_key() != whole.experiment_key()


def test_a_run_document_carries_its_version_and_refuses_another() -> None:
    doc = RunDocument(run_id="r", ladder="l", rungs=[], results=[{"value": float("nan")}])
    d = doc.to_dict()
    assert d["version"] == RUN_DOCUMENT_VERSION and d["results"] == [{"value": None}]
    assert "emergence" not in d  # not analysed: the analysed sections are left out
    assert RunDocument.from_dict(d).to_dict() == d
    with pytest.raises(DocumentError, match="run document version 2 is not one"):
        RunDocument.from_dict({**d, "version": 2})
    with pytest.raises(DocumentError, match="field 'rungs' is missing"):
        RunDocument.from_dict({"run_id": "r", "ladder": "l", "results": []})
