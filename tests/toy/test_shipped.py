"""The shipped toy ladder: files intact, loadable, reproducible from the seed, and
still showing the documented table when measured again with llama.cpp."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from emergetui.engine import Engine
from emergetui.toy.corpus import CorpusSpec, heldout_text, make_split
from emergetui.toy.files import HELDOUT_FILE, TASK_FILE, Manifest, sha256, task_json
from emergetui.toy.measure import load_task, measure_rung

#: Items per rung in the quick re-measurement (the documented table uses all of them).
N_QUICK = 40
#: Exact match on 40 fixed items vs the full set: a binomial standard error is at most
#: 0.08 for 40 items, so 0.2 is 2.5 standard errors; the losses are deterministic
#: up to float summation order, hence the tight 2e-3.
EM_TOL = 0.2
LOSS_TOL = 2e-3


def test_manifest_lists_every_file_with_its_hash(toy_dir: Path, manifest: Manifest) -> None:
    assert manifest.ladder == "toy"
    assert len(manifest.rungs) >= 6
    for rung, path in zip(manifest.rungs, manifest.paths(toy_dir)):
        assert path.exists(), path
        assert sha256(path) == rung.sha256, f"{path.name} differs from the manifest"
        assert path.stat().st_size == rung.size_bytes
        assert rung.train_tokens == manifest.train_tokens


def test_shipped_size_budget(toy_dir: Path, manifest: Manifest) -> None:
    total = sum(p.stat().st_size for p in manifest.paths(toy_dir))
    assert total <= 20 * 1024 * 1024


def test_rungs_grow(manifest: Manifest) -> None:
    params = [r.params for r in manifest.rungs]
    assert params == sorted(params) and len(set(params)) == len(params)
    assert params[0] < 20_000 and params[-1] > 500_000


def test_task_and_heldout_regenerate_from_the_seed(toy_dir: Path, manifest: Manifest) -> None:
    spec = CorpusSpec(**manifest.corpus)
    split = make_split(spec)
    assert json.loads((toy_dir / TASK_FILE).read_text(encoding="utf-8")) == task_json(split)
    assert (toy_dir / HELDOUT_FILE).read_text(encoding="utf-8") == heldout_text(split)


def test_bigbench_schema(toy_dir: Path) -> None:
    task = json.loads((toy_dir / TASK_FILE).read_text(encoding="utf-8"))
    for key in ("name", "description", "keywords", "metrics", "preferred_score", "examples"):
        assert key in task
    assert task["metrics"] == ["exact_str_match"]
    assert len(task["examples"]) >= 200
    assert all(set(ex) == {"input", "target"} for ex in task["examples"])
    prompt, target = load_task(toy_dir)[0]
    assert prompt.endswith("=") and prompt == task["examples"][0]["input"] + "="
    assert int(target[::-1]) == sum(int(x[::-1]) for x in task["examples"][0]["input"].split("+"))


def test_files_load_in_llama_cpp(toy_dir: Path, manifest: Manifest) -> None:
    for rung in manifest.rungs:
        with Engine.load(toy_dir / rung.file, n_gpu_layers=0, n_ctx=256) as eng:
            assert eng.info.architecture == "llama"
            assert eng.info.n_layer == rung.n_layer
            assert eng.info.n_params == rung.params
            # the declared context is the training length: past it the models fall apart
            assert eng.info.n_ctx_train == manifest.training["seq_len"]


def _documented(toy_dir: Path) -> dict[str, dict]:
    return {
        r["label"]: r for r in json.loads((toy_dir / "results.json").read_text(encoding="utf-8"))
    }


def test_quick_remeasure_reproduces_the_table(toy_dir: Path, manifest: Manifest) -> None:
    documented = _documented(toy_dir)
    items = load_task(toy_dir)[:N_QUICK]
    heldout = (toy_dir / HELDOUT_FILE).read_text(encoding="utf-8")
    window = int(manifest.training["seq_len"])
    got = [
        measure_rung(toy_dir / r.file, items, heldout, label=r.label, window=window)
        for r in manifest.rungs
    ]
    for g in got:
        want = documented[g.label]
        assert abs(g.heldout_loss - want["heldout_loss"]) < LOSS_TOL, g
        assert abs(g.exact_match - want["exact_match"]) <= EM_TOL, g
    # the phenomenon itself, on the quick run
    assert got[0].exact_match <= 0.05 and got[1].exact_match <= 0.05
    assert got[-1].exact_match >= 0.85
    em = [g.exact_match for g in got]
    assert max(b - a for a, b in zip(em, em[1:])) >= 0.5 * (max(em) - em[0]), "no single jump"
    held = [g.heldout_loss for g in got]
    assert held == sorted(held, reverse=True), "held-out loss must fall with size"
    tok = [g.token_accuracy for g in got]
    assert tok[0] < tok[1] < tok[2], "per-token accuracy rises below the jump"


def test_result_fields_documented(toy_dir: Path) -> None:
    from emergetui.toy.measure import RungResult

    names = {f.name for f in fields(RungResult)}
    for row in _documented(toy_dir).values():
        assert set(row) == names


@pytest.mark.parametrize("name", ["RESULTS.md", "manifest.json", "results.json"])
def test_docs_present(toy_dir: Path, name: str) -> None:
    assert (toy_dir / name).stat().st_size > 0


def test_bigbench_loader_builds_training_format_prompts(toy_dir: Path) -> None:
    """The generic BIG-bench loader's prompts are training text: 0-shot is a line's
    question plus "=", k-shot is k whole training lines before it."""
    from emergetui.tasks.bigbench import item_sets, load_bigbench

    tasks, errors = load_bigbench(toy_dir / TASK_FILE)
    assert not errors and len(tasks) == 1
    sets, errors = item_sets(tasks[0], [0, 3], seed=0, limit=20)
    assert not errors
    zero, three = sets
    raw = json.loads((toy_dir / TASK_FILE).read_text(encoding="utf-8"))["examples"]
    for item, ex in zip(zero.items, raw):
        assert item.prompt == ex["input"] + "="
        assert item.targets == (ex["target"],)
        assert "\n" in item.stop
    for item in three.items:
        *shots, query = item.prompt.split("\n")
        assert len(shots) == 3 and query.endswith("=")
        for line in shots:
            q, a = line.split("=")
            x, y = q.split("+")
            assert int(a[::-1]) == int(x[::-1]) + int(y[::-1])
