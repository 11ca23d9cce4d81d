"""Snapshots of the main screens (regenerate with ``pytest tests/tui --snapshot-update``).

They use the synthetic demo run (see ``tui_support``) so that the pictures
show an emergent curve and are identical on every machine. Each scenario
also checks the screen's text, and writes it to ``docs/screens/`` when
``EMERGETUI_WRITE_SCREENS=1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_support import capturing, demo_app, make_demo_store, show_results, show_run, show_start


@pytest.fixture
def demo_store(tmp_path: Path) -> Path:
    path = tmp_path / "demo.sqlite"
    make_demo_store(path)
    return path


def test_start_screen_80x24(snap_compare: Any, demo_store: Path, tiny_ladder: Path) -> None:
    app = demo_app(
        demo_store, ladder=str(tiny_ladder), tasks=("arith-1digit-add",), shots=(0, 1), limit=4
    )
    expected = [
        "use",
        "rung",
        "cached",
        "fits",
        "GPU",
        "Start",
        "CPU only",
        "tasks: arith-1digit-add",
    ]
    check = capturing("start-80x24", (80, 24), show_start, expected)
    assert snap_compare(app, terminal_size=(80, 24), run_before=check)


def test_run_screen_live_curve(snap_compare: Any, demo_store: Path) -> None:
    expected = [
        "scoring",
        "24/40",
        "exact_match (discrete)",
        "▶ 1B",
        "settled",
        "tok/s",
        "scoring (95% CI)",
    ]
    check = capturing("run", (100, 30), show_run, expected)
    assert snap_compare(demo_app(demo_store), terminal_size=(100, 30), run_before=check)


def test_results_discrete_metric(snap_compare: Any, demo_store: Path) -> None:
    expected = ["EMERGENT", "mirage test", "exact_match (discrete", "critical scale"]
    check = capturing("results-curve-discrete", (100, 30), show_results, expected)
    assert snap_compare(demo_app(demo_store), terminal_size=(100, 30), run_before=check)


def test_results_continuous_metric(snap_compare: Any, demo_store: Path) -> None:
    async def continuous(pilot: Any) -> None:
        await show_results(pilot, "m")

    check = capturing(
        "results-curve-continuous", (100, 30), continuous, ["logprob_correct (continuous", "SMOOTH"]
    )
    assert snap_compare(demo_app(demo_store), terminal_size=(100, 30), run_before=check)
