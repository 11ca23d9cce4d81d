"""A stored run read back once: :func:`load_run` is the one reader every consumer shares.

Reports, the run document, the BIG-bench section, the lab's results screen, the
JSONL export and the probe comparison all need the same things of a run: its
identity, its rungs, its task settings (metrics, chance levels, headline
metric) and its item rows. Reading them in each place gave six readers with six
small variations (one dropped failed rungs, one did not); :class:`StoredRun`
holds them once, and the derived views (chance levels, headline metrics) are
computed here so every consumer sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emergetui.store.identity import RunIdentity
from emergetui.store.results import Store
from emergetui.store.rows import StoredRung, StoredTaskSet
from emergetui.tasks.records import ItemRecord


@dataclass(frozen=True)
class StoredRun:
    """Everything stored for one run (probe rows aside: ``load_probe_results`` reads those)."""

    run_id: str
    ladder: str
    status: str
    config: dict[str, Any]
    rungs: list[StoredRung]
    """In ladder order, failed ones included (:attr:`analysed_rungs` leaves them out)."""
    tasksets: list[StoredTaskSet]
    records: list[ItemRecord] = field(repr=False)
    store_path: Path | None = None

    @property
    def identity(self) -> RunIdentity:
        return RunIdentity.from_dict(self.config)

    @property
    def analysed_rungs(self) -> list[StoredRung]:
        """The rungs an analysis draws: a failed rung has no rows worth a point."""
        return [g for g in self.rungs if g.status != "failed"]

    @property
    def rung_order(self) -> list[str]:
        return [g.label for g in self.rungs]

    @property
    def chance(self) -> dict[tuple[str, str, str], float]:
        """(task, setting, metric) → the chance level the runner stored."""
        return {(t.task, t.setting, m): c for t in self.tasksets for m, c in t.chance.items()}

    @property
    def listed(self) -> dict[tuple[str, str], list[str]]:
        """(task, setting) → the metrics the task declares (corpus ones are computed from
        the outputs)."""
        return {(t.task, t.setting): list(t.metrics) for t in self.tasksets}

    @property
    def preferred(self) -> dict[tuple[str, str], str]:
        """(task, setting) → its headline metric (BIG-bench's preferred_score; ``""`` if none)."""
        return {(t.task, t.setting): t.preferred for t in self.tasksets}

    @property
    def not_computed(self) -> list[str]:
        return sorted({m for t in self.tasksets for m in t.not_computed})

    @property
    def n_errors(self) -> int:
        return sum(1 for r in self.records if r.error)


def load_run(store: Store, run_id: str) -> StoredRun:
    """Read run ``run_id`` (a full id: resolve references with :meth:`Store.resolve_run`)."""
    config = store.run_config(run_id)  # StoreError naming the file when there is no such run
    return StoredRun(
        run_id=run_id,
        ladder=str(config.get("ladder", "?")),
        status=store.run_status(run_id),
        config=config,
        rungs=store.rungs(run_id),
        tasksets=store.tasksets(run_id),
        records=store.records(run_id),
        store_path=store.path,
    )
