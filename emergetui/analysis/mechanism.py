"""Schaeffer et al.'s mechanism as a test: is the discrete curve what the continuous one predicts?

The mirage argument (Schaeffer, Miranda and Koyejo 2023) has two parts: the continuous
quantity behind a metric improves smoothly with scale, and the discrete metric is a fixed,
nonlinear transform of it. Both can be checked on the stored outputs by predicting the
discrete curve from the continuous one and comparing it with the observed discrete curve,
rung by rung, with the paired item bootstrap (the same items at every rung):

* multiple choice: the grade is ``1[margin > 0]`` with ``margin`` the right option's summed
  log-likelihood minus the best wrong option's (:mod:`emergetui.analysis.choice_level`).
  Observed log-likelihoods reproduce the grade by construction, so the prediction comes from
  the options' *fitted* smooth log-likelihoods: every option's nats a power law in size per
  item (Schaeffer et al.'s smooth per-token loss), and the predicted accuracy at a rung is the
  mean over items of P(the argmax of the fitted options, residuals redrawn, is right). A grade
  that sits at chance and then jumps is far from any such prediction; a grade that only
  *looks* sudden because many items' right options overtake the wrong ones together is what
  it predicts.
* generation: exact match predicted from the rung's per-token accuracy as ``a^L`` (tokens
  independent, ``L`` the mean answer length) and from the per-item ``p^L`` (``prob_correct``,
  the exact match of a sampler). Both are predictions, not identities; the better-fitting
  one is tested.

The statistic is ``T = R' S^-1 R`` with ``R`` the observed-minus-predicted curve and ``S``
its paired item-bootstrap covariance across rungs (floored at the binomial variance under
the prediction); the p-value is its chi-square tail with one degree of freedom per rung. A
small p says the continuous quantity, transformed, does not explain the discrete curve.
``max_miss`` (the largest observed-minus-predicted gap) says by how much, so a huge item
count does not turn a negligible misfit into a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (~0.5 s)

from emergetui.analysis.bootstrap import item_weights, rng_for
from emergetui.analysis.choice_level import OptionTable
from emergetui.analysis.curves import Curve


@dataclass
class MechanismFit:
    """The discrete curve beside its prediction from the continuous one, and the fit's test."""

    #: what was predicted from what, in words
    what: str
    rungs: list[str]
    observed: list[float]
    predicted: list[float]
    #: bootstrap p-value of "observed = predicted at every rung" (small: the mechanism fails)
    p_value: float
    #: largest |observed - predicted| over the rungs
    max_miss: float
    n_items: int

    def line(self) -> str:
        obs = " ".join(f"{v:.2f}" for v in self.observed)
        pred = " ".join(f"{v:.2f}" for v in self.predicted)
        return (
            f"observed {obs}; predicted ({self.what}) {pred}; fit p = {self.p_value:.3g}, "
            f"largest miss {self.max_miss:.2f} ({self.n_items} items)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "rungs": list(self.rungs),
            "observed": list(self.observed),
            "predicted": list(self.predicted),
            "p_value": self.p_value,
            "max_miss": self.max_miss,
            "n_items": self.n_items,
            "line": self.line(),
        }


def item_matrix(*curves: Curve) -> tuple[list[str], np.ndarray, list[np.ndarray]] | None:
    """Rungs shared by ``curves``, their log10 sizes, and one ``(items, rungs)`` matrix per
    curve over the items every curve has at every shared rung (``None`` if under 2 items or
    2 rungs)."""
    labels = [p.rung for p in curves[0].points]
    for c in curves[1:]:
        have = {p.rung for p in c.points}
        labels = [r for r in labels if r in have]
    if len(labels) < 2:
        return None
    maps: list[list[dict[str, float]]] = []
    for c in curves:
        at = {p.rung: i for i, p in enumerate(c.points)}
        maps.append(
            [dict(zip(c.item_ids[at[r]], c.samples[at[r]].tolist(), strict=True)) for r in labels]
        )
    common = set(maps[0][0])
    for m in maps:
        for col in m:
            common &= set(col)
    items = sorted(common)
    if len(items) < 2:
        return None
    mats = [np.array([[col[i] for col in m] for i in items], dtype=float) for m in maps]
    params = {p.rung: p.params for p in curves[0].points}
    x = np.log10(np.array([params[r] for r in labels], dtype=float))
    return labels, x, mats


def _p_value(resid: np.ndarray, boot: np.ndarray, floor: np.ndarray) -> float:
    """Test of ``resid == 0``: ``T = R' S^-1 R`` with ``S`` the bootstrap covariance, against
    chi-square with one degree of freedom per rung.

    ``floor`` is each rung's variance under the prediction (a pass/fail mean of ``n`` items
    at the predicted rate): a rung where every replicate sits at 0 has no bootstrap variance,
    yet 0 of 100 against a predicted 2% is no evidence of a misfit (``e^-2``)."""
    ok = boot[np.all(np.isfinite(boot), axis=1)]
    if ok.shape[0] < 10:
        return float("nan")
    cov = np.atleast_2d(np.cov(ok, rowvar=False))
    diag = np.diag(cov)
    cov = cov + np.diag(np.maximum(floor - diag, 0.0) + 0.02 * np.maximum(diag, floor) + 1e-12)
    t_obs = float(resid @ np.linalg.pinv(cov) @ resid)
    # the replicates give S; the reference is chi-square (the bootstrap's own distribution of
    # T has no spread at rungs where every replicate sits at 0, where the floor does)
    return float(chdtrc(resid.size, t_obs))


