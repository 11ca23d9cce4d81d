"""What the batch path imports: no scipy.stats (~0.5 s of CPU), and no llama.cpp in the runner."""

from __future__ import annotations

import ast
import subprocess
import sys


def _modules_after(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    code = (
        f"import sys; import {imports}; "
        f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return list(ast.literal_eval(proc.stdout))


def test_batch_cli_does_not_import_scipy_stats() -> None:
    """The analysis uses scipy.special's functions; scipy.stats is imported only where a
    function needs it (loss-to-ability's ranks)."""
    loaded = _modules_after(
        "emergetui.cli, emergetui.cli.batch, emergetui.cli.parsers, emergetui.analysis.analyze",
        ("scipy.stats",),
    )
    assert loaded == []


def test_runner_finishes_rungs_without_llama_cpp() -> None:
    """A rung with nothing to compute is finished in the runner's process (run/job.py's
    finish_if_done → RungWork), which must stay free of llama.cpp."""
    loaded = _modules_after(
        "emergetui.run.runner, emergetui.run.job, emergetui.run.rung_work", ("llama_cpp",)
    )
    assert loaded == []
