"""Train, export, check and measure the toy ladder: ``python -m emergetui.toy.train --out DIR``.

As in Pythia, only size differs between rungs: every rung sees the same
training rows in the same order (same tokens, same batch size, same
schedule shape), so differences in loss and ability come from size (and the
peak learning rate that suits it, see :class:`Rung`).

The GGUFs declare the training length (128 tokens) as their context: the
models have never seen longer sequences and fall apart past it (a prompt of
more than about seven few-shot examples), which the lab can read from
``n_ctx_train``.

CPU only and deterministic: one thread, seeded data and initialisation, so
the same seed gives the same files (bit-identical on the same torch build).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emergetui.hashing import file_sha256
from emergetui.toy.check import check_gguf
from emergetui.toy.corpus import (
    CharTokenizer,
    CorpusSpec,
    Split,
    heldout_lines,
    heldout_text,
    make_split,
    pack_rows,
    toy_vocab,
    training_tokens,
)
from emergetui.toy.export import export_gguf
from emergetui.toy.files import (
    HELDOUT_FILE,
    MANIFEST,
    TASK_FILE,
    Manifest,
    RungRecord,
    task_specs,
    write_json,
    write_task_files,
)
from emergetui.toy.model import ToyConfig, ToyLlama


@dataclass(frozen=True)
class Rung:
    """One model of the ladder and its peak learning rate.

    The rate falls with size, as in every published ladder (Pythia's table
    included): the one-layer rungs need a high rate to leave the plateau at
    all, the deeper ones become unreliable with it.
    """

    label: str
    n_layer: int
    n_embd: int
    n_head: int
    n_ff: int
    lr: float
    n_head_kv: int = 0  # 0: same as n_head

    def config(self, n_vocab: int, n_ctx: int) -> ToyConfig:
        return ToyConfig(
            n_vocab=n_vocab,
            n_embd=self.n_embd,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_head_kv=self.n_head_kv or self.n_head,
            n_ff=self.n_ff,
            n_ctx=n_ctx,
        )


LADDER: tuple[Rung, ...] = (
    Rung("toy-1", 1, 8, 2, 24, lr=6e-3),
    Rung("toy-2", 1, 12, 2, 32, lr=6e-3),
    Rung("toy-3", 1, 24, 2, 64, lr=6e-3),
    Rung("toy-4", 1, 64, 4, 176, lr=5e-3),
    Rung("toy-5", 2, 64, 4, 176, lr=3.5e-3),
    Rung("toy-6", 3, 96, 4, 256, lr=2.5e-3),
    Rung("toy-7", 4, 128, 4, 352, lr=2e-3, n_head_kv=2),
)
TINY_LADDER: tuple[Rung, ...] = (
    Rung("tiny-1", 1, 8, 2, 16, lr=1e-2),
    Rung("tiny-2", 1, 16, 4, 32, lr=1e-2, n_head_kv=2),
)


@dataclass(frozen=True)
class TrainSpec:
    """The schedule shared by every rung.

    16 rows of 128 tokens per step: the cipher's lookup needs an induction head
    (two attention layers working together), which forms after a plateau of
    about 1,000-2,000 updates at this batch; with 4 rows per step (up to 6,000
    steps) or 32 rows and 2,000 steps it never formed (RESULTS.md). Addition
    too is learnt after a plateau that ends after a number of updates, and the
    small rungs never leave it. Prompt tokens (the random operands) are
    down-weighted in the training loss because their gradient is pure noise
    that lengthens the plateau; they are still trained, so the model stays a
    language model of the whole text and the held-out loss covers every token.
    """

    steps: int = 3000
    batch: int = 16
    seq_len: int = 128
    prompt_weight: float = 0.1
    lr_min_frac: float = 0.1
    warmup_frac: float = 0.05
    weight_decay: float = 0.1
    grad_clip: float = 1.0

    @property
    def tokens(self) -> int:
        return self.steps * self.batch * self.seq_len


TINY_SPEC = TrainSpec(steps=6, batch=2, seq_len=64)


def lr_at(step: int, spec: TrainSpec, peak: float) -> float:
    warm = max(1, int(spec.warmup_frac * spec.steps))
    if step < warm:
        return peak * (step + 1) / warm
    t = (step - warm) / max(1, spec.steps - warm)
    return peak * (spec.lr_min_frac + (1 - spec.lr_min_frac) * 0.5 * (1 + math.cos(math.pi * t)))


@torch.no_grad()
def mean_loss(model: ToyLlama, rows: torch.Tensor, batch: int = 32) -> float:
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(rows), batch):
        r = rows[i : i + batch]
        logits = model(r[:, :-1])
        total += F.cross_entropy(logits.flatten(0, 1), r[:, 1:].flatten(), reduction="sum").item()
        n += r[:, 1:].numel()
    model.train()
    return total / n


@dataclass
class Trained:
    model: ToyLlama
    lr: float
    train_loss: float
    val_loss: float
    seconds: float


def train_rung(
    rung: Rung,
    data: torch.Tensor,
    weights: torch.Tensor,
    val: torch.Tensor,
    spec: TrainSpec,
    seed: int,
    n_vocab: int,
    log: Callable[[str], None] | None = print,
) -> Trained:
    torch.manual_seed(seed)
    model = ToyLlama(rung.config(n_vocab, n_ctx=spec.seq_len))
    peak = rung.lr
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": spec.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=peak,
        betas=(0.9, 0.98),
        eps=1e-8,
    )
    t0 = time.perf_counter()
    recent: list[float] = []
    for step in range(spec.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, spec, peak)
        sl = slice(step * spec.batch, (step + 1) * spec.batch)
        rows, w = data[sl], weights[sl].flatten()
        logits = model(rows[:, :-1])
        per_token = F.cross_entropy(logits.flatten(0, 1), rows[:, 1:].flatten(), reduction="none")
        loss = (per_token * w).sum() / w.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
        opt.step()
        recent = (recent + [per_token.mean().item()])[-max(1, spec.steps // 20) :]
        if log and (step + 1) % max(1, spec.steps // 5) == 0:
            log(
                f"  {rung.label} step {step + 1}/{spec.steps} loss {np.mean(recent):.4f} "
                f"({time.perf_counter() - t0:.0f}s)"
            )
    seconds = time.perf_counter() - t0
    return Trained(model, peak, float(np.mean(recent)), mean_loss(model, val), seconds)


def check_texts(split: Split) -> list[str]:
    """Prompts for the logits check: a few held-out lines, alone and packed."""
    lines = heldout_lines(split)[:8]
    return [
        lines[0],
        "\n".join(lines[:4]) + "\n",
        split.task[0].question + "=",
        "hello, world\n12+34",
    ]


def build(
    out: Path,
    seed: int,
    rungs: Sequence[Rung],
    spec: TrainSpec,
    corpus: CorpusSpec,
    measure: bool,
    n_items: int | None = None,
) -> Manifest:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out.mkdir(parents=True, exist_ok=True)
    split = make_split(corpus)
    vocab = toy_vocab()
    tok = CharTokenizer.from_vocab(vocab)
    (out / HELDOUT_FILE).write_text(heldout_text(split), encoding="utf-8")
    write_task_files(out, split)
    rows, answers = training_tokens(split, tok, spec.steps * spec.batch, spec.seq_len)
    data = torch.from_numpy(rows)
    weights = torch.from_numpy(np.where(answers, 1.0, spec.prompt_weight).astype(np.float32))
    val = torch.from_numpy(pack_rows(heldout_lines(split), tok, None, spec.seq_len)[0])
    manifest = Manifest(
        ladder="toy",
        description="Llama-architecture transformers of growing size, trained by "
        "emergetui.toy.train on the same synthetic corpus (little-endian addition, a memorised "
        "letter chain, cipher blocks read in context) for the same number of tokens.",
        seed=seed,
        train_tokens=spec.tokens,
        task=TASK_FILE,
        heldout=HELDOUT_FILE,
        corpus=asdict(corpus),
        training=asdict(spec),
        tasks=task_specs(split),
    )
    t_all = time.perf_counter()
    for rung in rungs:
        print(f"training {rung.label} ...", flush=True)
        tr = train_rung(rung, data, weights, val, spec, seed, vocab.size)
        path = export_gguf(
            tr.model,
            out / f"{rung.label}.gguf",
            vocab,
            name=f"emergetui {rung.label}",
            metadata={"emergetui.toy.seed": str(seed)},
        )
        chk = check_gguf(tr.model, path, tok, check_texts(split))
        if not chk.tokens_match:
            raise SystemExit(f"{path}: llama.cpp tokenizes differently from the trainer")
        c = tr.model.c
        manifest.rungs.append(
            RungRecord(
                label=rung.label,
                params=tr.model.n_params(),
                params_non_embedding=tr.model.n_params(False),
                file=path.name,
                sha256=file_sha256(path),
                size_bytes=path.stat().st_size,
                train_tokens=spec.tokens,
                train_loss=round(tr.train_loss, 5),
                val_loss=round(tr.val_loss, 5),
                n_layer=c.n_layer,
                n_embd=c.n_embd,
                n_head=c.n_head,
                n_head_kv=c.n_head_kv,
                n_ff=c.n_ff,
                lr=tr.lr,
                train_seconds=round(tr.seconds, 1),
                logits_max_abs_diff=float(f"{chk.max_abs:.3g}"),
            )
        )
        print(
            f"{rung.label}: {tr.model.n_params():,} params, train {tr.train_loss:.4f}, "
            f"val {tr.val_loss:.4f}, "
            f"{tr.seconds:.0f}s; llama.cpp vs torch max |diff| logits {chk.max_abs_logit:.2e}, "
            f"log-softmax {chk.max_abs_logprob:.2e}, score {chk.max_abs_score:.2e}",
            flush=True,
        )
    print(f"training time, whole ladder: {time.perf_counter() - t_all:.0f}s")
    write_json(out / MANIFEST, _merged(out, manifest, rungs).to_dict())
    if measure:
        from emergetui.toy.measure import measure_and_write

        print(measure_and_write(out, limit=n_items))
    return manifest


def _merged(out: Path, manifest: Manifest, rungs: Sequence[Rung]) -> Manifest:
    """Rungs retrained with ``--rungs`` replace theirs in an existing manifest of the same run.

    Every rung starts from the same seed and reads the same rows, so retraining
    one alone gives the same file as the full run would.
    """
    if not (out / MANIFEST).exists():
        return manifest
    old = Manifest.load(out)
    same = (old.seed, old.corpus, old.training) == (
        manifest.seed,
        manifest.corpus,
        manifest.training,
    )
    if not same:
        return manifest
    order = [r.label for r in LADDER + TINY_LADDER]
    by_label = {r.label: r for r in old.rungs} | {r.label: r for r in manifest.rungs}
    manifest.rungs = sorted(
        by_label.values(), key=lambda r: order.index(r.label) if r.label in order else 99
    )
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emergetui.toy.train", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--out", type=Path, required=True, help="folder for the GGUFs, manifest, task and results"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--tiny", action="store_true", help="two tiny rungs, a few steps: an end-to-end smoke test"
    )
    ap.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    ap.add_argument("--rungs", default="", help="comma-separated labels to train (default: all)")
    ap.add_argument(
        "--no-measure", action="store_true", help="skip the llama.cpp measurement table"
    )
    args = ap.parse_args(argv)
    rungs = TINY_LADDER if args.tiny else LADDER
    if args.rungs:
        keep = set(args.rungs.split(","))
        rungs = tuple(r for r in rungs if r.label in keep)
    spec = TINY_SPEC if args.tiny else TrainSpec()
    if args.steps:
        spec = replace(spec, steps=args.steps)
    corpus = (
        CorpusSpec(seed=args.seed, n_task=20, n_heldout=40)
        if args.tiny
        else CorpusSpec(seed=args.seed)
    )
    build(args.out, args.seed, rungs, spec, corpus, measure=not args.no_measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
