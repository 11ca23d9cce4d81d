"""The OpenMP wait policy llama.cpp's threads really run with (read back from libgomp itself).

Each case is a fresh interpreter: libgomp reads its settings once, when it is loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import emergetui

ROOT = Path(emergetui.__file__).resolve().parents[1]
# omp_display_env(verbose) prints the settings in effect (OpenMP 5.1, GCC >= 11) to stderr
SHOW = "import ctypes; ctypes.CDLL('libgomp.so.1').omp_display_env(1)"


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module", autouse=True)
def _needs_libgomp() -> None:
    probe = _python(
        "import llama_cpp; from emergetui.engine.threads import openmp_runtime_loaded as f; "
        "print(f())"
    )
    if probe.stdout.strip() != "True":
        pytest.skip("this llama.cpp build does not use GNU OpenMP")


def test_emergetui_makes_llama_cpp_threads_wait_passively() -> None:
    out = _python(f"import emergetui.engine as e; print(e.OPENMP_SETUP); {SHOW}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OMP_WAIT_POLICY=PASSIVE"
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in out.stderr
    assert "GOMP_SPINCOUNT = '0'" in out.stderr  # libgomp's default would spin 300000 times


def test_a_users_own_setting_is_kept() -> None:
    out = _python(
        f"import emergetui.engine as e; print(e.OPENMP_SETUP); {SHOW}", GOMP_SPINCOUNT="12345"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "kept the user's GOMP_SPINCOUNT=12345"
    assert "GOMP_SPINCOUNT = '12345'" in out.stderr


def test_too_late_when_llama_cpp_was_loaded_first_is_said() -> None:
    out = _python(f"import llama_cpp; import emergetui.engine as e; print(e.OPENMP_SETUP); {SHOW}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "too late: libgomp already loaded"
    assert "libgomp was loaded before emergetui" in out.stderr
    assert "GOMP_SPINCOUNT = '300000'" in out.stderr
