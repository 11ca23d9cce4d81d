"""The verdict benchmark: simulated ladders whose truth is known, judged by the analysis.

Classes (what a researcher would call them):

* ``flat``: every rung at chance;
* ``smooth``: a gradual rise, either a power law in the error
  (``1 - q ~ N^-alpha``) or a logistic in log10(N); clear-cut when its
  10%-90% span is at least 3 of the widest rung gaps and it rises by >= 0.3;
* ``sharp``: a threshold in every metric (accuracy and per-token
  log-likelihood jump together, 10%-90% within 0.02-0.3 of the gap between
  two rungs, after >= 2 plateau rungs);
  expected verdict ``emergent`` and mirage test ``survives``;
* ``mirage``: Schaeffer et al. (2023): per-token loss a smooth power law
  in N (2-5 nats at the smallest rung), so the per-token probability
  ``p = exp(-loss)`` improves smoothly; answers of L = 5..10 tokens,
  exact match = every token right (all-or-nothing), per-token log-probs
  and token edit distance available;
  expected mirage test ``mirage``; clear-cut when exact match *looks*
  emergent at the ladder's resolution (its expected 10%-90% rise within 2
  gaps, >= 2 rungs before it), otherwise the honest call for exact match
  is smooth or inconclusive and nothing needs explaining away;
* ``spike``: a rise that falls back; expected ``non-monotone``;
* ``plateau_jump``: a plateau above chance, then a sharp jump; expected
  ``step`` (a step up from a raised plateau is not emergence from chance).

Ladders: 4..10 rungs, uneven gaps, 50..1000 items, chance 0 and 0.25,
item difficulty shared by all rungs (so pairing matters). Run::

    python benchmarks/verdicts.py --cases 100 --seed 0

It prints a confusion matrix per class, the share correct (with its 95%
Wilson interval: a class of 100 cases pins a rate only to about +-6 points)
on the clear-cut cases with >= 5 rungs and >= 200 items (the targets: >= 90%
in every class, false ``emergent`` on flat and smooth <= 5%, mirage
recognised >= 90%), and the same on all cases. Clear-cut mirage ladders are
a small share of random ones, so ``--mirage-clear`` (default 100) adds
ladders drawn from the clear-cut region until the targets hold that many;
sharp and plateau-then-jump cases are also split by whether the jump is
into the last rung (its top then seen at one rung only, and a small jump
with room above it cannot be told from the start of a gradual rise).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emergetui.analysis.bootstrap import wilson_interval  # noqa: E402
from emergetui.analysis.curves import make_curve  # noqa: E402
from emergetui.analysis.data import RungInfo  # noqa: E402
from emergetui.analysis.emergence import verdict  # noqa: E402
from emergetui.analysis.mirage import mirage_test  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verdict_classes  # noqa: E402

CLASSES = ("flat", "smooth", "sharp", "mirage", "spike", "plateau_jump")
EXPECTED = {
    "flat": "flat",
    "smooth": "smooth",
    "sharp": "emergent",
    "mirage": "mirage",
    "spike": "non-monotone",
    "plateau_jump": "step",
}
SPAN = 2.0 * math.log(9.0)


@dataclass
class Case:
    cls: str
    n_rungs: int
    n_items: int
    chance: float
    clear: bool
    label: str
    mirage: str | None
    #: sharp and plateau_jump: the jump is into the last rung (its top seen at one rung only)
    at_end: bool = False


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def _ladder(rng: np.random.Generator, n: int, lo: float = 0.3, hi: float = 1.2) -> np.ndarray:
    return 7.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(lo, hi, n - 1))])


def _binary(rng: np.random.Generator, q: np.ndarray, n: int, chance: float) -> list[np.ndarray]:
    """Per-item 0/1, item difficulty shared: item i knows at rung r w.p. sigma(logit q_r - z_i)."""
    z = rng.normal(0.0, 1.2, n)
    out = []
    for qr in q:
        qr = min(max(qr, 0.0), 1.0)
        p = (
            np.zeros(n)
            if qr <= 0
            else (np.ones(n) if qr >= 1 else _sig(math.log(qr / (1 - qr)) - z))
        )
        knows = rng.random(n) < p
        guess = rng.random(n) < chance
        out.append((knows | guess).astype(float))
    return out


def _judge(
    x: np.ndarray, metrics: dict[str, list[np.ndarray]], chance: dict[str, float | None], seed: int
) -> tuple[dict[str, str], str]:
    rungs = [RungInfo(f"r{i}", int(round(10**v))) for i, v in enumerate(x)]
    curves = [
        make_curve("t", "s", m, rungs, vals, chance=chance.get(m), seed=seed, n_boot=1000)
        for m, vals in metrics.items()
    ]
    verdicts = {c.key: verdict(c) for c in curves}
    (res,) = mirage_test(curves, verdicts)
    return {c.metric: verdicts[c.key].label for c in curves}, res.outcome


def _mirage_ladder(
    rng: np.random.Generator, r: int
) -> tuple[np.ndarray, float, float, float, bool]:
    """Rungs and per-token loss law of a mirage case: ``(x, loss_first, alpha, m, clear)``.

    Clear-cut: the expected exact-match rise (10-90%: 1.34/alpha decades)
    fits in 2 gaps around its midpoint ``m``, and >= 2 rungs sit before its
    10% point, so exact match *looks* emergent at the ladder's resolution.
    """
    x = _ladder(rng, r, 0.7, 2.0)
    gaps = np.diff(x)
    loss_first = rng.uniform(2.0, 5.0)  # nats per token at the smallest rung
    loss_last = rng.uniform(0.003, 0.03)
    alpha = math.log10(loss_first / loss_last) / (x[-1] - x[0])
    m = x[0] + math.log10(loss_first / (math.log(2) / 7.5)) / alpha  # exact match ~ 1/2
    em_span = math.log10(math.log(0.1) / math.log(0.9)) / alpha
    gap = gaps[min(max(int(np.searchsorted(x, m)) - 1, 0), r - 2)]
    clear = em_span <= 2.0 * gap and int(np.sum(x < m - em_span / 2)) >= 2 and m < x[-1]
    return x, loss_first, alpha, m, clear


def _mirage(rng: np.random.Generator, r: int, n: int, seed: int, clear_only: bool = False) -> Case:
    """Schaeffer et al. (2023): per-token loss a smooth power law in N, answers of
    5-10 tokens, exact match = every token right; per-token log-probs, P(correct)
    and token edit distance on the same outputs.

    ``clear_only`` redraws the ladder until the case is clear-cut (with >= 5
    rungs and >= 200 items): the clear-cut region is a small share of random
    ladders, and the target needs enough of them to be measured.
    """
    x, loss_first, alpha, m, clear = _mirage_ladder(rng, r)
    while clear_only and not clear:
        r = int(rng.integers(5, 11))
        n = int(rng.choice([200, 500, 1000]))
        x, loss_first, alpha, m, clear = _mirage_ladder(rng, r)
    lengths = rng.integers(5, 11, n)
    diff = rng.lognormal(0.0, 0.3, n)
    u = rng.random((n, 10))  # shared per item and token: the same draw at every rung
    mask = np.arange(10)[None, :] < lengths[:, None]
    em, lp, ed, pc = [], [], [], []
    for xr in x:
        loss = loss_first * 10 ** (-alpha * (xr - x[0])) * diff  # per item
        logp = -loss[:, None] * rng.gamma(8.0, 1 / 8.0, (n, 10))
        right = (u < np.exp(logp)) | ~mask
        em.append(right.all(axis=1).astype(float))
        total = (logp * mask).sum(axis=1)
        lp.append(total / lengths)
        pc.append(np.exp(total))
        ed.append((~right).sum(axis=1).astype(float))
    metrics = {
        "exact_match": em,
        "prob_correct": pc,
        "logprob_correct_mean": lp,
        "token_edit_distance": ed,
    }
    labels, outcome = _judge(x, metrics, {"exact_match": 0.0}, seed)
    return Case("mirage", r, n, 0.0, clear, labels["exact_match"], outcome)


def simulate(cls: str, rng: np.random.Generator, seed: int) -> Case:
    r = int(rng.integers(4, 11))
    n = int(rng.choice([50, 100, 200, 500, 1000]))
    chance = float(rng.choice([0.0, 0.25]))
    x = _ladder(rng, r)
    gaps = np.diff(x)
    clear = True
    at_end = False
    primary = "multiple_choice_grade"
    extra: dict[str, list[np.ndarray]] = {}
    if cls == "flat":
        q = np.zeros(r)
    elif cls == "smooth":
        if rng.random() < 0.5:
            alpha = rng.uniform(0.15, 0.5)
            x0 = x[0] - rng.uniform(0.05, 0.6)
            q = 0.95 * (1.0 - 10 ** (-alpha * (x - x0)))
            # clear-cut: rises by >= 0.3 and its 10-90% span (0.954 / alpha decades from the
            # power law's start) is >= 3 of the widest rung gaps, well clear of the 2-gap bound
            clear = q[-1] - q[0] >= 0.3 and 0.954 / alpha >= 3.0 * gaps.max()
        else:
            span = rng.uniform(3.0, 6.0) * gaps.max()
            m = rng.uniform(x[1], x[-2]) if r > 3 else x.mean()
            q = 0.9 * _sig((x - m) / (span / SPAN))
            clear = q[-1] - q[0] >= 0.3
    elif cls in ("sharp", "plateau_jump"):
        k = int(rng.integers(2, r))  # transition between x[k-1] and x[k]: >= 2 rungs before
        at_end = k == r - 1
        span = rng.uniform(0.02, 0.3) * gaps[k - 1]
        m = rng.uniform(x[k - 1] + span / 2, x[k] - span / 2)
        top = rng.uniform(0.6, 0.95)
        base = rng.uniform(0.2, 0.4) if cls == "plateau_jump" else 0.0
        q = base + (top - base) * _sig((x - m) / (span / SPAN))
        if cls == "sharp":
            z = rng.normal(0, 0.3, n)
            lp = [
                -(2.5 - 2.2 * _sig((xr - m) / (span / SPAN))) + z + rng.normal(0, 0.3, n)
                for xr in x
            ]
            extra["logprob_correct_mean"] = lp
    elif cls == "spike":
        k = int(rng.integers(1, r - 1))
        q = np.zeros(r)
        q[k] = rng.uniform(0.4, 0.8)
        after = rng.uniform(0.0, 0.25) * q[k]
        q[k + 1 :] = after
        if rng.random() < 0.3 and r - k > 2:
            q[-1] = rng.uniform(0.5, 0.9)  # falls back, then rises again
    else:
        return _mirage(rng, r, n, seed)
    metrics = {primary: _binary(rng, q, n, chance), **extra}
    labels, outcome = _judge(x, metrics, {primary: chance}, seed)
    return Case(cls, r, n, chance, clear, labels[primary], outcome, at_end)


def verdict_of(case: Case) -> str:
    """What is compared with the class's expected label."""
    return case.mirage if case.cls == "mirage" else case.label


