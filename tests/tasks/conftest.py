"""Fixtures for the task tests: the real BIG-bench files in tests/fixtures, and tiny MMLU CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tasks_testdata import write_mmlu

from tests.conftest import FIXTURES


@pytest.fixture(scope="session")
def bb() -> Path:
    """Folder of unchanged BIG-bench task.json files (tests/fixtures/bigbench, with their
    notice).
    """
    return FIXTURES / "bigbench"


@pytest.fixture
def mmlu_dir(tmp_path: Path) -> Path:
    return write_mmlu(tmp_path / "mmlu")
