"""The work on one rung: pending items → engine requests → stored records and events."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from emergetui.run.events import (
    Event,
    HeldoutLoss,
    ItemFailed,
    ItemsDone,
    ModelLoaded,
    RungFinished,
    RungStarted,
    TaskFinished,
    TaskStarted,
)
from emergetui.store.rows import StoredRung
from emergetui.tasks.base import Item, ItemSet
from emergetui.tasks.metrics import fill_response
from emergetui.tasks.records import ItemRaw, ItemRecord

if TYPE_CHECKING:  # the runner's process imports this module and must stay free of llama.cpp
    from emergetui.engine import Engine, Generated, Scored

Key = tuple[str, str]  # (task, setting)


class RungStore(Protocol):
    """What a rung's work needs of the store: the :class:`~emergetui.store.results.Store` itself
    when it runs in the runner's process, a link to the runner (the only writer) in a worker
    process."""

    def completed(
        self, run_id: str, rung: str, model_sha256: str
    ) -> dict[tuple[str, str, str], str]: ...

    def rungs(self, run_id: str) -> list[StoredRung]: ...

    def update_rung(self, run_id: str, label: str, **fields: Any) -> None: ...

    def put_records(self, records: list[ItemRecord]) -> int: ...

    def item_metrics(
        self, run_id: str, rung: str, task: str, setting: str
    ) -> list[dict[str, float]]: ...


@dataclass
class _Pending:
    """An item being worked on: how many engine results it still waits for."""

    key: Key
    item: Item
    raw: ItemRaw
    waiting: int
    errors: list[str] = field(default_factory=list)


@dataclass
class RungWork:
    run_id: str
    rung: str
    index: int
    n_rungs: int
    params: int
    path: Path
    sha256: str
    item_sets: list[ItemSet]
    heldout_text: str | None
    store: RungStore
    emit: Callable[[Event], None]
    check: Callable[[], None]
    commit_every_s: float = 1.0
    fit_s: float = 0.0  # the fitting before the rung's work, timed by the caller
    # seconds by phase, sent with RungFinished (see its docstring)
    phases: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    # progress of one pass over the pending items, reset by _items()
    _buffer: list[_Pending] = field(default_factory=list, init=False, repr=False)
    _last_flush: float = field(default=0.0, init=False, repr=False)
    _t_start: float = field(default=0.0, init=False, repr=False)
    _tokens: int = field(default=0, init=False, repr=False)
    _remaining: dict[Key, int] = field(default_factory=dict, init=False, repr=False)
    _progress: dict[Key, int] = field(default_factory=dict, init=False, repr=False)
    _sizes: dict[Key, int] = field(default_factory=dict, init=False, repr=False)
    _flush_s: float = field(default=0.0, init=False, repr=False)

    def _add(self, phase: str, since: float) -> float:
        """Count the time from ``since`` to now towards ``phase``; returns now."""
        now = time.monotonic()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now

    def _finished(self, t0: float) -> None:
        phases = {"fit": self.fit_s, **self.phases}
        self.emit(RungFinished(self.rung, time.monotonic() - t0, phases=phases))

    def has_work(self) -> bool:
        """Whether anything is left to compute (items not stored for this model file, or the
        held-out loss): a rung without any needs neither a model nor a worker process."""
        return any(self._todo().values()) or self._need_heldout()

    def _need_heldout(self) -> bool:
        return bool(self.heldout_text) and not any(
            r.label == self.rung and r.heldout for r in self.store.rungs(self.run_id)
        )

    def run(self, load: Callable[[], Engine]) -> None:
        t0 = time.monotonic()
        self.phases = {}
        self.emit(RungStarted(self.rung, self.index, self.n_rungs, self.params))
        pending = self._pending()
        need_heldout = self._need_heldout()
        t_load = self._add("plan", t0)
        if not pending and not need_heldout:
            for s in self.item_sets:
                self._finish_task((s.task, s.setting))
            self._add("store", t_load)
            self._finished(t0)
            return
        engine = load()
        try:
            info = engine.info
            self.emit(
                ModelLoaded(
                    self.rung,
                    engine.n_gpu_layers,
                    self._add("load", t_load) - t_load,
                    info.n_params,
                    info.size_bytes,
                )
            )
            self.store.update_rung(
                self.run_id, self.rung, n_gpu_layers=engine.n_gpu_layers, status="running"
            )
            self._items(engine, pending)
            if need_heldout:
                self.check()
                assert self.heldout_text is not None
                t_loss = time.monotonic()
                rl = engine.rolling_loss(self.heldout_text, on_window=lambda _i, _s: self.check())
                self._add("heldout", t_loss)
                held = {
                    "loss": rl.mean_nll,
                    "ppl": rl.perplexity,
                    "bpb": rl.bits_per_byte,
                    "tokens": rl.n_tokens,
                    "bytes": rl.n_bytes,
                }
                self.store.update_rung(self.run_id, self.rung, heldout=held)
                self.emit(
                    HeldoutLoss(
                        self.rung, rl.mean_nll, rl.perplexity, rl.bits_per_byte, rl.n_tokens
                    )
                )
        finally:
            engine.close()
        self._finished(t0)

    # -- planning ----------------------------------------------------------------------
    def _todo(self) -> dict[Key, list[Item]]:
        """Items of each task setting not yet stored for this model file (or changed since)."""
        done = self.store.completed(self.run_id, self.rung, self.sha256)
        return {
            (s.task, s.setting): [
                it
                for it in s.items
                if done.get((s.task, s.setting, it.item_id)) != it.content_hash()
            ]
            for s in self.item_sets
        }

    def _pending(self) -> dict[Key, list[Item]]:
        todo = self._todo()
        for s in self.item_sets:
            n_todo = len(todo[(s.task, s.setting)])
            self.emit(
                TaskStarted(self.rung, s.task, s.setting, len(s.items), len(s.items) - n_todo)
            )
        return {key: items for key, items in todo.items() if items}

    # -- execution ---------------------------------------------------------------------
    def _items(self, engine: Engine, pending: dict[Key, list[Item]]) -> None:
        self._buffer = []
        self._last_flush = time.monotonic()
        self._t_start = time.monotonic()
        self._tokens = 0
        self._remaining = {k: len(v) for k, v in pending.items()}
        self._progress = {k: 0 for k in pending}
        self._sizes = {(s.task, s.setting): len(s.items) for s in self.item_sets}
        for s in self.item_sets:
            key = (s.task, s.setting)
            self._progress[key] = self._sizes[key] - len(pending.get(key, []))
            if key not in pending:
                self._finish_task(key)
        work: list[_Pending] = []
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[_Pending, str, int]] = []
        gens: dict[tuple[int, tuple[str, ...]], list[_Pending]] = defaultdict(list)
        for key, items in pending.items():
            for it in items:
                p = _Pending(key, it, _empty_raw(it), 0)
                work.append(p)
                for j, c in enumerate(it.choices):
                    pairs.append((it.prompt, c))
                    owners.append((p, "choice", j))
                for j, t in enumerate(it.targets):
                    pairs.append((it.prompt, t))
                    owners.append((p, "target", j))
                p.waiting = len(it.choices) + len(it.targets) + (1 if it.generate else 0)
                if it.generate:
                    gens[(it.max_tokens, tuple(it.stop))].append(p)
        for p in work:
            if p.waiting == 0:
                self._complete(p)

        def on_score(i: int, s: Scored) -> None:
            p, kind, j = owners[i]
            _put_score(p, kind, j, s)
            self._tokens += s.context_tokens + s.n_tokens
            self._one_done(p)

        self._flush_s = 0.0
        t_score = time.monotonic()
        engine.score(pairs, on_result=on_score)
        self._add("score", t_score + self._flush_s)  # storing while scoring counts as storing

        def tokenize(text: str) -> list[int]:
            return engine.tokenize(text, add_bos=False)

        self._flush_s = 0.0
        t_gen = time.monotonic()
        for (max_tokens, stop), group in gens.items():
            self.check()

            def on_gen(i: int, g: Generated, group: list[_Pending] = group) -> None:
                p = group[i]
                p.raw.generated_text = g.text
                p.raw.generated_tokens = list(g.tokens)
                p.raw.generated_logprobs = list(g.logprobs)
                p.raw.stop_reason = g.stop_reason
                if g.error:
                    p.errors.append(f"generation: {g.error}")
                else:  # the post-processed answer and its tokens (token_edit_distance)
                    fill_response(p.item, p.raw, tokenize)
                self._tokens += g.prompt_tokens + len(g.tokens)
                self._one_done(p)

            engine.generate(
                [p.item.prompt for p in group], max_tokens=max_tokens, stop=stop, on_result=on_gen
            )
        if gens:
            self._add("generate", t_gen + self._flush_s)
        self._flush()

    def _one_done(self, p: _Pending) -> None:
        p.waiting -= 1
        if p.waiting == 0:
            self._complete(p)
        if time.monotonic() - self._last_flush >= self.commit_every_s:
            self._flush()
            self.check()

    def _complete(self, p: _Pending) -> None:
        self._buffer.append(p)

    def _flush(self) -> None:
        if not self._buffer:
            return
        t_flush = time.monotonic()
        try:
            self._flush_now()
        finally:
            self._flush_s += time.monotonic() - t_flush
            self._add("store", t_flush)

    def _flush_now(self) -> None:
        from emergetui.tasks.metrics import item_metrics

        batch, self._buffer = self._buffer, []
        records: list[ItemRecord] = []
        for p in batch:
            task, setting = p.key
            error = "; ".join(p.errors) or None
            metrics = {} if error else item_metrics(p.item, p.raw)
            records.append(
                ItemRecord(
                    run_id=self.run_id,
                    rung=self.rung,
                    task=task,
                    setting=setting,
                    item_id=p.item.item_id,
                    item_hash=p.item.content_hash(),
                    model_sha256=self.sha256,
                    prompt=p.item.prompt,
                    choices=list(p.item.choices),
                    target_scores=list(p.item.target_scores),
                    targets=list(p.item.targets),
                    raw=p.raw,
                    metrics=metrics,
                    error=error,
                    shots=p.item.shots,
                )
            )
        self.store.put_records(records)
        self._last_flush = time.monotonic()
        elapsed = max(1e-9, time.monotonic() - self._t_start)
        by_key: dict[Key, list[ItemRecord]] = defaultdict(list)
        for r in records:
            by_key[(r.task, r.setting)].append(r)
        for key, recs in by_key.items():
            self._progress[key] += len(recs)
            self._remaining[key] -= len(recs)
            values: dict[str, list[float]] = defaultdict(list)
            for r in recs:
                if r.error:
                    self.emit(ItemFailed(self.rung, key[0], key[1], r.item_id, r.error))
                for m, v in r.metrics.items():
                    values[m].append(v)
            done = sum(self._progress.values())
            self.emit(
                ItemsDone(
                    rung=self.rung,
                    task=key[0],
                    setting=key[1],
                    n_done=self._progress[key],
                    n_total=self._sizes[key],
                    values={m: tuple(v) for m, v in values.items()},
                    items_per_s=done / elapsed,
                    tokens_per_s=self._tokens / elapsed,
                    n_errors=sum(1 for r in recs if r.error),
                )
            )
            if self._remaining[key] == 0:
                self._finish_task(key)

    def _finish_task(self, key: Key) -> None:
        """The task's means over every stored item (those of earlier runs too): the metrics
        column only, not the records (from a worker they would all cross the pipe)."""
        stored = self.store.item_metrics(self.run_id, self.rung, key[0], key[1])
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for metrics in stored:
            for m, v in metrics.items():
                sums[m] += v
                counts[m] += 1
        self.emit(
            TaskFinished(
                self.rung, key[0], key[1], {m: sums[m] / counts[m] for m in sums}, len(stored)
            )
        )


def _empty_raw(it: Item) -> ItemRaw:
    n, t = len(it.choices), len(it.targets)
    return ItemRaw(
        choice_tokens=[[] for _ in range(n)],
        choice_logprobs=[[] for _ in range(n)],
        choice_greedy=[[] for _ in range(n)],
        target_tokens=[[] for _ in range(t)],
        target_logprobs=[[] for _ in range(t)],
        target_greedy=[[] for _ in range(t)],
    )


def _put_score(p: _Pending, kind: str, j: int, s: Scored) -> None:
    if s.error:
        p.errors.append(f"{kind} {j}: {s.error}")
    if kind == "choice":
        p.raw.choice_tokens[j], p.raw.choice_logprobs[j], p.raw.choice_greedy[j] = (
            s.tokens,
            s.logprobs,
            s.greedy,
        )
    else:
        p.raw.target_tokens[j], p.raw.target_logprobs[j], p.raw.target_greedy[j] = (
            s.tokens,
            s.logprobs,
            s.greedy,
        )
