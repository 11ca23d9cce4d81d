"""Test data shared by the task tests (imported by conftest and tests)."""

from __future__ import annotations

import csv
from pathlib import Path

# Self-written questions in MMLU's CSV layout (never real MMLU content).
MMLU_ROWS = {
    "abstract_algebra": {
        "dev": [
            ["Which number is the additive identity?", "0", "1", "2", "3", "A"],
            ["How many elements has the group Z_3?", "1", "2", "3", "4", "C"],
            ["Is the empty set a group?", "Yes", "No", "Sometimes", "Only finite", "B"],
        ],
        "val": [["What is 1+1 in Z_2?", "0", "1", "2", "3", "A"]],
        "test": [
            ["What is the order of 2 in Z_4?", "1", "2", "3", "4", "B"],
            ['Pick, the "odd" one', "a,b", "c", "d\ne", "f", "D"],
            ["Which is a field?", "Z_4", "Z_6", "Z_5", "Z_8", "C"],
        ],
    },
    "astronomy": {
        "dev": [
            ["What orbits a planet?", "A moon", "A star", "A galaxy", "A comet", "A"],
            ["What is the Sun?", "A planet", "A star", "A moon", "A nebula", "B"],
        ],
        "val": [["Which is a gas giant?", "Mars", "Venus", "Jupiter", "Earth", "C"]],
        "test": [["Which planet is red?", "Mars", "Venus", "Neptune", "Saturn", "A"]],
    },
}


def write_mmlu(root: Path, rows: dict = MMLU_ROWS) -> Path:
    for subject, splits in rows.items():
        for split, data in splits.items():
            folder = root / split
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{subject}_{split}.csv", "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(data)
    return root
