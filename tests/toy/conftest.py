"""Shared fixtures for the toy ladder's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.toy.files import MANIFEST, TOY_DIR, Manifest


@pytest.fixture(scope="session")
def toy_dir() -> Path:
    if not (TOY_DIR / MANIFEST).exists():
        pytest.skip("the toy ladder has not been built into emergetui/data/toy")
    return TOY_DIR


@pytest.fixture(scope="session")
def manifest(toy_dir: Path) -> Manifest:
    return Manifest.load(toy_dir)
