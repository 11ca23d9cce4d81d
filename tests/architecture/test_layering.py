"""The layering: the import-linter contracts in pyproject.toml, and what they mean at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run(
        [exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_no_module_imports_the_package_root() -> None:
    """The root's lazy exports reach every layer (the engine, the API): a module that imports
    `emergetui` itself imports upwards, which the layers contract cannot see (the root is the
    ancestor of every layer). The version lives in emergetui/version.py for that reason."""
    import grimp

    graph = grimp.build_graph("emergetui", cache_dir=None)
    assert graph.find_modules_that_directly_import("emergetui") == set()


def test_core_modules_do_not_import_textual_at_runtime() -> None:
    code = (
        "import sys; import emergetui.cli, emergetui.cli.batch, emergetui.run.runner, "
        "emergetui.analysis.analyze, emergetui.report.termplot; "
        "bad=[m for m in sys.modules if m.startswith('textual')]; print(bad); "
        "raise SystemExit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_analysis_and_reports_load_without_llama_cpp() -> None:
    """A stored run is analysed on a machine without a model: nothing here may load llama.cpp."""
    code = (
        "import sys; import emergetui, emergetui.analysis, emergetui.analysis.analyze, "
        "emergetui.report, emergetui.report.document, emergetui.probe.store, "
        "emergetui.probe.report, emergetui.store.results, emergetui.store.merge; "
        "bad=[m for m in sys.modules if m.startswith('llama_cpp')]; print(bad); "
        "raise SystemExit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lazy_package_exports_the_library_verbs() -> None:
    code = (
        "import sys, emergetui; assert 'llama_cpp' not in sys.modules; "
        "from emergetui import ExperimentSpec, EmergetuiError, run, analyze_run, Engine; "
        "assert ExperimentSpec().ladder == 'toy' and 'llama_cpp' in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
