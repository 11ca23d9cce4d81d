"""`emergetui doctor`: what this installation can do, and the one command that fixes each
problem.

Why: whether llama.cpp uses a GPU depends on how llama-cpp-python was compiled, which
nothing else shows (a CPU-only wheel from pip's cache is the classic trap); where the
data and models come from and go to is spread over environment variables. The doctor
reads it all without the network and without importing the analysis (it must answer
in well under two seconds), and prints secrets only as "set" or "not set".
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emergetui.engine.buildinfo import GPU_FEATURES, BuildInfo
from emergetui.fmt import fmt_bytes

#: The llama-cpp-python release emergetui is built against (pyproject.toml pins it).
LLAMA_CPP_PYTHON = "0.3.36"


@dataclass(frozen=True)
class Machine:
    """What the machine has, independent of how llama.cpp was built."""

    nvidia: str = ""  # how an NVIDIA GPU was seen ("nvidia-smi on PATH"), "" if not
    apple_silicon: bool = False

    @classmethod
    def detect(cls) -> Machine:
        nvidia = ""
        if shutil.which("nvidia-smi"):
            nvidia = "nvidia-smi on PATH"
        elif Path("/proc/driver/nvidia").exists():
            nvidia = "/proc/driver/nvidia exists"
        mac = sys.platform == "darwin" and platform.machine() == "arm64"
        return cls(nvidia, mac)


@dataclass(frozen=True)
class Problem:
    text: str
    fix: str


@dataclass
class Report:
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def render(self) -> str:
        out = []
        for title, lines in self.sections:
            out.append(title)
            out += [f"  {x}" for x in lines]
        if self.problems:
            out.append("problems, each with the command that fixes it")
            for p in self.problems:
                out += [f"  * {p.text}", f"      {p.fix}"]
        else:
            out.append("no problems found")
        return "\n".join(out) + "\n"


def reinstall_command(flags: list[str]) -> str:
    """The pip line that rebuilds llama-cpp-python from source with ``flags`` on."""
    cmake = " ".join(f"-D{f}=on" for f in flags)
    return (
        f'CMAKE_ARGS="{cmake}" pip install --force-reinstall --no-cache-dir '
        f"llama-cpp-python=={LLAMA_CPP_PYTHON}"
    )


def build_section(build: BuildInfo, machine: Machine) -> tuple[list[str], list[Problem]]:
    lines = [f"llama-cpp-python {build.version}"]
    if build.error:
        lines.append(f"cannot be asked: {build.error}")
    yes = [f for f, on in build.features.items() if on]
    no = [f for f, on in build.features.items() if not on]
    lines.append(f"built with: {', '.join(yes) or 'CPU only'}; not: {', '.join(no) or '-'}")
    if build.backends:
        lines.append(f"backends registered: {', '.join(build.backends)}")
    if build.system_info:
        lines.append(f"system info: {build.system_info.strip().rstrip('|').strip()}")
    for d in build.devices:
        mem = f"{fmt_bytes(d.free)} free of {fmt_bytes(d.total)}" if d.total else "memory ?"
        lines.append(f"device {d.name} ({d.kind}): {d.description}; {mem}")
    seen = machine.nvidia or ("Apple silicon" if machine.apple_silicon else "none")
    lines.append(f"GPU on this machine: {seen}")
    gpu = build.gpu_backends
    rpc = build.features.get("RPC", False)
    problems = []
    want = "GGML_CUDA" if machine.nvidia else "GGML_METAL" if machine.apple_silicon else ""
    if build.version == "not importable":
        flags = [want, "GGML_RPC"] if want else ["GGML_RPC"]
        return lines, [Problem("llama-cpp-python cannot be imported", reinstall_command(flags))]
    if want and not gpu:
        what = "an NVIDIA GPU" if machine.nvidia else "Apple silicon (Metal)"
        problems.append(
            Problem(
                f"llama.cpp was built without a GPU backend but {what} is here: every rung "
                "runs on the CPU",
                reinstall_command([want, "GGML_RPC"]),
            )
        )
    elif not rpc:
        flags = [f"GGML_{g.upper()}" for g in gpu if g in GPU_FEATURES] + ["GGML_RPC"]
        problems.append(
            Problem(
                "llama.cpp was built without RPC: --rpc and `emergetui rpc-server` cannot work",
                reinstall_command(flags),
            )
        )
    return lines, problems


def hub_section(env: dict[str, str]) -> tuple[list[str], list[Problem]]:
    """The Hugging Face cache, endpoint, offline flag and token; the token only as set/not."""
    home = env.get("HF_HOME")
    default = Path.home() / ".cache" / "huggingface"
    cache = Path(env.get("HF_HUB_CACHE") or (Path(home) / "hub" if home else default / "hub"))
    repos = (
        sum(1 for p in cache.iterdir() if p.name.startswith(("models--", "datasets--")))
        if cache.is_dir()
        else 0
    )
    lines = [
        f"cache: {cache} ({f'{repos} repos' if cache.is_dir() else 'not created yet'})",
        f"endpoint: {env.get('HF_ENDPOINT') or 'https://huggingface.co'}; "
        f"offline: {'yes' if _on(env.get('HF_HUB_OFFLINE')) else 'no'}",
        f"token: {_token_presence(env, Path(home) if home else default)}",
    ]
    return lines, []


def _on(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _token_presence(env: dict[str, str], hf_home: Path) -> str:
    """Where a token would come from; never its value."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if env.get(var):
            return f"set (${var})"
    path = Path(env.get("HF_TOKEN_PATH") or hf_home / "token")
    if path.is_file() and path.stat().st_size > 0:
        return f"set (file {path})"
    return "not set (public models only; `hf auth login` or HF_TOKEN for gated ones)"


