"""Fixtures for the task tests: the real BIG-bench files in ../shared, and tiny MMLU CSVs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tasks_testdata import write_mmlu

REPO = Path(__file__).resolve().parents[2]


def bigbench_root() -> Path:
    env = os.environ.get("EMERGETUI_SHARED")
    shared = Path(env) if env else REPO.parent / "shared"
    return shared / "fixtures" / "bigbench"


@pytest.fixture(scope="session")
def bb() -> Path:
    """Folder of unchanged BIG-bench task.json files (skips the test when absent)."""
    root = bigbench_root()
    if not (root / "arithmetic" / "1_digit_addition" / "task.json").is_file():
        pytest.skip(f"BIG-bench fixtures not found at {root}")
    return root


@pytest.fixture
def mmlu_dir(tmp_path: Path) -> Path:
    return write_mmlu(tmp_path / "mmlu")
