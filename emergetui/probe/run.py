"""Probing one rung on one task: capture, logit lens, linear probes → a :class:`ProbeResult`.

Where the state is read. For each item we capture the residual stream at the
position whose next-token prediction *decides* the answer: the last context
token of ``Engine.encode_pair`` (the scorer's own split), extended by the
tokens every option shares. For a multiple-choice item that is the common
token prefix of all choices (so the next token tells them apart); for a
generative item it is the target's leading whitespace-only tokens (SentencePiece
models write " 164" as "▁", "1", "6", "4": the decision is "1", not "▁").

What is measured per layer ℓ (curves) and per rung (scalars):

* ``lens_prob`` / ``lens_logp``: mean probability / log-probability of the
  correct next token when layer ℓ is read through the final norm and output
  head (full vocabulary); ``lens_top1``: fraction where it is the argmax.
* ``lens_choice`` (multiple choice): fraction where the correct option's token
  has the highest lens logit among the options' tokens (ties count as wrong).
* ``probe_acc``: k-fold accuracy of a linear probe reading the label (correct
  option index, or the correct next token) from layer ℓ; ``probe_shuffled``:
  the same on permuted labels (control).
* scalars ``behaviour`` (the last layer's decision, i.e. what the model itself
  predicts: ``lens_choice`` or ``lens_top1`` at the last layer),
  ``behaviour_chance`` (the majority answer's rate, or uniform guessing among
  options if higher), ``probe_chance`` (majority class), ``params``,
  ``n_layer``, ``n_embd``, ``n_classes``, ``bytes_per_item``, ``capture_s``,
  ``lens_s``, ``probe_s``, ``skipped``.

Cost of a probe pass (2 shared CPU cores under load; Gemma 3 270M, 100 items
of 3-shot 1-digit addition, ~47 tokens each): capture 137 s (one forward pass
over every context, no prefix sharing, +6-9 % for the callback), logit lens
34 s (1,800 states × 262k vocabulary), probes 15 s (18 layers × probe and
control × 5 folds). The lens head is dequantized once per rung (3-7 s, 335 MB
as float16 for Gemma's 262k × 640 head). States: ``n_layer × n_embd × 4``
bytes per item.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emergetui.engine.engine import Engine
from emergetui.engine.errors import RequestError
from emergetui.probe.capture import HiddenCapture
from emergetui.probe.lens import LensHead
from emergetui.probe.probes import probe_layers
from emergetui.probe.result import ProbeResult
from emergetui.tasks.base import Item, ItemSet


@dataclass
class ProbeItem:
    """One item made ready for probing: tokens up to the decision point and its answer."""

    item_id: str
    context: list[int]
    target: int  # the correct next token
    label: int  # class for the probe: option index (MC) or the target token
    candidates: list[int] | None = None  # each option's next token (MC)


def _common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    n = min(len(s) for s in seqs)
    for i in range(n):
        if any(s[i] != seqs[0][i] for s in seqs[1:]):
            return i
    return n


def prepare_item(engine: Engine, item: Item) -> ProbeItem | None:
    """Tokens and answer of one item, or ``None`` when it has nothing to probe."""
    if item.choices:
        if not item.target_scores or len(item.target_scores) != len(item.choices):
            return None
        correct = int(np.argmax(item.target_scores))
        pairs = [engine.encode_pair(item.prompt, c) for c in item.choices]
        ctx = pairs[0][0]
        conts = [p[1] for p in pairs]
        if any(p[0] != ctx for p in pairs):
            return None
        k = _common_prefix(conts)
        if any(len(c) <= k for c in conts):
            return None  # an option is a prefix of another: no single deciding token
        cands = [c[k] for c in conts]
        return ProbeItem(
            item.item_id, list(ctx) + list(conts[0][:k]), cands[correct], correct, cands
        )
    if item.targets:
        ctx, cont = engine.encode_pair(item.prompt, item.targets[0])
        k = 0
        while k < len(cont) - 1 and not engine.native.piece(cont[k]).strip():
            k += 1
        return ProbeItem(item.item_id, list(ctx) + list(cont[:k]), cont[k], cont[k])
    return None


def select_items(items: Sequence[Item], max_items: int | None, seed: int) -> list[Item]:
    """A seeded subset of at most ``max_items``, in the item set's order (probes need a fixed
    sample)."""
    if max_items is None or len(items) <= max_items:
        return list(items)
    keep = np.sort(np.random.default_rng(seed).choice(len(items), max_items, replace=False))
    return [items[i] for i in keep]


@dataclass
class Prober:
    """A loaded rung (capture context + lens head), reusable across item sets."""

    path: Path
    rung: str
    capture: HiddenCapture
    head: LensHead
    folds: int = 5
    seed: int = 0
    max_items: int | None = 300
    method: str = "ridge"

    @classmethod
    def open(
        cls,
        path: str | Path,
        rung: str | None = None,
        *,
        n_gpu_layers: str | int = "auto",
        n_ctx: int = 4096,
        folds: int = 5,
        seed: int = 0,
        max_items: int | None = 300,
        method: str = "ridge",
    ) -> Prober:
        p = Path(path)
        cap = HiddenCapture(p, n_gpu_layers=n_gpu_layers, n_ctx=n_ctx)
        try:
            head = LensHead.from_gguf(p)
        except Exception:
            cap.close()
            raise
        return cls(p, rung or p.stem, cap, head, folds, seed, max_items, method)

    def close(self) -> None:
        self.capture.close()

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, item_set: ItemSet) -> ProbeResult:
        cap, eng = self.capture, self.capture.engine
        prepared: list[ProbeItem] = []
        skipped = 0
        for it in select_items(item_set.items, self.max_items, self.seed):
            try:
                pi = prepare_item(eng, it)
            except RequestError:
                pi = None
            mode_ok = pi is not None and (
                not prepared or (pi.candidates is None) == (prepared[0].candidates is None)
            )
            if pi is None or not mode_ok or len(pi.context) > cap.native.n_ctx:
                # unprobeable, too long, or of the other kind (MC vs generative) than the first
                skipped += 1
            else:
                prepared.append(pi)
        res = ProbeResult(self.rung, item_set.task, item_set.setting, len(prepared))
        info = cap.native.info
        res.scalars.update(
            params=float(info.n_params),
            n_layer=float(cap.n_layer),
            n_embd=float(cap.n_embd),
            bytes_per_item=float(cap.bytes_per_item),
            skipped=float(skipped),
        )
        if not prepared:
            return res
        t0 = time.perf_counter()
        states = cap.capture_tokens([p.context for p in prepared])
        t1 = time.perf_counter()
        res.curves.update(self._lens(states, prepared))
        t2 = time.perf_counter()
        labels = np.asarray([p.label for p in prepared])
        acc, ctl, last = probe_layers(
            states, labels, k=self.folds, seed=self.seed, method=self.method
        )
        t3 = time.perf_counter()
        res.curves["probe_acc"] = acc.tolist()
        res.curves["probe_shuffled"] = ctl.tolist()
        mc = prepared[0].candidates is not None
        final = res.curves["lens_choice" if mc else "lens_top1"][-1]
        # a model that always gives the most frequent answer (or guesses uniformly among options)
        # scores this
        chance = max(
            last.majority,
            float(np.mean([1.0 / len(p.candidates or [1]) for p in prepared])) if mc else 0.0,
        )
        res.scalars.update(
            behaviour=final,
            behaviour_chance=chance,
            probe_chance=last.majority,
            n_classes=float(last.n_classes),
            capture_s=t1 - t0,
            lens_s=t2 - t1,
            probe_s=t3 - t2,
        )
        return res

    def _lens(self, states: np.ndarray, prepared: list[ProbeItem]) -> dict[str, list[float]]:
        n, n_layers, d = states.shape
        flat = states.reshape(n * n_layers, d)
        targets = np.repeat([p.target for p in prepared], n_layers)
        cand = None
        if prepared[0].candidates is not None:
            k = max(len(p.candidates or []) for p in prepared)
            cand_rows = np.full((n, k), -1, dtype=np.int64)
            for i, p in enumerate(prepared):
                cand_rows[i, : len(p.candidates or [])] = p.candidates or []
            cand = np.repeat(cand_rows, n_layers, axis=0)
        out = self.head.read(flat, targets, cand)
        logp = out.logp_target.reshape(n, n_layers)
        curves = {
            "lens_logp": logp.mean(axis=0).tolist(),
            "lens_prob": np.exp(logp).mean(axis=0).tolist(),
            "lens_top1": out.top1.reshape(n, n_layers).mean(axis=0).tolist(),
        }
        if cand is not None and out.cand_logits is not None:
            lg = out.cand_logits.reshape(n, n_layers, -1)
            correct = np.asarray([p.label for p in prepared])
            right = lg[np.arange(n), :, correct]  # [n, n_layers]
            toks = cand.reshape(n, n_layers, -1)[:, 0, :]
            rival = (toks >= 0) & (np.arange(toks.shape[1])[None, :] != correct[:, None])
            shares = (rival & (toks == toks[np.arange(n), correct][:, None])).any(axis=1)
            others = np.where(rival[:, None, :], lg, -np.inf).max(axis=2)
            wins = (right > others) & ~shares[:, None]
            curves["lens_choice"] = wins.mean(axis=0).tolist()
        return curves


def probe_rung(
    engine_path: str | Path,
    item_sets: Sequence[ItemSet],
    *,
    rung: str | None = None,
    n_gpu_layers: str | int = "auto",
    folds: int = 5,
    seed: int = 0,
    max_items: int | None = 300,
    method: str = "ridge",
) -> list[ProbeResult]:
    """Probe several item sets on one model, loading it (and its lens head) once."""
    with Prober.open(
        engine_path,
        rung,
        n_gpu_layers=n_gpu_layers,
        folds=folds,
        seed=seed,
        max_items=max_items,
        method=method,
    ) as prober:
        return [prober.run(s) for s in item_sets]


def run_probes(
    engine_path: str | Path,
    item_set: ItemSet,
    *,
    rung: str | None = None,
    n_gpu_layers: str | int = "auto",
    folds: int = 5,
    seed: int = 0,
    max_items: int | None = 300,
    method: str = "ridge",
) -> ProbeResult:
    """Probe one item set on one model (the options are :func:`probe_rung`'s)."""
    return probe_rung(
        engine_path,
        [item_set],
        rung=rung,
        n_gpu_layers=n_gpu_layers,
        folds=folds,
        seed=seed,
        max_items=max_items,
        method=method,
    )[0]
