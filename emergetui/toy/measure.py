"""Measuring the toy ladder with llama.cpp, on the shipped GGUF files.

Everything goes through :class:`emergetui.engine.Engine` and the project's
own task loaders, with the default run's prompts (every task setting the
manifest lists, seed 0), so the curves are a statement about the files a
user gets. Per rung and task setting:

* exact match: greedy generation, BIG-bench post-processing, equals the target;
* token accuracy: fraction of target tokens that are the argmax given the
  correct previous ones (teacher-forced), the continuous cousin of exact match;
* log-likelihood per token of the target, and P(target) averaged over items
  (the exact-match rate a sampler would get: the prediction from per-token
  probabilities);
* edit distance (characters) between the answer and the target;

and per rung the held-out loss (rolling windows of the training length).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emergetui.engine import Engine
from emergetui.tasks.base import ItemSet
from emergetui.tasks.metrics import levenshtein, postprocess_output
from emergetui.toy.files import HELDOUT_FILE, RESULTS_FILE, TOY_DIR, Manifest


@dataclass
class Cell:
    """One task setting on one rung."""

    task: str
    shots: int
    n_items: int
    exact_match: float
    token_accuracy: float
    logprob_per_token: float
    prob_correct: float
    edit_distance: float
    answer_tokens: float


@dataclass
class RungResult:
    label: str
    params: int
    heldout_loss: float
    cells: list[Cell] = field(default_factory=list)

    def cell(self, task: str, shots: int = 0) -> Cell:
        return next(c for c in self.cells if c.task == task and c.shots == shots)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RungResult:
        cells = [Cell(**c) for c in data.get("cells", [])]
        return cls(data["label"], data["params"], data["heldout_loss"], cells)


def task_sets(directory: str | Path = TOY_DIR, limit: int | None = None) -> list[ItemSet]:
    """The default run's item sets for the manifest's tasks (seed 0, the tasks' own shots)."""
    from emergetui.tasks.registry import resolve_tasks

    directory = Path(directory)
    manifest = Manifest.load(directory)
    specs = [str(directory / t) for t in (manifest.tasks or [manifest.task])]
    sets, errors = resolve_tasks(specs, None, limit, 0, [])
    if errors:
        raise RuntimeError(f"{directory}: {errors[0]}")
    return sets


def measure_set(eng: Engine, s: ItemSet) -> Cell:
    items = s.items
    gens = eng.generate(
        [i.prompt for i in items], max_tokens=items[0].max_tokens, stop=list(items[0].stop)
    )
    scored = eng.score([(i.prompt, i.targets[0]) for i in items])
    errors = [x.error for x in scored if x.error] + [g.error for g in gens if g.error]
    if errors:
        raise RuntimeError(f"{s.task} {s.setting}: {errors[0]}")
    answers = []
    for item, g in zip(items, gens, strict=True):
        text = g.text + (item.stop[0] if g.stop_reason == "stop" else "")
        answers.append(postprocess_output(text, item.stop[0], item.output_regex))
    n_tok = sum(len(x.logprobs) for x in scored)
    n = max(1, len(items))
    return Cell(
        task=s.task,
        shots=s.shots,
        n_items=len(items),
        exact_match=sum(a == i.targets[0] for a, i in zip(answers, items)) / n,
        token_accuracy=sum(sum(x.greedy) for x in scored) / max(1, n_tok),
        logprob_per_token=sum(sum(x.logprobs) for x in scored) / max(1, n_tok),
        prob_correct=sum(math.exp(sum(x.logprobs)) for x in scored) / n,
        edit_distance=sum(levenshtein(a, i.targets[0]) for a, i in zip(answers, items)) / n,
        answer_tokens=n_tok / n,
    )


def measure_rung(
    path: str | Path,
    sets: Sequence[ItemSet],
    heldout: str,
    *,
    label: str = "",
    params: int = 0,
    window: int = 128,
    n_threads: int | None = None,
) -> RungResult:
    with Engine.load(path, n_gpu_layers=0, n_ctx=1024, n_threads=n_threads) as eng:
        cells = [measure_set(eng, s) for s in sets]
        rolling = eng.rolling_loss(heldout, window=window)
    return RungResult(label, params, rolling.mean_nll, cells)


def measure_ladder(
    directory: str | Path = TOY_DIR, limit: int | None = None, n_threads: int | None = None
) -> list[RungResult]:
    directory = Path(directory)
    manifest = Manifest.load(directory)
    sets = task_sets(directory, limit)
    heldout = (directory / HELDOUT_FILE).read_text(encoding="utf-8")
    window = int(manifest.training.get("seq_len", 128))
    return [
        measure_rung(
            directory / r.file,
            sets,
            heldout,
            label=r.label,
            params=r.params,
            window=window,
            n_threads=n_threads,
        )
        for r in manifest.rungs
    ]


def measure_and_write(directory: str | Path = TOY_DIR, limit: int | None = None) -> str:
    """Measure every rung, run the default experiment's analysis on the files, write
    ``results.json`` and ``RESULTS.md``; returns the markdown."""
    from emergetui.toy.report import results_markdown
    from emergetui.toy.verdicts import default_run_document, verdicts_markdown

    directory = Path(directory)
    results = measure_ladder(directory, limit=limit)
    verdicts = verdicts_markdown(default_run_document(directory))
    text = results_markdown(Manifest.load(directory), results, verdicts)
    (directory / "results.json").write_text(
        json.dumps([r.to_dict() for r in results], indent=2) + "\n", encoding="utf-8"
    )
    (directory / RESULTS_FILE).write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m emergetui.toy.measure", description="Measure the toy ladder."
    )
    ap.add_argument("directory", nargs="?", type=Path, default=TOY_DIR)
    ap.add_argument("--items", type=int, default=None, help="items per task setting (default: all)")
    ap.add_argument("--write", action="store_true", help="write results.json and RESULTS.md")
    a = ap.parse_args()
    if a.write:
        print(measure_and_write(a.directory, a.items))
    else:
        from emergetui.toy.report import curve_tables

        print(curve_tables(measure_ladder(a.directory, a.items)))
