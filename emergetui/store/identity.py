"""What makes two runs the same experiment, and the run id that names it.

A run id is the first 12 hex digits of the sha256 of the identity as sorted-key
JSON: the same ladder, rungs, task settings, seed, held-out text and spec
choices give the same id, which is what lets a rerun resume a run and a merge of
partial runs (each machine ran some rungs) name the run the whole ladder would
have made. The runner, the store and the merge all compute it here.

The identity is stored as the run's ``config`` JSON; :meth:`RunIdentity.to_dict`
is exactly that layout, so ids of stores written by earlier versions do not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from emergetui.hashing import json_digest

RUN_ID_LENGTH = 12

_CORE = ("ladder", "rungs", "tasks", "seed", "heldout")


@dataclass(frozen=True)
class RunIdentity:
    ladder: str
    rungs: tuple[str, ...]
    """Rung labels, in ladder order."""
    tasks: tuple[tuple[str, str], ...] = ()
    """(task, setting) pairs, sorted."""
    seed: int = 0
    heldout: str = ""
    """The held-out text's name ("" when none)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The spec's other choices (limit, shots, task_specs, suites): part of the identity."""

    def to_dict(self) -> dict[str, Any]:
        """The stored ``config`` layout (and what the run id hashes)."""
        return {
            "ladder": self.ladder,
            "rungs": list(self.rungs),
            "tasks": [list(t) for t in self.tasks],
            "seed": self.seed,
            "heldout": self.heldout,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RunIdentity:
        """From a stored run's ``config`` (``ladder`` as the runs table names it)."""
        return cls(
            ladder=str(stored.get("ladder", "")),
            rungs=tuple(str(r) for r in stored.get("rungs") or ()),
            tasks=tuple((str(t[0]), str(t[1])) for t in stored.get("tasks") or ()),
            seed=int(stored.get("seed", 0)),
            heldout=str(stored.get("heldout") or ""),
            extra={k: v for k, v in stored.items() if k not in _CORE},
        )

    @property
    def run_id(self) -> str:
        return json_digest(self.to_dict(), RUN_ID_LENGTH)

    def experiment_key(self) -> dict[str, Any]:
        """The identity without its rungs: what partial runs of one experiment share.

        ``task_specs`` (how tasks were named on the command line, often paths that differ
        between machines) is left out too; a merge compares task names, settings and item
        hashes instead.
        """
        return {k: v for k, v in self.to_dict().items() if k not in ("rungs", "task_specs")}

    def with_rungs(self, labels: Iterable[str]) -> RunIdentity:
        return replace(self, rungs=tuple(labels))
