"""Choice-level quantities of multiple-choice items, recomputed from the stored raw material.

Why these and not the stored ``logprob_correct``: the summed log-probability of the right
option rises with general fluency (larger models give every well-formed option more
probability), so it climbs with size whether or not the model can tell the right option from
the wrong ones. The quantities below compare the options *with each other*, as the grade
does, so a shift shared by every option cancels:

* ``choice_prob_correct``: probability of the right option(s) after the softmax over the
  options' summed log-likelihoods (what a sampler restricted to the options would pick);
* ``choice_logprob_correct``: its log;
* ``choice_margin``: summed log-likelihood of the best right option minus that of the best
  wrong one, the quantity whose sign *is* the multiple-choice grade (positive: the argmax is
  right), so a smooth rise in it is Schaeffer et al.'s mechanism for a sudden-looking grade;
* ``choice_margin_norm``: the same with log-likelihoods per character (the argmax of
  ``mc_grade_norm``).

BIG-bench's Brier score (``brier_sum``) is stored with every row already. With the options
exchangeable at chance, ``choice_prob_correct`` averages exactly ``1/K`` however peaked the
softmax is; the log, the margin and the Brier score move with the softmax's temperature, which
fluency changes, so only the first decides whether the model improves across the grade's
plateau (:mod:`emergetui.analysis.mirage`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emergetui.analysis.curves import Curve, make_curve
from emergetui.analysis.data import RungInfo
from emergetui.tasks.records import ItemRecord

#: The derived choice-level metrics, in the order the mirage test quotes them.
CHOICE_METRICS: tuple[str, ...] = (
    "choice_prob_correct",
    "choice_logprob_correct",
    "choice_margin",
    "choice_margin_norm",
)
#: Which margin carries which grade (its sign is the grade's argmax).
MARGIN_OF = {"multiple_choice_grade": "choice_margin", "mc_grade_norm": "choice_margin_norm"}


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def choice_values(record: ItemRecord) -> dict[str, float]:
    """The choice-level quantities of one stored row (empty when its raw material lacks the
    options' log-probabilities or a right option)."""
    raw = record.raw
    choices, scores = record.choices, record.target_scores
    lps = getattr(raw, "choice_logprobs", None) or []
    if not choices or len(lps) != len(choices) or len(scores) != len(choices):
        return {}
    best = max(scores)
    right = [i for i, s in enumerate(scores) if s == best and best > 0]
    wrong = [i for i in range(len(choices)) if i not in right]
    if not right or not wrong:
        return {}
    sums = [math.fsum(x) for x in lps]
    if not all(math.isfinite(s) for s in sums):
        return {}
    lse = _logsumexp(sums)
    log_right = _logsumexp([sums[i] for i in right]) - lse
    norm = [s / max(len(c), 1) for s, c in zip(sums, choices, strict=True)]
    return {
        "choice_prob_correct": math.exp(log_right),
        "choice_logprob_correct": log_right,
        "choice_margin": max(sums[i] for i in right) - max(sums[i] for i in wrong),
        "choice_margin_norm": max(norm[i] for i in right) - max(norm[i] for i in wrong),
    }


def choice_curves(
    records: Iterable[ItemRecord],
    rungs: Sequence[RungInfo],
    *,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> list[Curve]:
    """One curve per choice-level metric and task setting whose rows carry the options'
    log-probabilities (rows with an error are left out, as in the stored curves)."""
    by_setting: dict[tuple[str, str], list[ItemRecord]] = defaultdict(list)
    for rec in records:
        if rec.error is None and rec.choices:
            by_setting[(rec.task, rec.setting)].append(rec)
    known = {r.label for r in rungs}
    out: list[Curve] = []
    for (task, setting), rows in sorted(by_setting.items()):
        table: dict[str, dict[str, list[tuple[str, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        shots = rows[0].shots
        for rec in rows:
            if rec.rung not in known:
                continue
            for metric, value in choice_values(rec).items():
                table[metric][rec.rung].append((rec.item_id, value))
        for metric in CHOICE_METRICS:
            per_rung = table.get(metric)
            if not per_rung:
                continue
            used = [r for r in rungs if per_rung.get(r.label)]
            if len(used) < 2:
                continue
            out.append(
                make_curve(
                    task,
                    setting,
                    metric,
                    used,
                    [[v for _, v in per_rung[r.label]] for r in used],
                    item_ids=[[i for i, _ in per_rung[r.label]] for r in used],
                    shots=shots,
                    seed=seed,
                    n_boot=n_boot,
                    level=level,
                )
            )
    return out


@dataclass
class OptionTable:
    """Every option's summed log-likelihood per item and rung, for the items scored at every
    rung with the same options: what the mechanism test fits (``sums[i, r, j]``)."""

    task: str
    setting: str
    rungs: list[str]
    log_params: np.ndarray
    sums: np.ndarray
    #: ``right[i, j]``: option ``j`` is a right answer of item ``i``
    right: np.ndarray
    #: ``chars[i, j]``: the option's length in characters (``mc_grade_norm`` divides by it)
    chars: np.ndarray
    item_ids: list[str]


def option_tables(
    records: Iterable[ItemRecord], rungs: Sequence[RungInfo]
) -> dict[tuple[str, str], OptionTable]:
    """One :class:`OptionTable` per multiple-choice task setting (rungs in size order)."""
    order = sorted(rungs, key=lambda r: (r.params, r.label))
    pos = {r.label: i for i, r in enumerate(order)}
    cells: dict[tuple[str, str], dict[str, dict[int, ItemRecord]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for rec in records:
        if rec.error is None and rec.choices and rec.rung in pos:
            cells[(rec.task, rec.setting)][rec.item_id][pos[rec.rung]] = rec
    out: dict[tuple[str, str], OptionTable] = {}
    for key, items in sorted(cells.items()):
        used = sorted({r for per in items.values() for r in per})
        rows, ids, right, chars = [], [], [], []
        for item_id, per in sorted(items.items()):
            if any(r not in per for r in used):
                continue
            first = per[used[0]]
            k = len(first.choices)
            mats = [[math.fsum(x) for x in per[r].raw.choice_logprobs] for r in used]
            if any(len(m) != k or not all(math.isfinite(v) for v in m) for m in mats):
                continue
            best = max(first.target_scores) if len(first.target_scores) == k else 0.0
            if best <= 0:
                continue
            rows.append(mats)
            ids.append(item_id)
            right.append([s == best for s in first.target_scores])
            chars.append([max(len(c), 1) for c in first.choices])
        ks = {len(r) for r in right}
        if len(rows) < 2 or len(used) < 3 or len(ks) != 1:
            continue
        out[key] = OptionTable(
            task=key[0],
            setting=key[1],
            rungs=[order[r].label for r in used],
            log_params=np.log10([float(order[r].params) for r in used]),
            sums=np.array(rows, dtype=float),
            right=np.array(right, dtype=bool),
            chars=np.array(chars, dtype=float),
            item_ids=ids,
        )
    return out