def store_section(store: Path | None) -> list[str]:
    from emergetui.store.results import default_store_path

    path = Path(store) if store is not None else default_store_path()
    if not path.is_file():
        return [f"{path} (not created yet)"]
    size = sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.is_file()
    )
    return [f"{path} ({fmt_bytes(size)})"]


def sources_section(env: dict[str, str], hf_cache_line: str) -> list[str]:
    from emergetui.tasks import bigbench_fetch, suites
    from emergetui.tasks.mmlu import HF_REPO

    lines = []
    try:
        root = suites.find_bigbench_dir(None)
    except Exception as e:  # noqa: BLE001 - a broken setting is itself the finding
        root, bad = None, str(e)
        lines.append(f"BIG-bench checkout: unusable: {bad}")
    else:
        where = str(root) if root else "none (--bigbench-dir, $EMERGETUI_BIGBENCH_DIR or config)"
        lines.append(f"BIG-bench checkout: {where}")
    s = bigbench_fetch.FetchSettings.from_env()
    cached = bigbench_fetch.cached_tasks(s)
    lines.append(
        f"BIG-bench download: {s.endpoint} at {s.ref} into {s.tasks_dir} "
        f"({len(cached)} tasks cached{'; offline' if s.offline else ''})"
    )
    cache = hf_cache_line.split(" (", 1)[0].removeprefix("cache: ")
    mmlu = Path(cache) / ("datasets--" + HF_REPO.replace("/", "--"))
    lines.append(
        f"MMLU: task mmlu-hf downloads {HF_REPO} from the Hub "
        f"({'cached' if mmlu.is_dir() else 'not cached'}); --mmlu-dir DIR uses a local copy"
    )
    return lines


def gather(
    store: Path | None = None,
    *,
    build: BuildInfo | None = None,
    machine: Machine | None = None,
    env: dict[str, str] | None = None,
    probe: Callable[[], BuildInfo] | None = None,
) -> Report:
    """Everything the doctor reports; ``build``/``machine``/``env`` stand in for the real
    ones in tests."""
    if build is None:
        from emergetui.engine.buildinfo import probe as real_probe

        build = (probe or real_probe)()
    machine = machine or Machine.detect()
    env = dict(os.environ if env is None else env)
    report = Report()
    lines, problems = build_section(build, machine)
    report.sections.append(("llama.cpp", lines))
    report.problems += problems
    hub, more = hub_section(env)
    report.sections.append(("Hugging Face", hub))
    report.problems += more
    report.sections.append(("results store", store_section(store)))
    report.sections.append(("task sources", sources_section(env, hub[0])))
    return report


def doctor_text(store: Path | None = None, **kw: object) -> str:
    """The report as text, with any token value scrubbed (belt and braces)."""
    text = gather(store, **kw).render()  # type: ignore[arg-type]
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        value = os.environ.get(var)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text
