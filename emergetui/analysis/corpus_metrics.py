"""Corpus-level metrics per rung, with bootstrap intervals over items.

BLEU, macro-F1, BIG-bench's expected calibration error and its Brier score are
statistics of a whole set of items, not means of per-item values, so the usual
"mean over items with a bootstrap of the mean" does not apply. Here each rung's
point value is BIG-bench's function on all of that rung's items, and the
interval comes from recomputing the statistic on item-resampling replicates.

Why replicates are an argument: every rung scores the same items, so the
analysis draws one set of resampled item ids per replicate and applies it to
every rung (a paired bootstrap). A caller passes those same replicates here,
as integer indices into ``item_ids``, and the corpus metrics share the pairing;
without them a default set is drawn.

Each statistic is computed from per-item sufficient statistics (BLEU's n-gram
counts from sacrebleu, (confidence, correct) pairs, (true, predicted) labels),
weighted by how often a replicate drew each item, which equals running the
BIG-bench function on the resampled list and avoids re-tokenising per replicate.
Everything comes from the stored records, so it is recomputable offline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emergetui.analysis.bootstrap import draw_counts
from emergetui.tasks import bigbench_metrics as bbm

CORPUS_METRICS = bbm.CORPUS_METRICS
DEFAULT_BOOT = 1000


@dataclass(frozen=True)
class CorpusItem:
    """One item's raw material for the corpus metrics (one rung's result on it).

    ``response`` is the BIG-bench post-processed answer (None: nothing generated);
    ``choice_logprobs`` the summed log-likelihood of each choice.
    """

    item_id: str
    targets: tuple[str, ...] = ()
    response: str | None = None
    choices: tuple[str, ...] = ()
    target_scores: tuple[float, ...] = ()
    choice_logprobs: tuple[float, ...] = ()

    @classmethod
    def from_record(cls, rec: Any) -> CorpusItem:
        """From a stored :class:`~emergetui.tasks.records.ItemRecord`.

        Errors give an empty item.
        """
        raw = rec.raw
        lps: tuple[float, ...] = ()
        if not rec.error and rec.choices and len(raw.choice_logprobs) == len(rec.choices):
            if all(raw.choice_logprobs):
                lps = tuple(math.fsum(x) for x in raw.choice_logprobs)
        return cls(
            item_id=str(rec.item_id),
            targets=tuple(rec.targets),
            response=None if rec.error else getattr(raw, "response", None),
            choices=tuple(rec.choices),
            target_scores=tuple(float(s) for s in rec.target_scores),
            choice_logprobs=lps,
        )


@dataclass
class CorpusValue:
    """A rung's corpus statistic: BIG-bench's value on all items and a percentile interval.

    ``replicates`` holds the statistic on each bootstrap replicate (NaN where a
    replicate left it undefined), for paired comparisons between rungs.
    """

    rung: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    note: str = ""
    replicates: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


# --------------------------------------------------------------------------- per-metric atoms


def _bleu_atoms(items: Sequence[CorpusItem]) -> tuple[np.ndarray, np.ndarray] | str:
    ok = np.array([it.response is not None and bool(it.targets) for it in items])
    if not ok.any():
        return "no stored post-processed answers (runs before this version do not keep them)"
    stats = np.zeros((len(items), 10))
    for i, it in enumerate(items):
        if ok[i]:
            assert it.response is not None
            stats[i] = bbm.bleu_stats(it.targets, it.response)
    return stats, ok


def _mc_ok(it: CorpusItem) -> bool:
    return bool(it.choice_logprobs) and len(it.choice_logprobs) == len(it.target_scores)


def _log_prob(it: CorpusItem) -> list[float]:
    # BIG-bench scores choices by normalised log-likelihoods; no BIG-bench 1.0.0 task
    # sets absolute_normalization, and softmax/argmax do not depend on it.
    return bbm.mc_log_probs(it.choice_logprobs)


def _brier_atoms(items: Sequence[CorpusItem]) -> tuple[np.ndarray, np.ndarray] | str:
    ok = np.array([_mc_ok(it) for it in items])
    if not ok.any():
        return "no scored multiple-choice items"
    parts = np.zeros((len(items), 2))
    for i, it in enumerate(items):
        if ok[i]:
            parts[i] = bbm.brier_parts(_log_prob(it), it.target_scores)
    return parts, ok


def _ece_atoms(items: Sequence[CorpusItem]) -> tuple[np.ndarray, np.ndarray] | str:
    ok = np.array([_mc_ok(it) for it in items])
    if not ok.any():
        return "no scored multiple-choice items"
    atoms = np.zeros((len(items), 2))
    for i, it in enumerate(items):
        if ok[i]:
            atoms[i] = bbm.ece_inputs(_log_prob(it), it.target_scores)
    return atoms, ok


def _f1_atoms(items: Sequence[CorpusItem]) -> tuple[list[tuple[str, str]], np.ndarray] | str:
    ok = np.array([_mc_ok(it) for it in items])
    if not ok.any():
        return "no scored multiple-choice items"
    pairs: list[tuple[str, str]] = []
    for i, it in enumerate(items):
        if not ok[i]:
            pairs.append(("", ""))
            continue
        true = bbm.macro_f1_label(it.choices, it.target_scores)
        if true is None:
            return (
                f"item {it.item_id}: macro_f1 needs exactly one choice scored 1 and scores "
                "summing to 1 (BIG-bench raises)"
            )
        pred = it.choices[bbm.bb_argmax(_log_prob(it))]
        pairs.append((true, pred))
    return pairs, ok


# --------------------------------------------------------------------------- statistics


def _point(metric: str, items: Sequence[CorpusItem], atoms: Any, ok: np.ndarray) -> float:
    """BIG-bench's own function on every usable item."""
    idx = np.flatnonzero(ok)
    if metric == "bleu":
        used = [items[i] for i in idx.tolist()]
        return bbm.bleu([it.targets for it in used], [it.response or "" for it in used])
    if metric == "calibration_multiple_choice_brier_score":
        return float(atoms[idx, 0].sum() / atoms[idx, 1].sum())
    if metric == "expected_calibration_error":
        return bbm.expected_calibration_error(list(atoms[idx, 0]), [bool(x) for x in atoms[idx, 1]])
    return bbm.macro_f1([atoms[i][0] for i in idx], [atoms[i][1] for i in idx])


