"""The analysis's scipy.special forms of scipy.stats quantities agree with scipy.stats."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, binomtest, chi2, norm

from emergetui.analysis.bootstrap import binom_sf_at_least, wilson_interval


def test_binomial_tail_is_scipy_stats() -> None:
    for n in (1, 2, 7, 40, 175, 500):
        for p in (0.01, 0.2, 0.25, 0.5, 0.9):
            for k in range(0, n + 1):
                want = float(binom.sf(k - 1, n, p))
                got = binom_sf_at_least(k, n, p)
                # agreement to 1e-9 relative down to 1e-100; deeper tails differ in the 8th digit
                assert abs(got - want) <= 1e-9 * want + 1e-100, (k, n, p, got, want)
    for up, n in ((0, 5), (3, 5), (9, 12), (30, 40)):
        assert np.isclose(binom_sf_at_least(up, n, 0.5), binomtest(up, n, 0.5, "greater").pvalue)


def test_wilson_and_chi2_quantiles_are_scipy_stats() -> None:
    z = float(norm.ppf(0.975))
    lo, hi = wilson_interval(30, 100)
    p, n = 0.3, 100
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (lo, hi) == (float(centre - half), float(centre + half))
    from scipy.special import gammaincinv

    for dof in (1, 3, 10):
        assert 2.0 * gammaincinv(dof / 2.0, 0.9) == chi2.ppf(0.9, dof)
