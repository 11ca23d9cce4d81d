"""Cross-validated linear probes in numpy: can a linear read-out of layer ℓ tell the answer?

The default probe is a ridge classifier (one-vs-rest least squares on
one-hot targets) in its dual form: with a few hundred items and thousands of
dimensions, everything happens in the n × n Gram matrix, and one
eigendecomposition per fold gives the exact leave-one-out error of every
regularisation strength (the hat-matrix identity), so the strength is chosen
inside each training fold at no extra cost and never sees the test fold.
A multinomial logistic probe (scipy L-BFGS) is available for comparison.

Folds are stratified and seeded, features are standardised with the
training fold's statistics only. ``shuffled`` controls re-run the same
procedure on permuted labels: a probe that beats its own shuffled control
reads the label out of the representation, not out of the class balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: candidate ridge strengths, as multiples of the mean eigenvalue of the training Gram matrix
RIDGE_ALPHAS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index of every item: each class is shuffled and dealt round-robin across folds."""
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    offset = 0
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        folds[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)  # start the next class where this one stopped, to balance fold sizes
    return folds


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd = np.where(sd > 1e-6 * max(1e-30, float(sd.max(initial=0.0))), sd, 1.0)
    return (train - mu) / sd, (test - mu) / sd


def ridge_fit_predict(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, n_classes: int
) -> np.ndarray:
    """Class scores of the test rows, ridge strength chosen by exact leave-one-out accuracy."""
    xtr, xte = _standardize(x_tr.astype(np.float64), x_te.astype(np.float64))
    onehot = np.eye(n_classes)[y_tr]
    y_mean = onehot.mean(axis=0)
    yc = onehot - y_mean
    s, u = np.linalg.eigh(xtr @ xtr.T)
    s = np.clip(s, 0.0, None)
    scale = max(float(s.mean()), 1e-12)
    uy = u.T @ yc
    best: tuple[float, float, float] | None = None
    for a in RIDGE_ALPHAS:
        lam = a * scale
        shrink = s / (s + lam)
        fitted = u @ (shrink[:, None] * uy)
        h = np.einsum("ij,j,ij->i", u, shrink, u)
        loo = (fitted - h[:, None] * yc) / np.clip(1.0 - h, 1e-9, None)[:, None]
        acc = float((loo.argmax(axis=1) == y_tr).mean())
        err = float(((loo - yc) ** 2).sum())
        key = (acc, -err, lam)
        if best is None or key > best:
            best = key
    assert best is not None
    lam = best[2]
    dual = u @ ((1.0 / (s + lam))[:, None] * uy)
    return (xte @ xtr.T) @ dual + y_mean


def logistic_fit_predict(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, n_classes: int, c: float = 1.0
) -> np.ndarray:
    """Multinomial logistic regression with an L2 penalty ``1/(2c)·|W|²`` (L-BFGS)."""
    from scipy.optimize import minimize

    xtr, xte = _standardize(x_tr.astype(np.float64), x_te.astype(np.float64))
    n, d = xtr.shape
    onehot = np.eye(n_classes)[y_tr]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes :]
        z = xtr @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -float((onehot * np.log(np.clip(p, 1e-300, None))).sum()) / n
        g = (p - onehot) / n
        gw = xtr.T @ g + w / (c * n)
        return nll + float((w * w).sum()) / (2 * c * n), np.concatenate([gw.ravel(), g.sum(axis=0)])

    res = minimize(
        loss,
        np.zeros(d * n_classes + n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 300},
    )
    w = res.x[: d * n_classes].reshape(d, n_classes)
    return xte @ w + res.x[d * n_classes :]


@dataclass
class ProbeScore:
    """Cross-validated accuracy of one probe, with the chance levels it must be read against."""

    accuracy: float
    majority: float  # accuracy of always answering the most frequent class
    n: int
    n_classes: int


def cv_probe(
    x: np.ndarray, labels: np.ndarray, *, k: int = 5, seed: int = 0, method: str = "ridge"
) -> ProbeScore:
    """k-fold accuracy of a linear probe predicting ``labels`` from the rows of ``x``."""
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    n = len(y)
    majority = float(np.bincount(y).max() / n) if n else float("nan")
    if len(classes) < 2 or n < 2 * k:
        return ProbeScore(float("nan"), majority, n, len(classes))
    fit = ridge_fit_predict if method == "ridge" else logistic_fit_predict
    folds = stratified_folds(y, k, seed)
    correct = 0
    for f in range(k):
        te = folds == f
        if not te.any() or te.all():
            continue
        scores = fit(x[~te], y[~te], x[te], len(classes))
        correct += int((scores.argmax(axis=1) == y[te]).sum())
    return ProbeScore(correct / n, majority, n, len(classes))


def probe_layers(
    states: np.ndarray,
    labels: np.ndarray,
    *,
    k: int = 5,
    seed: int = 0,
    method: str = "ridge",
    shuffled: bool = True,
) -> tuple[np.ndarray, np.ndarray, ProbeScore]:
    """Accuracy per layer of ``states`` [n, n_layers, d], and of the shuffled-label control.

    Returns ``(accuracy[n_layers], shuffled_accuracy[n_layers], score_of_last_layer)``;
    the control uses one seeded permutation for every layer so curves stay comparable.
    """
    labels = np.asarray(labels)
    perm = np.random.default_rng(seed + 1).permutation(len(labels))
    acc = np.full(states.shape[1], np.nan)
    ctl = np.full(states.shape[1], np.nan)
    last = ProbeScore(float("nan"), float("nan"), len(labels), 0)
    for layer in range(states.shape[1]):
        last = cv_probe(states[:, layer], labels, k=k, seed=seed, method=method)
        acc[layer] = last.accuracy
        if shuffled:
            ctl[layer] = cv_probe(
                states[:, layer], labels[perm], k=k, seed=seed, method=method
            ).accuracy
    return acc, ctl, last
