"""Percentile bootstrap over items, seeded per quantity so results reproduce.

Every uncertainty in the analysis comes from resampling test items (Efron's
nonparametric bootstrap): the items are the sample, the rungs are fixed. Each
quantity draws from its own generator derived from ``(seed, key...)`` with
:func:`rng_for`, so adding a task to a run does not change the confidence
intervals of the tasks already there, and the same seed always gives the same
numbers.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Bootstrap replicates are drawn in blocks of this many, so a task with many
#: items does not build one huge index matrix.
_BLOCK = 256


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator determined only by ``seed`` and ``key``.

    CRC32 of the key's text (not Python's salted ``hash``) keeps the stream
    identical across processes and Python versions.
    """
    words = [int(seed) & 0xFFFFFFFF]
    words.extend(zlib.crc32(str(part).encode("utf-8")) for part in key)
    return np.random.default_rng(np.random.SeedSequence(words))


def resample_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``values``."""
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n == 0:
        return np.full(n_boot, np.nan)
    out = np.empty(n_boot)
    for start in range(0, n_boot, _BLOCK):
        stop = min(start + _BLOCK, n_boot)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = arr[idx].mean(axis=1)
    return out


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of ``samples`` (NaNs ignored)."""
    arr = np.asarray(samples, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(arr, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def mean_ci(
    values: np.ndarray, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95
) -> tuple[float, float, float]:
    """``(mean, ci_low, ci_high)`` of ``values`` by the percentile bootstrap."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    mean = float(arr.mean())
    if arr.size == 1 or np.all(arr == arr[0]):
        return (mean, mean, mean)
    lo, hi = percentile_interval(resample_means(arr, n_boot, rng), level)
    return (mean, lo, hi)


def diff_boot(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, paired: bool, n_boot: int = 1000
) -> np.ndarray:
    """Bootstrap replicates of ``mean(a) - mean(b)``.

    ``paired`` resamples item positions jointly (``a[i]`` and ``b[i]`` are the
    same item under two conditions), which removes the item-difficulty
    variance shared by both conditions and gives a tighter, correct interval.
    """
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if paired:
        if xa.size != xb.size:
            raise ValueError("paired bootstrap needs equal-length samples")
        return resample_means(xa - xb, n_boot, rng)
    return resample_means(xa, n_boot, rng) - resample_means(xb, n_boot, rng)


def diff_ci(
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    *,
    paired: bool,
    n_boot: int = 1000,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``(mean(a) - mean(b), ci_low, ci_high)`` by bootstrap (:func:`diff_boot`)."""
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.size == 0 or xb.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    lo, hi = percentile_interval(diff_boot(xa, xb, rng, paired=paired, n_boot=n_boot), level)
    return (float(xa.mean() - xb.mean()), lo, hi)


def item_draws(n_items: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """The *shared* item bootstrap: a ``(n_boot, n_items)`` matrix of item indices.

    One draw of item ids per replicate, applied to every rung and every
    metric of a task setting (means and corpus statistics such as BLEU
    alike). Because every rung scores the same items, a replicate that
    happens to draw many easy items lifts every rung together, and
    cross-rung statements (a jump, a fall, a fitted width) see only what
    differs between rungs.
    """
    if n_items == 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    return rng.integers(0, n_items, size=(n_boot, n_items))


def draw_counts(draws: np.ndarray, n_items: int) -> np.ndarray:
    """How often each item is drawn in each replicate: a ``(n_boot, n_items)`` count matrix.

    Counts rather than index lists keep a replicate's means one matrix product away.
    """
    n_boot = draws.shape[0]
    if n_items == 0:
        return np.zeros((n_boot, 0))
    flat = (draws + n_items * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_items).reshape(n_boot, n_items).astype(float)


def item_weights(n_items: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`draw_counts` of fresh :func:`item_draws`."""
    return draw_counts(item_draws(n_items, n_boot, rng), n_items)


def binom_sf_at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the exact one-sided test's p-value.

    ``scipy.special.bdtrc`` rather than ``scipy.stats.binom.sf(k - 1, n, p)``: the
    same quantity (within 1e-12 relative wherever it is above 1e-12) without importing
    scipy.stats, which costs every batch run ~0.5 s of CPU.
    """
    from scipy.special import bdtrc

    return 1.0 if k <= 0 else float(bdtrc(k - 1, n, p))


def wilson_interval(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` binary trials (the same as scipy's
    ``binomtest(k, n).proportion_ci(method="wilson")``, without importing scipy.stats).

    Unlike a percentile bootstrap it never collapses to zero width: 0 hits
    in 100 gives [0, 0.037], so a later rung with a few hits does not
    "separate" from a floor that was only measured on 100 items. At the edges
    the bound is exact: 0 hits give a lower end of exactly 0, n hits an upper
    end of exactly 1 (the formula, evaluated in floating point, would miss them
    by a rounding error). ``k`` may be a mean times ``n`` (a fractional count).
    ``n <= 0`` gives (nan, nan): no trials, no interval.
    """
    from scipy.special import ndtri  # norm.ppf's own function; scipy.stats costs ~0.5 s to import

    if n <= 0:
        return (float("nan"), float("nan"))
    z = float(ndtri(0.5 + level / 2.0))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k <= 0 else max(0.0, float(centre - half))
    hi = 1.0 if k >= n else min(1.0, float(centre + half))
    return (lo, hi)


def holm(pvalues: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down rejections (family-wise error <= ``alpha``), in input order."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    reject = np.zeros(p.size, dtype=bool)
    m = p.size
    for rank, i in enumerate(order):
        if p[i] <= alpha / (m - rank):
            reject[i] = True
        else:
            break
    return reject
