"""The verdict benchmark's classes at real ladder spacings (issue 26).

Real ladders (parameter counts as published): Qwen2.5 0.5-72B (7 rungs),
Pythia 70M-12B (8), Gemma 3 270M-27B (5), Llama 2 7/13/70B (3). Items are
drawn with a Gaussian copula: item ``i`` knows the answer at rung ``r``
when ``Phi(rho z_i + sqrt(1 - rho^2) e_ir) < q_r``, so the rung's mean is
exactly ``q_r`` (the truth is known to the percent, which the boundary class
needs) and items share their difficulty across rungs (``rho = 0.7``, so
pairing matters); a multiple-choice item that does not know guesses
(chance 0.25). Classes, each with what the rule must do:

* ``removal``: logistic rises 0.05-1.5 decades wide (10-90%) anywhere in the
  ladder, judged on the full ladder and with each rung removed in turn:
  ``smooth`` never turns ``emergent`` or back (>= 95% of removals keep
  their verdict or move to or from ``inconclusive``);
* ``bound``: a rise exactly at the rule's bound: one rung exactly at the 15%
  (or 85%) point of the rise, none inside it, >= 2 plateau rungs at chance:
  ``emergent`` <= 5% on every ladder;
* ``partial``: a plateau at chance, a peak, then >= 40% of the peak lost
  (4 rungs: 0, 0, 0.6, 0.3): not ``emergent`` >= 90%;
* ``constant``: a level above chance that does not move (0.35 with chance
  0.25; exact match 0.5% with chance 0): ``does-not-scale`` >= 90%;
* ``same_size``: a second file at one rung's size (a quant a little worse,
  or an instruct model a little better): warned 100%, never a rung of the fit;
* ``small_n`` (20-50 items) and ``few_rungs`` (3-4 rungs): sharp rises after
  a plateau at chance and smooth rises, so false ``emergent`` is seen where
  data are thinnest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from emergetui.analysis.curves import Curve, make_curve
from emergetui.analysis.data import RungInfo
from emergetui.analysis.emergence import Verdict, verdict

LADDERS: dict[str, list[float]] = {
    "qwen2.5": [0.5e9, 1.5e9, 3e9, 7e9, 14e9, 32e9, 72e9],
    "pythia": [70e6, 160e6, 410e6, 1e9, 1.4e9, 2.8e9, 6.9e9, 12e9],
    "gemma3": [270e6, 1e9, 4e9, 12e9, 27e9],
    "llama2": [7e9, 13e9, 70e9],
}
SIZES = (20, 30, 50, 100, 200, 500, 1000)
#: 10-90% span per unit of logistic scale, and the 15-85% one.
SPAN = 2.0 * math.log(9.0)
BAND_SPAN = 2.0 * math.log(0.85 / 0.15)
RHO = 0.7


@dataclass
class Outcome:
    """One case: its class, ladder, items, and what the rule said."""

    cls: str
    ladder: str
    n_items: int
    n_rungs: int
    label: str
    extra: dict[str, object] = field(default_factory=dict)


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def draw(rng: np.random.Generator, q: np.ndarray, n: int, chance: float) -> list[np.ndarray]:
    """Per-item 0/1 outcomes whose rung means are exactly ``q + (1 - q) chance`` in expectation."""
    z = rng.normal(size=n)
    out = []
    for qr in np.clip(q, 0.0, 1.0):
        u = norm.cdf(RHO * z + math.sqrt(1 - RHO * RHO) * rng.normal(size=n))
        knows = u < qr
        guess = rng.random(n) < chance
        out.append((knows | guess).astype(float))
    return out


def judge(
    params: list[float], vals: list[np.ndarray], chance: float, seed: int, labels=None
) -> tuple[Verdict, Curve]:
    names = labels or [f"r{i}" for i in range(len(params))]
    rungs = [RungInfo(nm, int(p)) for nm, p in zip(names, params, strict=True)]
    metric = "multiple_choice_grade" if chance > 0 else "exact_match"
    c = make_curve("t", "s", metric, rungs, vals, chance=chance, seed=seed, n_boot=1000)
    return verdict(c), c


def _pick(rng: np.random.Generator) -> tuple[str, np.ndarray]:
    name = str(rng.choice(list(LADDERS)))
    return name, np.log10(np.array(LADDERS[name]))


def removal(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    while x.size < 4:
        name, x = _pick(rng)
    n = int(rng.choice(SIZES))
    chance = float(rng.choice([0.0, 0.25]))
    span = float(rng.uniform(0.05, 1.5))
    mid = float(rng.uniform(x[1], x[-1]))
    top = float(rng.uniform(0.6, 0.95))
    q = top * _sig((x - mid) / (span / SPAN))
    vals = draw(rng, q, n, chance)
    full, _ = judge(list(10**x), vals, chance, seed)
    moved = []
    for k in range(x.size):
        keep = [i for i in range(x.size) if i != k]
        v, _ = judge([10 ** x[i] for i in keep], [vals[i] for i in keep], chance, seed)
        moved.append(v.label)
    return Outcome("removal", name, n, x.size, full.label, {"removed": moved})


def bound(rng: np.random.Generator, seed: int, ladder: str | None = None) -> Outcome:
    name, x = (ladder, np.log10(np.array(LADDERS[ladder]))) if ladder else _pick(rng)
    n = int(rng.choice(SIZES))
    chance = float(rng.choice([0.0, 0.25]))
    k = int(rng.integers(2, x.size))  # the rise lies between x[k-1] and x[k]
    gap = float(x[k] - x[k - 1])
    s = float(rng.uniform(0.3, 0.97)) * gap / BAND_SPAN
    if rng.random() < 0.5:  # x[k] exactly at 85%
        mid = float(x[k]) - s * math.log(0.85 / 0.15)
    else:  # x[k-1] exactly at 15%
        mid = float(x[k - 1]) + s * math.log(0.85 / 0.15)
    top = float(rng.uniform(0.6, 1.0))
    q = top * _sig((x - mid) / s)
    v, _ = judge(list(10**x), draw(rng, q, n, chance), chance, seed)
    return Outcome("bound", name, n, x.size, v.label)


def partial(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    while x.size < 4:
        name, x = _pick(rng)
    if rng.random() < 0.5:  # a 4-rung ladder: a stretch of the real one
        start = int(rng.integers(0, x.size - 3))
        x = x[start : start + 4]
    n = int(rng.choice(SIZES))
    chance = float(rng.choice([0.0, 0.25]))
    k = int(rng.integers(2, x.size - 1))  # the peak rung: >= 2 before it, >= 1 after
    peak = float(rng.uniform(0.4, 0.9))
    q = np.zeros(x.size)
    q[k] = peak
    q[k + 1 :] = peak * (1.0 - rng.uniform(0.4, 1.0))
    v, _ = judge(list(10**x), draw(rng, q, n, chance), chance, seed)
    return Outcome("partial", name, n, x.size, v.label)


def constant(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    n = int(rng.choice(SIZES))
    if rng.random() < 0.5:
        chance, q = 0.25, float(rng.uniform(0.05, 0.5))  # accuracy 0.29-0.63
    else:
        chance, q = 0.0, float(rng.choice([0.005, 0.02, 0.1, 0.3]))
    v, c = judge(list(10**x), draw(rng, np.full(x.size, q), n, chance), chance, seed)
    return Outcome("constant", name, n, x.size, v.label, {"seen": bool(v.above and any(v.above))})


def same_size(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    n = int(rng.choice(SIZES))
    chance = float(rng.choice([0.0, 0.25]))
    mid = float(rng.uniform(x[0], x[-1]))
    q = 0.85 * _sig((x - mid) / (rng.uniform(0.05, 1.2) / SPAN))
    d = int(rng.integers(0, x.size))
    shift = float(rng.uniform(-0.15, -0.02) if rng.random() < 0.5 else rng.uniform(0.02, 0.15))
    q_all = np.concatenate([q, [min(max(q[d] + shift, 0.0), 1.0)]])
    params = [*list(10**x), 10 ** x[d]]
    labels = [f"r{i}" for i in range(x.size)] + [f"r{d}-other"]
    v, _ = judge(params, draw(rng, q_all, n, chance), chance, seed, labels)
    distinct = len({round(float(p)) for p in params})
    counted = len(v.fit_rungs) > distinct or "inf" in v.reason
    return Outcome(
        "same_size",
        name,
        n,
        x.size,
        v.label,
        {"warned": bool(v.warnings), "counted": counted},
    )


def _sharp_or_smooth(rng: np.random.Generator, x: np.ndarray) -> tuple[np.ndarray, str]:
    """A sharp rise after >= 2 plateau rungs (truth ``sharp``) or a wide one (``smooth``)."""
    top = float(rng.uniform(0.6, 0.95))
    if rng.random() < 0.5 and x.size >= 3:
        k = int(rng.integers(2, x.size))
        gap = float(x[k] - x[k - 1])
        s = float(rng.uniform(0.05, 0.6)) * gap / BAND_SPAN
        mid = float(rng.uniform(x[k - 1] + 0.3 * gap, x[k] - 0.3 * gap))
        return top * _sig((x - mid) / s), "sharp"
    span = float(rng.uniform(3.0, 6.0)) * float(np.diff(x).max())
    mid = float(rng.uniform(x[0], x[-1]))
    return top * _sig((x - mid) / (span / SPAN)), "smooth"


def small_n(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    n = int(rng.choice([20, 30, 50]))
    chance = float(rng.choice([0.0, 0.25]))
    q, truth = _sharp_or_smooth(rng, x)
    v, _ = judge(list(10**x), draw(rng, q, n, chance), chance, seed)
    return Outcome("small_n", name, n, x.size, v.label, {"truth": truth})


def few_rungs(rng: np.random.Generator, seed: int) -> Outcome:
    name, x = _pick(rng)
    if x.size > 4:
        r = int(rng.integers(3, 5))
        idx = np.sort(rng.choice(x.size, r, replace=False))
        x = x[idx]
    n = int(rng.choice(SIZES))
    chance = float(rng.choice([0.0, 0.25]))
    q, truth = _sharp_or_smooth(rng, x)
    v, _ = judge(list(10**x), draw(rng, q, n, chance), chance, seed)
    return Outcome("few_rungs", name, n, x.size, v.label, {"truth": truth})


CLASSES: dict[str, Callable[[np.random.Generator, int], Outcome]] = {
    "removal": removal,
    "bound": bound,
    "partial": partial,
    "constant": constant,
    "same_size": same_size,
    "small_n": small_n,
    "few_rungs": few_rungs,
}


def _rate(k: int, n: int) -> str:
    from emergetui.analysis.bootstrap import wilson_interval

    if n == 0:
        return "n/a"
    lo, hi = wilson_interval(k, n)
    return f"{k / n:6.1%} [{lo:.0%}-{hi:.0%}] ({k}/{n})"


def _counts(group: list[Outcome]) -> str:
    from collections import Counter

    return ", ".join(f"{k}={v}" for k, v in Counter(o.label for o in group).most_common())


def run(
    cases: int, seed: int, bound_cases: int | None = None, only: list[str] | None = None
) -> dict[str, float]:
    """Run every class (``bound``: ``bound_cases`` per ladder, default ``cases``) and print
    the targets; ``only`` restricts the classes. Returns the rates."""
    out: dict[str, list[Outcome]] = {cls: [] for cls in CLASSES}
    for i, (cls, fn) in enumerate(CLASSES.items()):
        if only and cls not in only:
            continue
        if cls == "bound":
            group = []
            for j, ladder in enumerate(LADDERS):
                for c in range(bound_cases or cases):
                    rng = np.random.default_rng([seed, 26, i, j, c])
                    group.append(bound(rng, seed=c, ladder=ladder))
            out[cls] = group
            continue
        out[cls] = [fn(np.random.default_rng([seed, 26, i, c]), c) for c in range(cases)]
    rates: dict[str, float] = {}
    print("\nReal ladder spacings (Qwen2.5, Pythia, Gemma 3, Llama 2), 20-1000 items")
    _report(out, rates)
    met = (
        rates.get("removal_ok", 1.0) >= 0.95
        and all(rates.get(f"bound_{x}", 0.0) <= 0.05 for x in LADDERS)
        and rates.get("partial_not_emergent", 1.0) >= 0.9
        and rates.get("constant_seen", 1.0) >= 0.9
        and rates.get("same_size_warned", 1.0) == 1.0
        and rates.get("same_size_counted", 0.0) == 0.0
    )
    print("  real-ladder targets met" if met else "  real-ladder targets NOT met")
    return rates


def _report(out: dict[str, list[Outcome]], rates: dict[str, float]) -> None:
    if rem := out["removal"]:
        pairs = [(o.label, m) for o in rem for m in o.extra["removed"]]  # type: ignore[attr-defined]
        opposite = {("smooth", "emergent"), ("emergent", "smooth")}
        flips = sum((a, b) in opposite for a, b in pairs)
        keep = sum(a == b or "inconclusive" in (a, b) for a, b in pairs)
        rates["removal_ok"] = 1 - flips / max(len(pairs), 1)
        print(f"  removal    full-ladder verdicts: {_counts(rem)}")
        print(f"             smooth<->emergent flips: {_rate(flips, len(pairs))} of removals")
        print(f"             kept or to/from inconclusive: {_rate(keep, len(pairs))}")
    for ladder in LADDERS:
        if g := [o for o in out["bound"] if o.ladder == ladder]:
            k = sum(o.label == "emergent" for o in g)
            rates[f"bound_{ladder}"] = k / len(g)
            print(f"  bound      {ladder:<8} emergent {_rate(k, len(g))}; {_counts(g)}")
    if g := out["partial"]:
        k = sum(o.label != "emergent" for o in g)
        rates["partial_not_emergent"] = k / len(g)
        print(f"  partial    not emergent {_rate(k, len(g))}; {_counts(g)}")
        small = [o for o in g if o.n_items <= 50]
        k_small = sum(o.label != "emergent" for o in small)
        print(f"             20-50 items: not emergent {_rate(k_small, len(small))}")
    if g := out["constant"]:
        k = sum(o.label == "does-not-scale" for o in g)
        rates["constant"] = k / len(g)
        print(f"  constant   does-not-scale {_rate(k, len(g))}; {_counts(g)}")
        seen = [o for o in g if o.extra["seen"]]
        k_seen = sum(o.label == "does-not-scale" for o in seen)
        rates["constant_seen"] = k_seen / max(len(seen), 1)
        print(
            f"             where some rung is seen above chance (the target): "
            f"{_rate(k_seen, len(seen))}; the rest are all at chance in the data: flat"
        )
    if g := out["same_size"]:
        warned = sum(bool(o.extra["warned"]) for o in g)
        counted = sum(bool(o.extra["counted"]) for o in g)
        rates["same_size_warned"] = warned / len(g)
        rates["same_size_counted"] = counted / len(g)
        n = len(g)
        print(f"  same_size  warned {_rate(warned, n)}; counted as a rung {_rate(counted, n)}")
    for cls in ("small_n", "few_rungs"):
        for truth in ("sharp", "smooth"):
            if sub := [o for o in out[cls] if o.extra["truth"] == truth]:
                em = sum(o.label == "emergent" for o in sub)
                print(
                    f"  {cls:<10} truth {truth:<6} emergent {_rate(em, len(sub))}; {_counts(sub)}"
                )
                rates[f"{cls}_{truth}_emergent"] = em / len(sub)
