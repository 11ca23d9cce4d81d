"""Runner + store: events, one row per item, resume after an interruption, failures recorded."""

from __future__ import annotations

from pathlib import Path

from emergetui.run import events as ev
from emergetui.run.runner import RunConfig, Rung, Runner
from emergetui.store.results import Store

from .conftest import mc_and_gen_sets


def _config(tiny_model: Path, tiny_model_b: Path, **kw) -> RunConfig:
    rungs = [Rung("small", 20000, tiny_model), Rung("large", 90000, tiny_model_b)]
    return RunConfig(ladder="tiny", rungs=rungs, item_sets=mc_and_gen_sets(), n_gpu_layers=0, **kw)


def test_full_run_stores_every_item_once(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    store = Store(tmp_path / "s.sqlite")
    cfg = _config(
        tiny_model, tiny_model_b, heldout_text="the quick brown fox. " * 20, heldout_name="fox"
    )
    events = list(Runner(cfg, store).events())
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert kinds.count("ModelLoaded") == 2 and kinds.count("RungFinished") == 2
    assert kinds.count("HeldoutLoss") == 2
    finished = [e for e in events if isinstance(e, ev.TaskFinished)]
    assert {(e.rung, e.task) for e in finished} == {
        (r, t) for r in ("small", "large") for t in ("mc", "gen")
    }
    recs = store.records(cfg.run_id())
    assert len(recs) == 2 * 24
    assert len({(r.rung, r.task, r.item_id) for r in recs}) == len(recs)
    mc = next(r for r in recs if r.task == "mc")
    assert len(mc.raw.choice_logprobs) == 3 and all(mc.raw.choice_logprobs)
    assert mc.metrics["multiple_choice_grade"] in (0.0, 1.0)
    gen = next(r for r in recs if r.task == "gen")
    assert gen.raw.generated_text is not None and gen.raw.stop_reason in ("stop", "eos", "length")
    assert gen.raw.target_logprobs[0] and "exact_match" in gen.metrics
    rungs = store.rungs(cfg.run_id())
    assert [r.label for r in rungs] == ["small", "large"]
    assert all(
        r.sha256 and len(r.sha256) == 64 and r.heldout and r.heldout["loss"] > 0 for r in rungs
    )
    assert store.integrity_ok()
    # each rung says where its time went, measured in its worker
    for done in (e for e in events if isinstance(e, ev.RungFinished)):
        assert all(done.phases[k] > 0 for k in ("load", "score", "generate", "heldout", "store"))
        assert sum(done.phases.values()) <= done.elapsed_s + done.phases["fit"]

    # A rerun has nothing to compute: no worker, no model, the same means from the store.
    again = list(Runner(cfg, store).events())
    assert not any(isinstance(e, ev.WorkerStarted | ev.ModelLoaded) for e in again)
    assert [(e.rung, e.task, e.means, e.n) for e in again if isinstance(e, ev.TaskFinished)] == [
        (e.rung, e.task, e.means, e.n) for e in finished
    ]
    assert [e.rung for e in again if isinstance(e, ev.RungFinished)] == ["small", "large"]
    assert all(r.status == "done" for r in store.rungs(cfg.run_id()))
    means = {(e.rung, e.task): e.means for e in finished}
    for (rung, task), m in means.items():
        stored = store.item_metrics(cfg.run_id(), rung, task, "shots=0")
        assert len(stored) == 12
        assert m == {k: sum(s[k] for s in stored) / 12 for k in m}


def test_interrupted_run_resumes_with_one_row_per_item(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    store = Store(tmp_path / "s.sqlite")
    cfg = _config(tiny_model, tiny_model_b)
    runner = Runner(cfg, store, commit_every_s=0.0)
    stored_before_cancel = 0
    for e in runner.events():
        if isinstance(e, ev.ItemsDone):
            stored_before_cancel += 1
            runner.cancel()
        if isinstance(e, ev.RunFinished):
            assert e.cancelled
    k = len(store.records(cfg.run_id()))
    assert 0 < k < 48
    events = list(Runner(cfg, store).events())
    started = next(e for e in events if isinstance(e, ev.RunStarted))
    assert started.resumed_items == k
    skipped = sum(e.n_done for e in events if isinstance(e, ev.TaskStarted))
    assert skipped == k
    recs = store.records(cfg.run_id())
    assert len(recs) == 48
    assert len({(r.rung, r.task, r.item_id) for r in recs}) == 48
    # a third run does no model work at all
    third = list(Runner(cfg, store).events())
    assert not any(isinstance(e, ev.ModelLoaded) for e in third)
    assert len(store.records(cfg.run_id())) == 48


def test_bad_rung_is_recorded_and_others_run(tmp_path: Path, tiny_model: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    store = Store(tmp_path / "s.sqlite")
    cfg = RunConfig(
        ladder="x",
        rungs=[
            Rung("broken", 1, broken),
            Rung("missing", 2, tmp_path / "nope.gguf"),
            Rung("ok", 3, tiny_model),
        ],
        item_sets=mc_and_gen_sets(3),
        n_gpu_layers=0,
    )
    events = list(Runner(cfg, store).events())
    failed = {e.rung: e.error for e in events if isinstance(e, ev.RungFailed)}
    assert set(failed) == {"broken", "missing"}
    assert str(broken) in failed["broken"]
    assert "nope.gguf" in failed["missing"]
    assert events[-1].n_failed_rungs == 2
    assert {r.rung for r in store.records(cfg.run_id())} == {"ok"}
    status = {r.label: r.status for r in store.rungs(cfg.run_id())}
    assert status == {"broken": "failed", "missing": "failed", "ok": "done"}


def test_item_errors_are_stored_not_fatal(tmp_path: Path, tiny_model: Path) -> None:
    from emergetui.tasks.base import Item, ItemSet

    items = [
        Item(item_id="empty", prompt="Q:", choices=("", " a"), target_scores=(1.0, 0.0)),
        Item(item_id="long", prompt="x " * 3000, choices=(" a", " b"), target_scores=(1.0, 0.0)),
        Item(item_id="fine", prompt="Q:", choices=(" a", " b"), target_scores=(1.0, 0.0)),
    ]
    store = Store(tmp_path / "s.sqlite")
    cfg = RunConfig(
        ladder="x",
        rungs=[Rung("ok", 1, tiny_model)],
        item_sets=[ItemSet("t", "shots=0", items)],
        n_gpu_layers=0,
        n_ctx=1024,
    )
    events = list(Runner(cfg, store).events())
    failed = {e.item_id: e.error for e in events if isinstance(e, ev.ItemFailed)}
    assert set(failed) == {"empty", "long"}
    assert "empty continuation" in failed["empty"]
    assert "do not fit the context" in failed["long"]
    recs = {r.item_id: r for r in store.records(cfg.run_id())}
    assert recs["fine"].error is None and recs["fine"].metrics
    assert recs["long"].error and not recs["long"].metrics


def test_sha256_cache_and_model_change_invalidates(tmp_path: Path, tiny_model: Path) -> None:
    import shutil

    from emergetui.hashing import file_sha256

    m = tmp_path / "m.gguf"
    shutil.copy(tiny_model, m)
    store = Store(tmp_path / "s.sqlite")
    assert store.sha256_of(m) == file_sha256(tiny_model)
    cfg = RunConfig(
        ladder="x", rungs=[Rung("r", 1, m)], item_sets=mc_and_gen_sets(2), n_gpu_layers=0
    )
    list(Runner(cfg, store).events())
    first = {r.item_id: r.model_sha256 for r in store.records(cfg.run_id())}
    from tests.conftest import write_tiny

    write_tiny(m, seed=7)
    events = list(Runner(cfg, store).events())
    assert any(isinstance(e, ev.ModelLoaded) for e in events)  # recomputed, not skipped
    second = {r.item_id: r.model_sha256 for r in store.records(cfg.run_id())}
    assert first.keys() == second.keys()
    assert set(first.values()) != set(second.values())
