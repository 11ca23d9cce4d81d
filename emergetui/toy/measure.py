"""Measuring the toy ladder with llama.cpp, on the shipped GGUF files.

Everything is measured through :class:`emergetui.engine.Engine`, the same path
the lab uses for real ladders, so the table is a statement about the files a
user gets, not about the torch models they came from. Four numbers per rung:

* held-out loss: mean per-token NLL of ``heldout.txt`` (rolling windows of the
  training length, so no position is beyond what the model was trained on);
* answer loss: mean per-token NLL of the task's targets given the 0-shot prompt;
* exact match: greedy generation up to the newline equals the target;
* token accuracy: fraction of target tokens that are the argmax given the
  correct previous ones (teacher-forced), a continuous cousin of exact match.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from emergetui.engine import Engine
from emergetui.toy.files import HELDOUT_FILE, RESULTS_FILE, TASK_FILE, TOY_DIR, Manifest


@dataclass
class RungResult:
    label: str
    params: int
    heldout_loss: float
    answer_loss: float
    exact_match: float
    token_accuracy: float
    n_items: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def load_task(directory: str | Path = TOY_DIR) -> list[tuple[str, str]]:
    """(0-shot prompt, target) pairs built the way BIG-bench builds them."""
    task = json.loads((Path(directory) / TASK_FILE).read_text(encoding="utf-8"))
    head = task["task_prefix"] + task["example_input_prefix"]
    tail = task["example_output_prefix"]
    return [(head + ex["input"] + tail, ex["target"]) for ex in task["examples"]]


def measure_rung(
    path: str | Path,
    items: Sequence[tuple[str, str]],
    heldout: str,
    *,
    label: str = "",
    params: int = 0,
    window: int = 128,
    n_threads: int | None = None,
) -> RungResult:
    with Engine.load(path, n_gpu_layers=0, n_ctx=1024, n_threads=n_threads) as eng:
        gens = eng.generate([p for p, _ in items], max_tokens=8, stop=["\n"])
        scored = eng.score(list(items))
        rolling = eng.rolling_loss(heldout, window=window)
    errors = [s.error for s in scored if s.error] + [g.error for g in gens if g.error]
    if errors:
        raise RuntimeError(f"{path}: {errors[0]}")
    n_tok = sum(s.n_tokens for s in scored)
    return RungResult(
        label=label,
        params=params,
        heldout_loss=rolling.mean_nll,
        answer_loss=-sum(s.logprob for s in scored) / max(1, n_tok),
        exact_match=sum(g.text == t for g, (_, t) in zip(gens, items)) / max(1, len(items)),
        token_accuracy=sum(sum(s.greedy) for s in scored) / max(1, n_tok),
        n_items=len(items),
    )


def measure_ladder(
    directory: str | Path = TOY_DIR, n_items: int | None = None, n_threads: int | None = None
) -> list[RungResult]:
    directory = Path(directory)
    manifest = Manifest.load(directory)
    items = load_task(directory)[:n_items]
    heldout = (directory / HELDOUT_FILE).read_text(encoding="utf-8")
    window = int(manifest.training.get("seq_len", 128))
    return [
        measure_rung(
            directory / r.file,
            items,
            heldout,
            label=r.label,
            params=r.params,
            window=window,
            n_threads=n_threads,
        )
        for r in manifest.rungs
    ]


def results_table(results: Sequence[RungResult]) -> str:
    head = (
        "| rung | params | held-out loss | answer loss | exact match | token accuracy |\n"
        "|---|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.label} | {r.params:,} | {r.heldout_loss:.4f} | {r.answer_loss:.4f} | "
        f"{100 * r.exact_match:.1f}% | {100 * r.token_accuracy:.1f}% |"
        for r in results
    ]
    return head + "\n".join(rows) + "\n"


def training_table(manifest: Manifest) -> str:
    head = (
        "| rung | layers | width | heads (kv) | params | non-embedding | train loss | val loss "
        "| train time | llama.cpp vs torch |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.label} | {r.n_layer} | {r.n_embd} | {r.n_head} ({r.n_head_kv}) | {r.params:,} | "
        f"{r.params_non_embedding:,} | {r.train_loss:.4f} | {r.val_loss:.4f} | {r.train_seconds:.0f} s | "
        f"{r.logits_max_abs_diff:.1e} |"
        for r in manifest.rungs
    ]
    return head + "\n".join(rows) + "\n"


def summary(results: Sequence[RungResult]) -> str:
    """The pattern in words, computed from the numbers (so it cannot drift from them)."""
    if len(results) < 2:
        return ""
    em = [r.exact_match for r in results]
    rises = [b - a for a, b in zip(em, em[1:])]
    k = max(range(len(rises)), key=rises.__getitem__)
    total = max(em) - em[0]
    share = rises[k] / total if total > 0 else 0.0
    held = [r.heldout_loss for r in results]
    ans = [r.answer_loss for r in results]

    def falls(xs: Sequence[float]) -> str:
        ups = sum(b >= a for a, b in zip(xs, xs[1:]))
        return "falls at every step" if ups == 0 else f"rises at {ups} of {len(xs) - 1} steps"

    return (
        f"Exact match goes from {100 * em[0]:.0f}% to {100 * em[-1]:.0f}%; "
        f"{100 * share:.0f}% of that rise happens between {results[k].label} and "
        f"{results[k + 1].label} ({results[k].params:,} → {results[k + 1].params:,} parameters), "
        f"while token accuracy goes {100 * results[k].token_accuracy:.0f}% → "
        f"{100 * results[k + 1].token_accuracy:.0f}% there. Along the ladder the held-out loss "
        f"{falls(held)} ({held[0]:.3f} → {held[-1]:.3f}) and the answer loss {falls(ans)} "
        f"({ans[0]:.3f} → {ans[-1]:.4f}).\n"
    )


def results_markdown(manifest: Manifest, results: Sequence[RungResult]) -> str:
    m = manifest
    t = m.training
    return (
        "# The toy ladder, measured with llama.cpp\n\n"
        f"{len(m.rungs)} llama-architecture models trained by `python -m emergetui.toy.train --seed {m.seed}` "
        f"on the same {m.train_tokens:,} tokens of synthetic text ({t['steps']} steps of "
        f"{t['batch']}×{t['seq_len']} tokens, CPU, one thread). Measured on the exported GGUF files "
        f"through emergetui's engine, {results[0].n_items if results else 0} test questions per rung:\n\n"
        f"{results_table(results)}\n"
        f"{summary(results)}\n"
        "*held-out loss*: mean NLL per token of `heldout.txt` (nats); *answer loss*: mean NLL per "
        "answer token given the 0-shot prompt; *exact match*: the greedy answer equals the target; "
        "*token accuracy*: answer tokens that are the argmax given the correct previous ones.\n\n"
        "## Training\n\n"
        f"{training_table(m)}\n"
        "*val loss* is torch's, on the held-out lines packed like training rows; *llama.cpp vs torch* "
        "is the largest absolute difference of logits and log-softmax over a few prompts, llama.cpp "
        "run with an F32 KV cache (with its default F16 cache the engine's per-token log-probabilities "
        "differ from torch's by up to 0.06 nats on the smallest rungs, 0.003 on the largest).\n\n"
        "## How it was made, and what to keep in mind\n\n"
        f"* Corpus: addition lines such as `{_example()}` (little-endian, zero-padded operands of "
        f"1 to {m.corpus['digits']} significant digits) and {100 * m.corpus['fact_fraction']:.0f}% fact "
        f"lines (`kqz=483`: {m.corpus['n_facts']:,} random keys, Zipf-distributed), so that the "
        "held-out loss keeps rewarding size after the addition is solved. The test questions "
        "(full-width operands) and the held-out additions are drawn first and never occur in training.\n"
        "* Training: every rung reads the same rows in the same order; AdamW, warm-up then cosine "
        f"decay; prompt tokens weighted {t['prompt_weight']} in the loss; peak learning rates per rung "
        "(falling with size, as in Pythia). The ladder shapes and rates were settled over three full "
        "runs and a few retrains of single rungs, so that every rung trains reliably (two-layer "
        "models at these small widths often stay on the initial plateau, which made earlier ladders "
        "non-monotone); seed 0 is the only seed used.\n"
        "* Where the jump sits depends on the training budget as well as on size (in a development "
        "run with fewer steps, a lower learning rate and no fact lines, the 24-wide one-layer model "
        "reached 5% exact match). Exact match needs all five answer digits, so it is the sharpest "
        "of the four numbers, but on this ladder the per-token metrics jump at the same place too: "
        "addition is learnt after a plateau that the smaller rungs do not leave within the budget, "
        "so this is a real threshold, not only an artefact of the metric. The held-out loss mixes "
        "in the facts, which reward size smoothly.\n"
    )


def _example() -> str:
    from emergetui.toy.corpus import Problem

    return Problem(347, 9285, 4).line


def measure_and_write(directory: str | Path = TOY_DIR, n_items: int | None = None) -> str:
    """Measure every rung, write ``results.json`` and ``RESULTS.md``; returns the markdown."""
    directory = Path(directory)
    results = measure_ladder(directory, n_items=n_items)
    text = results_markdown(Manifest.load(directory), results)
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
    ap.add_argument(
        "--items", type=int, default=None, help="test questions per rung (default: all)"
    )
    ap.add_argument("--write", action="store_true", help="write results.json and RESULTS.md")
    a = ap.parse_args()
    if a.write:
        print(measure_and_write(a.directory, a.items))
    else:
        print(results_table(measure_ladder(a.directory, a.items)))
