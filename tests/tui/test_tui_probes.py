"""The results screen's Probes tab shows the --probe heat maps of a stored run."""

from __future__ import annotations

from pathlib import Path

from emergetui.probe.result import ProbeResult
from emergetui.probe.store import save_probe_results
from emergetui.store.results import Store
from emergetui.tui.adapters import probe_heatmaps


def test_probe_heatmaps_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    results = [
        ProbeResult(
            "a",
            "t",
            "shots=0",
            40,
            {"probe_acc": [0.5, 0.55], "lens_prob": [0.1, 0.2]},
            {"params": 10, "probe_chance": 0.5},
        ),
        ProbeResult(
            "b",
            "t",
            "shots=0",
            40,
            {"probe_acc": [0.6, 0.95], "lens_prob": [0.2, 0.9]},
            {"params": 100, "probe_chance": 0.5},
        ),
    ]
    save_probe_results(store, "run1", results)
    text = probe_heatmaps(store, "run1")
    assert "t [shots=0]" in text and "probe_acc" in text and "lens_prob" in text
    assert "1=a" in text and "2=b" in text
    assert probe_heatmaps(store, "other") == ""
