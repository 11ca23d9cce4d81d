"""`emergetui doctor`: this build (CPU + RPC) reported as it is, a faked GPU build rendered,
the fix for a CPU-only build on a GPU machine, and a token that never shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emergetui.cli.doctor import LLAMA_CPP_PYTHON, Machine, gather, reinstall_command
from emergetui.engine.buildinfo import BuildInfo, DeviceInfo, features, probe

CUDA_INFO = (
    "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | "
    "CPU : SSE3 = 1 | AVX2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
H100 = DeviceInfo("CUDA0", "NVIDIA H100 80GB HBM3", "GPU", 80_000_000_000, 85_000_000_000)


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    return {"HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_this_build_is_cpu_and_rpc() -> None:
    """The installed llama-cpp-python of this project is built with RPC and no GPU backend:
    the library's own registry says so, and the doctor repeats it."""
    build = probe()
    assert not build.error
    assert "RPC" in build.backends and "CPU" in build.backends
    assert build.features["RPC"] and not build.gpu_backends
    assert any(d.kind == "CPU" and d.total > 0 for d in build.devices)
    text = gather(build=build, machine=Machine()).render()
    assert "built with: RPC;" in text and "backends registered: RPC, CPU" in text
    assert "no problems found" in text
    # the same build on a machine with an NVIDIA GPU: one problem, one exact command
    text = gather(build=build, machine=Machine(nvidia="nvidia-smi on PATH")).render()
    fix = (
        'CMAKE_ARGS="-DGGML_CUDA=on -DGGML_RPC=on" pip install --force-reinstall '
        f"--no-cache-dir llama-cpp-python=={LLAMA_CPP_PYTHON}"
    )
    assert "without a GPU backend but an NVIDIA GPU is here" in text
    assert [x.strip() for x in text.splitlines()].count(fix) == 1


def test_a_faked_cuda_build_is_rendered_as_one() -> None:
    assert features(CUDA_INFO, [])["CUDA"] and not features(CUDA_INFO, [])["RPC"]
    build = BuildInfo.from_report("0.3.36", CUDA_INFO, ["CUDA", "CPU"], [H100])
    assert build.gpu_backends == ["CUDA"]
    text = gather(build=build, machine=Machine(nvidia="/proc/driver/nvidia exists")).render()
    assert "built with: CUDA;" in text and "RPC" in text.split("not: ")[1].splitlines()[0]
    assert "device CUDA0 (GPU): NVIDIA H100 80GB HBM3; 74.5 GiB free of 79.2 GiB" in text
    assert "GPU on this machine: /proc/driver/nvidia exists" in text
    # no GPU complaint; RPC is missing, and its fix keeps CUDA on
    assert "without a GPU backend" not in text
    assert reinstall_command(["GGML_CUDA", "GGML_RPC"]) in text
    metal = BuildInfo.from_report("0.3.36", "Metal : EMBED_LIBRARY = 1 | BLAS = 1 |", ["RPC"])
    assert metal.gpu_backends == ["Metal"] and metal.features["BLAS"]


def test_sources_and_store_are_named(tmp_path: Path, env: dict[str, str]) -> None:
    build = BuildInfo.from_report("0.3.36", CUDA_INFO, ["CUDA", "RPC", "CPU"], [H100])
    store = tmp_path / "results.sqlite"
    store.write_bytes(b"x" * 3000)
    text = gather(store, build=build, machine=Machine(), env=env).render()
    assert f"{store} (2.9 KiB)" in text
    assert "BIG-bench download: " in text and "tasks cached" in text
    assert "MMLU: task mmlu-hf downloads cais/mmlu" in text
    assert f"cache: {tmp_path / 'hf' / 'hub'} (not created yet)" in text
    assert "token: not set" in text


def test_the_command_never_prints_a_token(tmp_path: Path) -> None:
    """A real `emergetui doctor` process with a token in the environment: it says a token is
    set and where from, never its value; and it imports neither scipy nor the analysis."""
    secret = "hf_doctorTestSecret0123456789abcdef"
    run_env = {
        **os.environ,
        "HF_TOKEN": secret,
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    code = (
        "import sys\nfrom emergetui.cli import main\nrc = main(['doctor'])\n"
        "print('IMPORTED', 'scipy' in sys.modules, 'emergetui.analysis' in sys.modules)\n"
        "raise SystemExit(rc)\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code], env=run_env, capture_output=True, text=True, timeout=120
    )
    assert got.returncode == 0, got.stderr
    assert secret not in got.stdout + got.stderr
    assert secret[:12] not in got.stdout + got.stderr
    assert "token: set ($HF_TOKEN)" in got.stdout
    assert "IMPORTED False False" in got.stdout
    assert "llama-cpp-python" in got.stdout and "task sources" in got.stdout


def test_an_unimportable_llama_cpp_gets_the_install_line() -> None:
    build = BuildInfo.from_report("not importable", "", error="ImportError: libggml.so")
    text = gather(build=build, machine=Machine(nvidia="nvidia-smi on PATH")).render()
    assert "cannot be asked: ImportError: libggml.so" in text
    assert reinstall_command(["GGML_CUDA", "GGML_RPC"]) in text
