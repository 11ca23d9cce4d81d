"""Row sums of exp(x - max): the one vocabulary-wide pass of the log-softmax.

Every scored position needs log-sum-exp over its whole logits row (32k to
262k floats), so this pass is most of the scorer's own CPU time. numpy's float32
exp ran at 2.5–9 ns per element on the development machine (a 2-core AMD EPYC
VM); llama.cpp's CPU library already contains ``ggml_vec_soft_max_f32``, the
vectorised exp-and-sum its own softmax uses, at 0.9 ns per element there, with
the sum accumulated in float64. It is exported by the ``libggml-cpu`` that
llama-cpp-python ships, so it is called through ctypes on the rows in place.

It is an internal symbol of ggml, not a published API: it is used only if it
is found in the plain (single-variant) CPU library and passes a numerical
check against numpy on first use; otherwise numpy does the work. The
multi-variant builds (``GGML_BACKEND_DL``, one ``libggml-cpu-<arch>`` per
instruction set) are left alone, since loading the wrong variant would crash.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import llama_cpp
import numpy as np

log = logging.getLogger(__name__)

SumExp = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _library_name() -> str:
    """The plain CPU library's file name in llama-cpp-python's ``lib`` folder."""
    return {"win32": "ggml-cpu.dll", "darwin": "libggml-cpu.dylib"}.get(
        sys.platform, "libggml-cpu.so"
    )


def numpy_sum_exp(block: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sum(exp(block[i] - m[i])) per row, float32 exp, float64 result."""
    tmp = np.subtract(block, m[:, None], dtype=np.float32)
    np.exp(tmp, out=tmp)
    return tmp.sum(axis=1, dtype=np.float64)


def _ggml_fn() -> Callable[..., float] | None:
    path = Path(llama_cpp.__file__).parent / "lib" / _library_name()
    if not path.is_file():
        return None
    try:
        fn = ctypes.CDLL(str(path)).ggml_vec_soft_max_f32
    except (OSError, AttributeError):
        return None
    # ggml_float ggml_vec_soft_max_f32(const int n, float * y, const float * x, float max)
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float]
    return fn


def _ggml_sum_exp(fn: Callable[..., float]) -> SumExp:
    def sum_exp(block: np.ndarray, m: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(block, dtype=np.float32)
        n_rows, n = block.shape
        # ggml writes the exps somewhere: one scratch row per call (calls may run on several
        # threads)
        scratch = np.empty(n, dtype=np.float32)
        out = np.empty(n_rows, dtype=np.float64)
        base, stride, dst = block.ctypes.data, block.strides[0], scratch.ctypes.data
        for i in range(n_rows):
            out[i] = fn(n, dst, base + i * stride, float(m[i]))
        return out

    return sum_exp


def _agrees(candidate: SumExp) -> bool:
    """The ggml routine against numpy in float64 on rows with awkward lengths and ranges."""
    rng = np.random.default_rng(0)
    for n in (1, 7, 8, 1000, 32003):
        block = (rng.standard_normal((3, n)) * np.array([[1.0], [8.0], [40.0]])).astype(np.float32)
        m = block.max(axis=1)
        want = np.exp(block.astype(np.float64) - m[:, None]).sum(axis=1)
        got = candidate(block, m)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-6, atol=0):
            return False
    return True


@functools.cache
def best_sum_exp() -> SumExp:
    """The fastest implementation that agrees with numpy here (resolved once per process)."""
    fn = _ggml_fn()
    if fn is not None:
        candidate = _ggml_sum_exp(fn)
        if _agrees(candidate):
            return candidate
        log.warning("ggml_vec_soft_max_f32 disagrees with numpy; using numpy for the log-softmax")
    return numpy_sum_exp
