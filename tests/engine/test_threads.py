"""The OpenMP wait policy llama.cpp's threads really run with (read back from libgomp itself).

Each case is a fresh interpreter: libgomp reads its settings once, when it is loaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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


def test_emergetui_bounds_the_spinning_of_llama_cpp_threads() -> None:
    out = _python(f"import emergetui.engine as e; print(e.OPENMP_SETUP); {SHOW}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "GOMP_SPINCOUNT=30000"
    assert "GOMP_SPINCOUNT = '30000'" in out.stderr  # libgomp's default would spin 300000 times


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
    assert "libgomp was loaded before emergetui" in out.stderr  # said once, in the log
    assert "GOMP_SPINCOUNT = '300000'" in out.stderr


def test_threads_for_rounds_free_cores_down() -> None:
    from emergetui.engine.threads import threads_for

    assert [threads_for(f, 2) for f in (2.0, 1.8, 1.7, 1.2, 0.4, -1.0)] == [2, 2, 1, 1, 1, 1]
    assert threads_for(7.9, 8) == 8 and threads_for(3.8, 8) == 4 and threads_for(9.0, 4) == 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_governor_drops_to_one_thread_while_other_processes_keep_the_cores_busy(
    tiny_model: Path,
) -> None:
    from emergetui import Engine

    n_cpu = len(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n_cpu)]
    try:
        with Engine.load(tiny_model, n_gpu_layers=0, n_threads=2) as eng:
            gov = eng.native.governor
            assert gov.max_threads == 2 and gov.current == 2
            deadline = time.monotonic() + 30
            while gov.current != 1 and time.monotonic() < deadline:
                eng.score([("one plus two is", " three")] * 20)  # each decode asks the governor
            assert gov.current == 1 and gov.changes >= 1
            # and llama.cpp runs with it: the context reports the thread count in effect
            assert eng.native.threads_in_effect() == 1
    finally:
        for p in busy:
            p.kill()
            p.wait()


def test_one_thread_engines_have_nothing_to_govern(tiny_model: Path) -> None:
    from emergetui import Engine

    with Engine.load(tiny_model, n_gpu_layers=0, n_threads=1) as eng:
        eng.score([("one plus two is", " three")])
        assert eng.native.governor.pick() == 1 and eng.native.threads_in_effect() == 1
