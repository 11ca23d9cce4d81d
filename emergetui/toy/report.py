"""RESULTS.md for the toy ladder: tables and plain-words findings computed from the numbers.

The words are computed, not written by hand, so that they cannot drift from
the measurement; they are descriptive (largest steps, ratios), not the
project's statistical verdicts, which :mod:`emergetui.toy.verdicts` adds to RESULTS.md from
the lab's own analysis of the default run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from emergetui.toy.files import CIPHER_SHOTS, Manifest

if TYPE_CHECKING:  # measure renders through this module: annotations only
    from emergetui.toy.measure import RungResult

ADDITION, CHAIN, CIPHER = "toy_addition", "toy_chain", "toy_cipher"
#: Guessing one of the eight code letters.
CIPHER_CHANCE = 1 / 8


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def curve_table(results: Sequence[RungResult], task: str, shots: int = 0) -> str:
    head = (
        "| rung | params | exact match | token accuracy | predicted (token acc^L) | P(target) "
        "| log-lik/token | edit distance |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for r in results:
        c = r.cell(task, shots)
        pred = c.token_accuracy ** round(c.answer_tokens)
        rows.append(
            f"| {r.label} | {r.params:,} | {100 * c.exact_match:.1f}% | "
            f"{100 * c.token_accuracy:.1f}% | "
            f"{100 * pred:.1f}% | {100 * c.prob_correct:.1f}% | {c.logprob_per_token:.3f} | "
            f"{c.edit_distance:.2f} |"
        )
    return head + "\n".join(rows) + "\n"


def icl_table(results: Sequence[RungResult], metric: str = "exact_match") -> str:
    shots = [c.shots for c in results[0].cells if c.task == CIPHER]
    head = (
        "| rung | "
        + " | ".join(f"{k}-shot" for k in shots)
        + " |\n|---|"
        + "---:|" * len(shots)
        + "\n"
    )
    rows = []
    for r in results:
        vals = [getattr(r.cell(CIPHER, k), metric) for k in shots]
        cells = [f"{100 * v:.1f}%" if metric != "logprob_per_token" else f"{v:.3f}" for v in vals]
        rows.append(f"| {r.label} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def has_cipher(results: Sequence[RungResult]) -> bool:
    return bool(results) and any(c.task == CIPHER for c in results[0].cells)


def loss_table(results: Sequence[RungResult]) -> str:
    top = max(CIPHER_SHOTS)
    icl = has_cipher(results)
    extra = f" cipher {top}-shot EM |" if icl else ""
    head = (
        f"| rung | params | held-out loss | addition EM | chain token acc | chain EM |{extra}\n"
        f"|---|---:|---:|---:|---:|---:|{'---:|' if icl else ''}\n"
    )
    rows = [
        f"| {r.label} | {r.params:,} | {r.heldout_loss:.4f} | "
        f"{_pct(r.cell(ADDITION).exact_match)} | "
        f"{_pct(r.cell(CHAIN).token_accuracy)} | {_pct(r.cell(CHAIN).exact_match)} |"
        + (f" {_pct(r.cell(CIPHER, top).exact_match)} |" if icl else "")
        for r in results
    ]
    return head + "\n".join(rows) + "\n"


def curve_tables(results: Sequence[RungResult]) -> str:
    icl = f"cipher exact match by shots\n{icl_table(results)}\n" if has_cipher(results) else ""
    return (
        f"addition\n{curve_table(results, ADDITION)}\nchain\n{curve_table(results, CHAIN)}\n"
        f"{icl}loss\n{loss_table(results)}"
    )


def _largest_step(xs: Sequence[float]) -> int:
    steps = [b - a for a, b in zip(xs, xs[1:])]
    return max(range(len(steps)), key=steps.__getitem__)


def findings(results: Sequence[RungResult]) -> list[str]:
    """One line per phenomenon, in plain words, from the measured numbers."""
    if len(results) < 2:
        return []
    lab = [r.label for r in results]
    out = []
    add = [r.cell(ADDITION) for r in results]
    k = _largest_step([c.exact_match for c in add])
    out.append(
        f"Threshold (addition): exact match jumps {_pct(add[k].exact_match)} -> "
        f"{_pct(add[k + 1].exact_match)} between {lab[k]} and {lab[k + 1]}, and the per-token "
        f"numbers jump at the same step (token accuracy {_pct(add[k].token_accuracy)} -> "
        f"{_pct(add[k + 1].token_accuracy)}, log-likelihood per token "
        f"{add[k].logprob_per_token:.2f} -> "
        f"{add[k + 1].logprob_per_token:.2f})."
    )
    ch = [r.cell(CHAIN) for r in results]
    k = _largest_step([c.exact_match for c in ch])
    L = round(ch[0].answer_tokens)
    out.append(
        f"Mirage (chain, {L} letters all or nothing): exact match goes "
        + ", ".join(_pct(c.exact_match) for c in ch)
        + f" (largest step {lab[k]} -> {lab[k + 1]}), while per-letter accuracy rises steadily: "
        + ", ".join(_pct(c.token_accuracy) for c in ch)
        + f"; per-letter accuracy to the power {L} predicts "
        + ", ".join(_pct(c.token_accuracy**L) for c in ch)
        + "."
    )
    top = max(CIPHER_SHOTS)
    if has_cipher(results):
        zero = [r.cell(CIPHER, 0).exact_match for r in results]
        many = [r.cell(CIPHER, top).exact_match for r in results]
        out.append(
            f"In-context learning (cipher): 0 shots {_pct(min(zero))}-{_pct(max(zero))} over the "
            f"rungs (chance {_pct(CIPHER_CHANCE)}); {top} shots "
            + ", ".join(f"{a} {_pct(m)}" for a, m in zip(lab, many))
            + "."
        )
    held = [r.heldout_loss for r in results]
    ups = sum(b >= a for a, b in zip(held, held[1:]))
    falls = "falls at every step" if ups == 0 else f"rises at {ups} of {len(held) - 1} steps"
    acc = [c.token_accuracy for c in ch]
    rises = sum(b > a for a, b in zip(acc, acc[1:]))
    out.append(
        f"Loss and ability: held-out loss {falls} ({held[0]:.3f} -> {held[-1]:.3f}); addition's "
        "exact match jumps while the loss goes "
        f"{_loss_at_jump(results, [c.exact_match for c in add])}, the chain's while it goes "
        f"{_loss_at_jump(results, [c.exact_match for c in ch])}; the chain's per-letter accuracy "
        f"rises at {rises} of {len(acc) - 1} steps of the loss."
    )
    return out


def _loss_at_jump(results: Sequence[RungResult], xs: Sequence[float]) -> str:
    k = _largest_step(xs)
    return f"{results[k].heldout_loss:.3f} -> {results[k + 1].heldout_loss:.3f}"


def training_table(manifest: Manifest) -> str:
    head = (
        "| rung | layers | width | heads (kv) | params | non-embedding | lr | train loss "
        "| val loss | train time | llama.cpp vs torch |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = [
        f"| {r.label} | {r.n_layer} | {r.n_embd} | {r.n_head} ({r.n_head_kv}) | {r.params:,} | "
        f"{r.params_non_embedding:,} | {r.lr:g} | {r.train_loss:.4f} | {r.val_loss:.4f} | "
        f"{r.train_seconds:.0f} s | {r.logits_max_abs_diff:.1e} |"
        for r in manifest.rungs
    ]
    return head + "\n".join(rows) + "\n"


def results_markdown(manifest: Manifest, results: Sequence[RungResult], verdicts: str = "") -> str:
    from emergetui.toy.notes import NOTES

    m, t = manifest, manifest.training
    n_items = results[0].cells[0].n_items if results and results[0].cells else 0
    lines = "\n".join(f"* {f}" for f in findings(results))
    return (
        "# The toy ladder, measured with llama.cpp\n\n"
        f"{len(m.rungs)} llama-architecture models trained by "
        "`python -m emergetui.toy.train --seed "
        f"{m.seed}` on the same {m.train_tokens:,} tokens of synthetic text ({t['steps']} steps of "
        f"{t['batch']}×{t['seq_len']} tokens, CPU, one thread). Measured on the exported GGUF "
        "files "
        f"through emergetui's engine with the default run's prompts, {n_items} questions per task "
        "setting.\n\n"
        f"## Findings\n\n{lines}\n\n"
        + (f"{verdicts}\n" if verdicts else "")
        + f"## Threshold: addition (0-shot)\n\n{curve_table(results, ADDITION)}\n"
        f"## Mirage: chain (0-shot)\n\n{curve_table(results, CHAIN)}\n"
        "*predicted* is per-token accuracy to the power of the answer's length (10 letters for the "
        "chain): what exact match would be if every letter were an independent draw; *P(target)* "
        "is the mean over questions of the product of the per-token probabilities.\n\n"
        + (
            "## In-context learning: cipher, exact match by number of shots\n\n"
            f"{icl_table(results)}\nLog-likelihood per token of the answer:\n\n"
            f"{icl_table(results, 'logprob_per_token')}\n"
            if has_cipher(results)
            else ""
        )
        + f"## Loss and ability\n\n{loss_table(results)}\n"
        f"## Training\n\n{training_table(m)}\n"
        "*val loss* is torch's, on the held-out lines packed like training rows; "
        "*llama.cpp vs torch* is the largest absolute difference of logits and log-softmax over a "
        "few prompts, llama.cpp "
        "run with an F32 KV cache.\n\n"
        f"{NOTES}"
    )
