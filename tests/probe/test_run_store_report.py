"""End to end on a tiny model: items → ProbeResult → SQLite → Markdown and heat maps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine.reference import logits_all
from emergetui.probe import (
    ProbeResult,
    heatmap_text,
    load_probe_results,
    onset,
    probe_report_markdown,
    probe_rung,
    save_probe_results,
)
from emergetui.probe.run import prepare_item, select_items
from emergetui.probe.store import behaviour_from_run
from emergetui.store.results import Store
from emergetui.store.rows import StoredTaskSet
from emergetui.store.stored_run import load_run
from emergetui.tasks.base import Item, ItemSet
from emergetui.tasks.records import ItemRaw, ItemRecord


def _gen_set(n: int = 24) -> ItemSet:
    items = [
        Item(f"g{i}", f"Q: {i} plus {i % 5}?\nA: ", targets=(str(i + i % 5),), generate=True)
        for i in range(n)
    ]
    return ItemSet("toy-add", "shots=0", items)


def _mc_set(n: int = 24) -> ItemSet:
    items = [
        Item(
            f"m{i}",
            f"Q: pick {i}\nA:",
            choices=(" the", " a", " of"),
            target_scores=tuple(1.0 if j == i % 3 else 0.0 for j in range(3)),
        )
        for i in range(n)
    ]
    return ItemSet("toy-mc", "shots=0", items)


@pytest.fixture(scope="module")
def results(tiny_model: Path) -> list[ProbeResult]:
    return probe_rung(
        tiny_model, [_gen_set(), _mc_set()], rung="tiny", n_gpu_layers=0, folds=3, max_items=20
    )


def test_prepare_skips_whitespace_tokens(tiny_model: Path) -> None:
    """The capture point is just before the first non-blank answer token, after the shared option
    prefix."""
    with Engine.load(tiny_model, n_gpu_layers=0, n_ctx=256) as eng:
        gen = prepare_item(eng, _gen_set().items[3])
        assert gen is not None and eng.native.piece(gen.target).strip() == b"6"
        assert eng.detokenize(gen.context).endswith("A: ") or eng.detokenize(gen.context).endswith(
            "A:"
        )
        mc = prepare_item(
            eng, Item("x", "Q:", choices=(" the cat", " the dog"), target_scores=(0.0, 1.0))
        )
        assert mc is not None and mc.label == 1 and mc.candidates is not None
        assert mc.candidates[0] != mc.candidates[1]
        assert eng.detokenize(mc.context).rstrip().endswith("Q: the")  # the options' shared tokens
        assert (
            prepare_item(eng, Item("y", "Q:", choices=(" a", " a b"), target_scores=(1.0, 0.0)))
            is None
        )


def test_result_shapes_and_behaviour(tiny_model: Path, results: list[ProbeResult]) -> None:
    gen, mc = results
    assert gen.n == 20 and mc.n == 20
    for r in results:
        assert r.n_layer == 2
        for kind in ("lens_prob", "lens_logp", "lens_top1", "probe_acc", "probe_shuffled"):
            assert len(r.curves[kind]) == 2
        assert r.scalars["n_embd"] == 32 and r.scalars["bytes_per_item"] == 2 * 32 * 4
    assert len(mc.curves["lens_choice"]) == 2 and "lens_choice" not in gen.curves
    # the behaviour scalar is the model's own next-token decision: check against full logits
    with Engine.load(tiny_model, n_gpu_layers=0, n_ctx=512) as eng:
        items = select_items(_gen_set().items, 20, seed=0)
        hits = []
        for it in items:
            p = prepare_item(eng, it)
            assert p is not None
            hits.append(int(logits_all(eng, p.context)[-1].argmax()) == p.target)
    assert gen.scalars["behaviour"] == pytest.approx(np.mean(hits))


def test_store_round_trip(tmp_path: Path, results: list[ProbeResult]) -> None:
    with Store(tmp_path / "r.sqlite") as st:
        n = save_probe_results(st, "run-1", results)
        assert n > 0
        assert save_probe_results(st.path, "run-1", results) == n  # rerun replaces, not duplicates
        back = load_probe_results(st, "run-1")
    assert len(back) == 2
    by_task = {r.task: r for r in back}
    for r in results:
        b = by_task[r.task]
        assert (b.rung, b.setting, b.n) == (r.rung, r.setting, r.n)
        assert set(b.curves) == set(r.curves)
        for k, v in r.curves.items():
            np.testing.assert_allclose(b.curves[k], v, equal_nan=True)
        for k, v in r.scalars.items():
            assert (math.isnan(v) and math.isnan(b.scalars[k])) or b.scalars[k] == pytest.approx(v)
    assert load_probe_results(tmp_path / "r.sqlite", "run-1", task="toy-mc")[0].task == "toy-mc"
    assert load_probe_results(tmp_path / "missing.sqlite", "run-1") == []


def _ladder() -> list[ProbeResult]:
    """Three synthetic rungs: the probe rises at rung 2, the behaviour only at rung 3."""
    out = []
    for i, (acc, beh) in enumerate([(0.25, 0.25), (0.9, 0.26), (0.95, 0.8)]):
        n_layer = 4 + 2 * i
        curve = [0.25] * (n_layer // 2) + [acc] * (n_layer - n_layer // 2)
        out.append(
            ProbeResult(
                f"r{i}",
                "t",
                "shots=0",
                200,
                curves={
                    "probe_acc": curve,
                    "probe_shuffled": [0.25] * n_layer,
                    "lens_prob": list(np.linspace(0, beh, n_layer)),
                },
                scalars={
                    "params": 10.0 ** (6 + i),
                    "behaviour": beh,
                    "behaviour_chance": 0.25,
                    "probe_chance": 0.25,
                },
            )
        )
    return out


def test_onset_and_markdown() -> None:
    rs = _ladder()
    on = onset(rs)
    assert (on.probe, on.behaviour) == ("r1", "r2")
    assert on.first_depth["r1"] == pytest.approx(3 / 5)
    md = probe_report_markdown(rs[::-1])
    assert "### t [shots=0]" in md and "before the behaviour" in md and "**r1**" in md
    assert md.index("| r0 |") < md.index("| r1 |") < md.index("| r2 |")
    override = probe_report_markdown(rs, behaviour={("r1", "t", "shots=0"): 0.9})
    assert "appear together or behaviour first" in override
    assert "No probe results" in probe_report_markdown([])


def test_heatmap_text() -> None:
    rs = _ladder()
    txt = heatmap_text(rs, "t", "probe_acc", rows=6, cell=2)
    lines = txt.splitlines()
    grid = [ln.split("|", 1)[1] for ln in lines if "|" in ln and not ln.startswith("probe_acc")]
    assert len(grid) == 6 and all(len(g) == 6 for g in grid)
    assert grid[0] == "::%%@@"  # last layers: chance, 0.90, 0.95 on the ' .:-=+*#%@' scale
    assert grid[-1] == "::" * 3  # first layers: chance (0.25) everywhere
    absolute = heatmap_text(rs, "t", "probe_acc", depth="absolute")
    assert "L7" in absolute and "·" in absolute  # the 4-layer rung has no layer 7
    assert "no lens_top1" in heatmap_text(rs, "t", "lens_top1")
    assert "1=r0" in txt


def test_behaviour_from_store(tmp_path: Path) -> None:
    with Store(tmp_path / "b.sqlite") as st:
        st.begin_run("run", "l", {})
        st.set_taskset(
            "run", StoredTaskSet("t", "shots=0", 0, ["exact_match"], "exact_match", {}, [], 3)
        )
        recs = [
            ItemRecord(
                "run",
                "r0",
                "t",
                "shots=0",
                f"i{i}",
                "h",
                "sha",
                "p",
                [],
                [],
                ["1"],
                ItemRaw(),
                {"exact_match": float(i % 2)},
                error="boom" if i == 3 else None,
            )
            for i in range(4)
        ]
        st.put_records(recs)
        got = behaviour_from_run(load_run(st, "run"))
    assert got == {("r0", "t", "shots=0"): pytest.approx(1 / 3)}