def _floor(observed: np.ndarray, predicted: np.ndarray, n: int) -> np.ndarray:
    """Binomial variance of a rung mean of ``n`` items at the larger of the two rates'
    variances (Jeffreys-smoothed, so 0 and 1 keep some)."""

    def var(p: np.ndarray) -> np.ndarray:
        q = (np.clip(p, 0.0, 1.0) * n + 0.5) / (n + 1.0)
        return q * (1.0 - q) / n

    return np.maximum(var(observed), var(predicted))


#: Residual draws per item, rung and option for the predicted argmax (fewer for big tables).
DRAWS = 64
_MAX_CELLS = 4_000_000


def mc_mechanism(
    table: OptionTable, norm: bool = False, *, seed: int = 0, n_boot: int = 1000
) -> MechanismFit | None:
    """The multiple-choice grade against the accuracy that the options' fitted smooth
    log-likelihoods predict.

    Each option's summed negative log-likelihood (its nats) gets its own power law in size,
    ``log nats[i, r, j] = c_ij + b_ij * log10 N_r`` (Schaeffer et al.'s smooth per-token loss;
    fluency, which shrinks every option's nats, is such a power law too). The predicted grade
    at a rung is the mean over items of P(the argmax of the options is right) with the fit's
    residuals redrawn for every option (per character for ``mc_grade_norm``). Items are the
    bootstrap's unit, so the fits are made once and each replicate reweights the items.
    """
    n, r, k = table.sums.shape
    if r < 3 or n < 2:
        return None
    x = table.log_params
    xc = x - x.mean()
    nats = np.log(np.maximum(-table.sums, 1e-6))  # (n, r, k)
    slopes = np.einsum("irk,r->ik", nats, xc) / (xc @ xc)
    fitted = nats.mean(axis=1, keepdims=True) + slopes[:, None, :] * xc[None, :, None]
    # the fitted line already carries its own error (variance sigma^2 h_r at a rung of
    # leverage h_r), and a residual at that rung has variance sigma^2 (1 - h_r): a fitted value
    # plus a residual redrawn from the same rung has the observed noise, neither more nor less
    pools = [(nats[:, j, :] - fitted[:, j, :]).ravel() for j in range(r)]
    scale = table.chars[:, None, :] if norm else np.ones((n, 1, k))
    observed_pick = np.argmax(table.sums / scale, axis=2)  # (n, r)
    g = np.take_along_axis(table.right, observed_pick, axis=1).astype(float)
    rng = rng_for(seed, "mechanism-draws", table.task, table.setting)
    draws = max(8, min(DRAWS, _MAX_CELLS // max(n * r * k, 1)))
    right = np.zeros((n, r))
    for _ in range(draws):
        e = np.stack([rng.choice(pool, size=(n, k)) for pool in pools], axis=1)
        score = -np.exp(fitted + e) / scale
        pick = np.argmax(score, axis=2)
        right += np.take_along_axis(table.right, pick, axis=1)
    prob = right / draws
    obs, pred = g.mean(axis=0), prob.mean(axis=0)
    weights = item_weights(n, n_boot, rng_for(seed, "mechanism", table.task, table.setting))
    total = weights.sum(axis=1, keepdims=True)
    boot = (weights @ g) / total - (weights @ prob) / total
    resid = obs - pred
    return MechanismFit(
        what="argmax of the options' log-likelihoods fitted as power laws in size",
        rungs=list(table.rungs),
        observed=[float(v) for v in obs],
        predicted=[float(v) for v in pred],
        p_value=_p_value(resid, boot, _floor(obs, pred, n)),
        max_miss=float(np.max(np.abs(resid))),
        n_items=n,
    )


def generation_mechanism(
    exact: Curve,
    accuracy: Curve | None,
    prob: Curve | None,
    answer_tokens: float | None,
    *,
    seed: int = 0,
    n_boot: int = 1000,
) -> MechanismFit | None:
    """Exact match against ``a^L`` (per-token accuracy) and mean ``p^L`` (``prob_correct``);
    the better-fitting prediction (larger p-value) is returned."""
    fits: list[MechanismFit] = []
    candidates: list[tuple[str, Curve]] = []
    if accuracy is not None and answer_tokens:
        candidates.append((f"a^L, per-token accuracy, L = {answer_tokens:.3g} tokens", accuracy))
    if prob is not None:
        candidates.append(("mean p^L, per-token probability", prob))
    for what, cont in candidates:
        got = item_matrix(exact, cont)
        if got is None:
            continue
        labels, _, (em, c) = got
        n, r = em.shape
        power = float(answer_tokens) if cont is accuracy and answer_tokens else 1.0
        weights = item_weights(n, n_boot, rng_for(seed, "mechanism", exact.task, exact.setting))
        total = weights.sum(axis=1, keepdims=True)
        boot = (weights @ em) / total - ((weights @ c) / total) ** power
        obs = em.mean(axis=0)
        pred = c.mean(axis=0) ** power
        resid = obs - pred
        fits.append(
            MechanismFit(
                what=what,
                rungs=labels,
                observed=[float(v) for v in obs],
                predicted=[float(v) for v in pred],
                p_value=_p_value(resid, boot, _floor(obs, pred, n)),
                max_miss=float(np.max(np.abs(resid))),
                n_items=n,
            )
        )
    fits = [f for f in fits if np.isfinite(f.p_value)]
    return max(fits, key=lambda f: f.p_value) if fits else None