def _weighted(metric: str, atoms: Any, w: np.ndarray) -> np.ndarray:
    """The statistic on every replicate; ``w[b, i]`` = times replicate b drew item i."""
    if metric == "bleu":
        return np.array(
            [bbm.bleu_from_stats(row) if row[0] or row[1] else math.nan for row in w @ atoms]
        )
    if metric == "calibration_multiple_choice_brier_score":
        num, den = w @ atoms[:, 0], w @ atoms[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), math.nan)
    if metric == "expected_calibration_error":
        conf, correct = atoms[:, 0], atoms[:, 1]
        buckets = np.array([_bucket(c) for c in conf])
        n = w.sum(axis=1)
        ece = np.zeros(len(w))
        for k in range(bbm.ECE_BUCKETS):
            mask = (buckets == k).astype(float)
            nk = w @ mask
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.abs((w @ (mask * correct)) - (w @ (mask * conf))) / np.where(nk > 0, nk, 1)
            ece += np.where(nk > 0, nk / np.where(n > 0, n, 1) * gap, 0.0)
        return np.where(n > 0, ece, math.nan)
    pairs: list[tuple[str, str]] = atoms
    labels = sorted({x for p in pairs for x in p if p != ("", "")})
    f1 = np.zeros((len(w), len(labels)))
    present = np.zeros((len(w), len(labels)), dtype=bool)
    for j, lab in enumerate(labels):
        t = np.array([p[0] == lab for p in pairs], dtype=float)
        pr = np.array([p[1] == lab for p in pairs], dtype=float)
        tp, fp, fn = w @ (t * pr), w @ ((1 - t) * pr), w @ (t * (1 - pr))
        denom = 2 * tp + fp + fn
        present[:, j] = (w @ np.maximum(t, pr)) > 0
        f1[:, j] = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            count > 0, (f1 * present).sum(axis=1) / np.where(count > 0, count, 1), math.nan
        )


def _bucket(conf: float) -> int:
    """The bucket BIG-bench's ``_compute_bucket_scores`` puts a confidence in."""
    j = 0
    for j in range(bbm.ECE_BUCKETS):
        if conf < float((j + 1) / bbm.ECE_BUCKETS):
            break
    return j


_ATOMS = {
    "bleu": _bleu_atoms,
    "macro_f1": _f1_atoms,
    "calibration_multiple_choice_brier_score": _brier_atoms,
    "expected_calibration_error": _ece_atoms,
}


def default_replicates(n_items: int, n_boot: int = DEFAULT_BOOT, seed: int = 0) -> np.ndarray:
    """Item-index replicates (``n_boot`` x ``n_items``), drawn with replacement."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(n_boot, n_items)) if n_items else np.zeros((0, 0), int)


def corpus_metric_values(
    rungs: Mapping[str, Sequence[CorpusItem]],
    metrics: Iterable[str],
    replicates: np.ndarray | None = None,
    item_ids: Sequence[str] | None = None,
    *,
    n_boot: int = DEFAULT_BOOT,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, CorpusValue]]:
    """``{rung: {metric: CorpusValue}}`` for every corpus metric in ``metrics``.

    ``replicates[b]`` lists indices into ``item_ids`` (default: the sorted union
    of the rungs' item ids); an index whose item a rung lacks (a failed item)
    is skipped for that rung. Without ``replicates``, :func:`default_replicates`
    with ``n_boot`` and ``seed``.
    """
    wanted = [m for m in metrics if m in _ATOMS]
    ids = (
        list(item_ids)
        if item_ids is not None
        else sorted({it.item_id for items in rungs.values() for it in items})
    )
    pos = {item_id: i for i, item_id in enumerate(ids)}
    if replicates is None:
        reps = default_replicates(len(ids), n_boot, seed)
    else:
        reps = np.asarray(replicates)
    if reps.size and (reps.min() < 0 or reps.max() >= len(ids)):
        raise ValueError(f"replicates index outside item_ids (0..{len(ids) - 1})")
    w = draw_counts(reps, len(ids)) if len(reps) else np.zeros((0, len(ids)))
    alpha = (1 - level) / 2
    out: dict[str, dict[str, CorpusValue]] = {}
    for rung, items in rungs.items():
        aligned = [CorpusItem(item_id) for item_id in ids]
        for it in items:
            if it.item_id in pos:
                aligned[pos[it.item_id]] = it
        out[rung] = {}
        for metric in wanted:
            got = _ATOMS[metric](aligned)
            if isinstance(got, str):
                out[rung][metric] = CorpusValue(rung, metric, math.nan, math.nan, math.nan, 0, got)
                continue
            atoms, ok = got
            value = _point(metric, aligned, atoms, ok)
            dist = _weighted(metric, atoms, w * ok) if len(w) else np.zeros(0)
            finite = dist[np.isfinite(dist)]
            lo, hi = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (math.nan,) * 2
            out[rung][metric] = CorpusValue(
                rung, metric, float(value), float(lo), float(hi), int(ok.sum()), "", dist
            )
    return out