def report(cases: list[Case], title: str) -> dict[str, float]:
    print(f"\n{title}: {len(cases)} cases")
    labels = [
        "flat",
        "does-not-scale",
        "smooth",
        "emergent",
        "step",
        "non-monotone",
        "inconclusive",
    ]
    outcomes = ["mirage", "survives", "mixed", "inconclusive", "n/a"]
    correct: dict[str, float] = {}
    for cls in CLASSES:
        group = [c for c in cases if c.cls == cls]
        if not group:
            continue
        cols = outcomes if cls == "mirage" else labels
        count = Counter(verdict_of(c) for c in group)
        ok = count[EXPECTED[cls]] / len(group)
        correct[cls] = ok
        cells = "  ".join(f"{k}={count[k]:<4d}" for k in cols)
        lo, hi = wilson_interval(count[EXPECTED[cls]], len(group))
        print(f"  {cls:<13} n={len(group):<4d} correct {ok:6.1%} [{lo:.0%}-{hi:.0%}]  {cells}")
        if cls in ("sharp", "plateau_jump"):
            for end, what in ((True, "into the last rung"), (False, "before the last rung")):
                sub = [c for c in group if c.at_end == end]
                if sub:
                    hit = sum(verdict_of(c) == EXPECTED[cls] for c in sub) / len(sub)
                    print(f"  {'':<13} jump {what}: {hit:.1%} correct ({len(sub)} cases)")
        if cls == "sharp":
            mc = Counter(c.mirage for c in group)
            print(
                f"  {'':<13} mirage test: survives {mc['survives'] / len(group):.1%} "
                f"({', '.join(f'{k}={v}' for k, v in mc.most_common())})"
            )
        if cls == "mirage":
            em = Counter(c.label for c in group)
            print(
                f"  {'':<13} exact-match verdicts: "
                + ", ".join(f"{k}={v}" for k, v in em.most_common())
            )
            seen = [c for c in group if c.mirage != "n/a"]
            if seen:
                rate = sum(c.mirage == "mirage" for c in seen) / len(seen)
                print(
                    f"  {'':<13} mirage where a nonlinear metric looks emergent: {rate:.1%} "
                    f"({len(seen)} cases)"
                )
            safe = sum(c.mirage == "mirage" or c.label != "emergent" for c in group) / len(group)
            print(
                f"  {'':<13} no unflagged emergence claim (mirage, or exact match not "
                f"emergent): {safe:.1%}"
            )
    null = [c for c in cases if c.cls in ("flat", "smooth")]
    if null:
        rate = sum(c.label == "emergent" for c in null) / len(null)
        correct["false_emergent"] = rate
        print(f"  false 'emergent' on flat and smooth: {rate:.1%} ({len(null)} cases)")
    return correct


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=150, help="cases per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--mirage-clear",
        type=int,
        default=100,
        help="add clear-cut mirage ladders until the target set holds this many",
    )
    ap.add_argument(
        "--only",
        choices=("all", "classic", "real"),
        default="all",
        help="classic: random ladders (4-10 rungs); real: the classes at real ladder spacings",
    )
    ap.add_argument("--bound-cases", type=int, default=None, help="boundary cases per real ladder")
    ap.add_argument(
        "--classes",
        default="",
        help="comma-separated real-ladder classes to run (default: all of "
        + ", ".join(verdict_classes.CLASSES)
        + ")",
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    only = [c for c in args.classes.split(",") if c] or None
    if args.only == "real":
        verdict_classes.run(args.cases, args.seed, args.bound_cases, only)
        print(f"\njudged in {time.process_time():.0f} s of CPU")
        return 0
    cases: list[Case] = []
    by_cls: dict[str, int] = defaultdict(int)
    for i in range(args.cases * len(CLASSES)):
        cls = CLASSES[i % len(CLASSES)]
        rng = np.random.default_rng([args.seed, i])
        cases.append(simulate(cls, rng, seed=i))
        by_cls[cls] += 1
    target = [c for c in cases if c.clear and c.n_rungs >= 5 and c.n_items >= 200]
    extra = 0
    while sum(c.cls == "mirage" for c in target) < args.mirage_clear:
        rng = np.random.default_rng([args.seed, 1_000_000 + extra])
        r, n = int(rng.integers(5, 11)), int(rng.choice([200, 500, 1000]))
        target.append(_mirage(rng, r, n, seed=1_000_000 + extra, clear_only=True))
        extra += 1
    secs = time.perf_counter() - t0
    res = report(target, "Clear-cut cases with >= 5 rungs and >= 200 items (the targets)")
    report(cases, "All cases (4-10 rungs, 50-1000 items, clear-cut or not)")
    print(
        f"\n{len(cases) + extra} ladders judged in {secs:.0f} s ({extra} of them clear-cut "
        "mirage ladders added to the targets)"
    )
    met = all(res.get(c, 1.0) >= 0.9 for c in CLASSES) and res.get("false_emergent", 0) <= 0.05
    print("targets met" if met else "targets NOT met")
    if args.only == "all":
        verdict_classes.run(args.cases, args.seed, args.bound_cases, only)
    print(f"\n{time.process_time():.0f} s of CPU in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
