"""The mechanism benchmark: the mirage test, in-context learning and loss-to-ability on
simulated ladders whose truth is known, at the spacings of real ladders.

Each case simulates per-item raw material in the form the store holds it (options' per-token
log-probabilities; target tokens' log-probabilities and greedy flags and the generated text),
turns it into metrics with the tasks package's own ``item_metrics``, and runs the real
analysis (``emergetui.analysis.analyze``) on the rows. Ladders: Qwen2.5 0.5-72B (7 rungs),
Pythia 70M-12B (8), Gemma 3 270M-27B (5), Llama 2 7/13/70B (3); 20-1000 items.

Classes and targets:

* ``mc_jump``: choice-level emergence under a fluency trend -- every option's nats fall by
  0.05-0.15 decades per decade of params, the grade sits at chance, then the right option
  gains 5-25 nats within 0.02-0.3 of one rung gap (>= 2 rungs before it). Target: mirage test
  ``survives`` >= 90% where the grade is emergent.
* ``mc_mirage``: Schaeffer et al. for multiple choice -- every option's nats a power law in
  size (fluency as above), the right option's falling faster, options alike in cost, so the
  grade turns over quickly. Target: ``mirage`` >= 90% where the grade is emergent.
* ``gen_mirage``: Schaeffer et al. for generation -- per-token loss a power law, answers of
  5-10 tokens, exact match all-or-nothing. Target: ``mirage`` >= 90% where exact match is
  emergent.
* ``gen_jump``: a real generative jump (per-token loss steps down with exact match).
  Expected ``survives``.
* ``icl_constant``: the gain from examples the same at every size (+0.1..+0.25 over a 0-shot
  curve that rises smoothly). Target: "appears with scale" <= 5%.
* ``icl_growing``: a gain growing linearly in log size from 0 to +0.15..+0.4. Target: the
  growth detected >= 80% at >= 300 items.
* ``loss_onset``: ability at chance down to a loss threshold, then rising linearly as the
  loss falls (Du et al.), losses falling linearly in log size. Target: the printed onset's
  interval covers the true threshold >= 90% at every n.

Run::

    python benchmarks/verdicts_mechanisms.py --cases 20 --seed 0

``--cases`` is per class (spread over ladders and item counts in turn); every rate comes with
its 95% Wilson interval. The analysis uses 400 bootstrap replicates here (the default is
1000) to keep the run to minutes.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mechanism_sims import (  # noqa: E402
    LADDERS,
    _sig,
    binary_records,
    correlated_uniforms,
    generation_records,
    mc_records,
    rungs_for,
)

from emergetui.analysis import AnalysisConfig, analyze  # noqa: E402
from emergetui.analysis.bootstrap import wilson_interval  # noqa: E402

CFG = AnalysisConfig(n_boot=400)
NAMES = list(LADDERS)
SIZES = [20, 50, 100, 300, 1000]


def _x(rungs: list) -> np.ndarray:
    return np.log10([r.params for r in rungs])


def _jump_place(rng: np.random.Generator, x: np.ndarray, first: int = 2) -> tuple[float, float]:
    """A rise between two rungs with >= ``first`` rungs before it: (midpoint, gap)."""
    k = int(rng.integers(first, x.size)) if x.size > first else x.size - 1
    gap = float(x[k] - x[k - 1])
    return float(rng.uniform(x[k - 1] + 0.35 * gap, x[k] - 0.35 * gap)), gap


def mc_jump(rng: np.random.Generator, ladder: str, n: int) -> dict:
    rungs = rungs_for(ladder)
    x = _x(rungs)
    m, gap = _jump_place(rng, x)
    s = rng.uniform(0.02, 0.3) * gap / 4.39
    adv = rng.uniform(5, 25, n)[:, None] * _sig((x[None, :] - m) / s)
    rows = mc_records(rng, rungs, n, adv, k_fluency=rng.uniform(0.05, 0.15))
    a = analyze(rows, rungs, seed=0, config=CFG)
    return {"outcome": a.mirage_for("mc", "shots=0").outcome}


def mc_mirage(rng: np.random.Generator, ladder: str, n: int) -> dict:
    rungs = rungs_for(ladder)
    x = _x(rungs)
    m, gap = _jump_place(rng, x)
    # the grade turns when the right option's nats drop below the cheapest wrong one's; with
    # per-token costs within +-5% that takes log10(1.2) decades of the ratio: a power law
    # with exponent alpha turns the grade over in about 0.16 / alpha decades
    alpha = 0.16 / (rng.uniform(0.8, 1.6) * gap)
    shift = rng.normal(0.0, 0.03, n)
    scale = 10 ** (-alpha * (x[None, :] - m - shift[:, None]))
    tokens_alike = mc_records(
        rng,
        rungs,
        n,
        None,
        k_fluency=rng.uniform(0.05, 0.15),
        correct_scale=scale,
        per_token=(2.4, 2.6),
    )
    a = analyze(tokens_alike, rungs, seed=0, config=CFG)
    return {"outcome": a.mirage_for("mc", "shots=0").outcome}


def _gen(rng: np.random.Generator, ladder: str, n: int, jump: bool) -> dict:
    rungs = rungs_for(ladder)
    x = _x(rungs)
    lengths = rng.integers(5, 11, n)
    diff = rng.lognormal(0.0, 0.3, n)
    m, gap = _jump_place(rng, x)
    if jump:
        s = rng.uniform(0.02, 0.3) * gap / 4.39
        level = 3.0 - 2.99 * _sig((x - m) / s)
    else:
        # exact match ~ exp(-7.5 * loss): half way at loss 0.092; its 10-90% rise takes
        # 1.34 / alpha decades, placed at about 1.2 gaps
        alpha = 1.34 / (rng.uniform(0.8, 1.6) * gap)
        level = 0.092 * 10 ** (-alpha * (x - m))
    loss = level[None, :] * diff[:, None]
    rows = generation_records(rng, rungs, loss, lengths)
    a = analyze(rows, rungs, seed=0, config=CFG)
    return {"outcome": a.mirage_for("gen", "shots=0").outcome}


def gen_mirage(rng: np.random.Generator, ladder: str, n: int) -> dict:
    return _gen(rng, ladder, n, jump=False)


def gen_jump(rng: np.random.Generator, ladder: str, n: int) -> dict:
    return _gen(rng, ladder, n, jump=True)


def _icl(rng: np.random.Generator, ladder: str, n: int, growing: bool) -> dict:
    rungs = rungs_for(ladder)
    x = _x(rungs)
    t = (x - x[0]) / (x[-1] - x[0])
    base = 0.25 + rng.uniform(0.0, 0.3) * t  # 0 shots: a smooth rise from chance
    gain = rng.uniform(0.15, 0.4) * t if growing else np.full(x.size, rng.uniform(0.1, 0.25))
    z = rng.normal(0.0, 1.0, n)
    rows = binary_records(
        rng, rungs, base, correlated_uniforms(rng, z), task="icl", setting="shots=0"
    )
    rows += binary_records(
        rng, rungs, base + gain, correlated_uniforms(rng, z), task="icl", setting="shots=5", shots=5
    )
    a = analyze(rows, rungs, seed=0, config=CFG)
    (res,) = [r for r in a.icl if r.metric == "multiple_choice_grade"]
    return {"grows": res.grows}


def icl_constant(rng: np.random.Generator, ladder: str, n: int) -> dict:
    return _icl(rng, ladder, n, growing=False)


def icl_growing(rng: np.random.Generator, ladder: str, n: int) -> dict:
    return _icl(rng, ladder, n, growing=True)


def loss_onset(rng: np.random.Generator, ladder: str, n: int) -> dict:
    x = np.log10(LADDERS[ladder])
    top = rng.uniform(3.2, 3.8)
    losses = top - rng.uniform(0.4, 0.7) * (x - x[0])
    rungs = rungs_for(ladder, losses)
    # the threshold: below the highest loss and above the lowest, with the lowest rung risen
    lo, hi = float(losses[-1]), float(losses[0])
    eta = float(rng.uniform(lo + 0.2 * (hi - lo), hi - 0.05 * (hi - lo)))
    slope = rng.uniform(0.5, 1.0) * (0.95 - 0.25) / (eta - lo)
    acc = 0.25 + slope * np.maximum(0.0, eta - losses)
    z = rng.normal(0.0, 1.0, n)
    rows = binary_records(rng, rungs, acc, correlated_uniforms(rng, z), task="l", setting="s")
    a = analyze(rows, rungs, seed=0, config=CFG)
    view = a.loss_for(("l", "s", "multiple_choice_grade"))
    onset = view.onset if view is not None else None
    if onset is None:
        return {"covered": False, "width": math.nan}
    covered = onset.ci[0] <= eta <= onset.ci[1] or (onset.open_above and eta >= onset.ci[0])
    return {"covered": covered, "width": onset.ci[1] - onset.ci[0]}


CLASSES: dict[str, Callable[[np.random.Generator, str, int], dict]] = {
    "mc_jump": mc_jump,
    "mc_mirage": mc_mirage,
    "gen_mirage": gen_mirage,
    "gen_jump": gen_jump,
    "icl_constant": icl_constant,
    "icl_growing": icl_growing,
    "loss_onset": loss_onset,
}


def _rate(hits: int, total: int) -> str:
    if total == 0:
        return "   -  (0)"
    lo, hi = wilson_interval(hits, total)
    return f"{hits / total:6.1%} [{lo:.0%}-{hi:.0%}] ({total})"


def report(cls: str, cases: list[tuple[str, int, dict]]) -> None:
    print(f"\n{cls}: {len(cases)} cases")
    by_n: dict[int, list[dict]] = defaultdict(list)
    by_ladder: dict[str, list[dict]] = defaultdict(list)
    for ladder, n, res in cases:
        by_n[n].append(res)
        by_ladder[ladder].append(res)

    def line(group: list[dict]) -> str:
        if cls in ("mc_jump", "mc_mirage", "gen_mirage", "gen_jump"):
            want = "survives" if cls in ("mc_jump", "gen_jump") else "mirage"
            seen = [r for r in group if r["outcome"] != "n/a"]
            hits = sum(r["outcome"] == want for r in seen)
            others = defaultdict(int)
            for r in seen:
                if r["outcome"] != want:
                    others[r["outcome"]] += 1
            rest = ", ".join(f"{k}={v}" for k, v in sorted(others.items()))
            na = len(group) - len(seen)
            return f"{want} {_rate(hits, len(seen))}  n/a={na}" + (f"  ({rest})" if rest else "")
        if cls.startswith("icl"):
            hits = sum(r["grows"] for r in group)
            return f"'appears with scale' {_rate(hits, len(group))}"
        hits = sum(r["covered"] for r in group)
        widths = [r["width"] for r in group if math.isfinite(r["width"])]
        med = f"  median width {np.median(widths):.3f} nats" if widths else ""
        return f"onset interval covers the threshold {_rate(hits, len(group))}{med}"

    print(f"  all          {line([r for _, _, r in cases])}")
    for n in sorted(by_n):
        print(f"  n={n:<10d} {line(by_n[n])}")
    for ladder in NAMES:
        if by_ladder[ladder]:
            print(f"  {ladder:<12} {line(by_ladder[ladder])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=20, help="cases per class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", choices=list(CLASSES), help="run these classes only")
    ap.add_argument("--sizes", nargs="*", type=int, default=SIZES, help="item counts to cycle")
    args = ap.parse_args(argv)
    t0 = time.process_time()
    for c, (cls, sim) in enumerate(CLASSES.items()):
        if args.only and cls not in args.only:
            continue
        cases = []
        for i in range(args.cases):
            ladder = NAMES[i % len(NAMES)]
            n = args.sizes[(i // len(NAMES)) % len(args.sizes)]
            rng = np.random.default_rng([args.seed, c, i])
            cases.append((ladder, n, sim(rng, ladder, n)))
        report(cls, cases)
    print(f"\nCPU time {time.process_time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
