"""The core never imports textual: the import-linter contract in pyproject.toml, run as a test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_core_modules_do_not_import_textual_at_runtime() -> None:
    code = (
        "import sys; import emergetui.cli, emergetui.batch, emergetui.runner, emergetui.analysis.analyze, "
        "emergetui.report.termplot; bad=[m for m in sys.modules if m.startswith('textual')]; print(bad); "
        "raise SystemExit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
