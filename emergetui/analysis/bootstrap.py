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


def diff_ci(
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    *,
    paired: bool,
    n_boot: int = 1000,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """``(mean(a) - mean(b), ci_low, ci_high)`` by bootstrap.

    ``paired`` resamples item positions jointly (``a[i]`` and ``b[i]`` are the
    same item under two conditions), which removes the item-difficulty
    variance shared by both conditions and gives a tighter, correct interval.
    """
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.size == 0 or xb.size == 0:
        nan = float("nan")
        return (nan, nan, nan)
    diff = float(xa.mean() - xb.mean())
    if paired:
        if xa.size != xb.size:
            raise ValueError("paired bootstrap needs equal-length samples")
        boot = resample_means(xa - xb, n_boot, rng)
    else:
        boot = resample_means(xa, n_boot, rng) - resample_means(xb, n_boot, rng)
    lo, hi = percentile_interval(boot, level)
    return (diff, lo, hi)
