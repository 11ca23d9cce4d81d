"""The log-softmax's exp-sum: ggml's vectorised routine when this build exports it, numpy
otherwise."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from emergetui.engine import sumexp
from emergetui.engine.prefill import row_stats


def _reference(block: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.exp(block.astype(np.float64) - m[:, None].astype(np.float64)).sum(axis=1)


def test_this_build_uses_ggml_when_its_cpu_library_is_plain() -> None:
    plain = (Path(llama_cpp.__file__).parent / "lib" / sumexp._library_name()).is_file()
    chosen = sumexp.best_sum_exp()
    assert (chosen is not sumexp.numpy_sum_exp) == plain


@pytest.mark.parametrize("impl", ["best", "numpy"])
def test_sum_exp_matches_float64_on_vocab_rows(impl: str) -> None:
    fn = sumexp.best_sum_exp() if impl == "best" else sumexp.numpy_sum_exp
    rng = np.random.default_rng(1)
    for n_vocab in (1, 9, 151_936):
        block = (
            rng.standard_normal((5, n_vocab)) * np.array([[0.1], [2], [10], [60], [300]])
        ).astype(np.float32)
        m = block.max(axis=1)
        np.testing.assert_allclose(fn(block, m), _reference(block, m), rtol=1e-6, atol=0)


def test_sum_exp_takes_strided_rows_and_minus_infinity() -> None:
    fn = sumexp.best_sum_exp()
    wide = np.zeros((4, 64), dtype=np.float32)
    wide[:, 1] = -np.inf
    wide[:, 2] = -200.0
    wide[:, 3] = 5.0
    view = wide[::2, :40]  # every other row, a column slice: not contiguous
    m = view.max(axis=1)
    np.testing.assert_allclose(fn(view, m), _reference(view, m), rtol=1e-6)


def test_row_stats_give_exact_log_softmax() -> None:
    rng = np.random.default_rng(2)
    block = (rng.standard_normal((33, 32000)) * 4).astype(np.float32)
    stats = row_stats(block)
    lse64 = np.log(np.exp(block.astype(np.float64)).sum(axis=1))
    assert [s.argmax for s in stats] == block.argmax(axis=1).tolist()
    np.testing.assert_allclose([s.lse for s in stats], lse64, rtol=0, atol=2e-6)
    np.testing.assert_allclose([s.max for s in stats], block.max(axis=1))


def test_a_disagreeing_routine_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(n: int, _y: int, _x: int, _m: float) -> float:
        return float(n)  # as if every exp were 1

    monkeypatch.setattr(sumexp, "_ggml_fn", lambda: wrong)
    sumexp.best_sum_exp.cache_clear()
    try:
        assert sumexp.best_sum_exp() is sumexp.numpy_sum_exp
    finally:
        monkeypatch.undo()
        sumexp.best_sum_exp.cache_clear()
