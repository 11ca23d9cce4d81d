"""Inside the models: per-layer hidden states, logit lens and linear probes across a ladder.

``capture`` reads llama.cpp's per-layer residual states during the real forward
pass (evaluation callback), ``lens`` reads them through the model's own output
head, ``probes`` fits cross-validated linear read-outs, ``run`` ties these
together per (rung, task), ``store`` keeps the results in the run's SQLite file
and ``report`` renders heat maps and a Markdown section.

The package loads lazily: reading stored probe results (``result``, ``store``,
``report``) must not load llama.cpp, which ``capture`` needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "HiddenCapture": "emergetui.probe.capture",
    "capture_hidden": "emergetui.probe.capture",
    "LensHead": "emergetui.probe.lens",
    "heatmap_text": "emergetui.probe.report",
    "onset": "emergetui.probe.report",
    "probe_report_markdown": "emergetui.probe.report",
    "Prober": "emergetui.probe.run",
    "probe_rung": "emergetui.probe.run",
    "run_probes": "emergetui.probe.run",
    "ProbeResult": "emergetui.probe.result",
    "behaviour_from_run": "emergetui.probe.store",
    "load_probe_results": "emergetui.probe.store",
    "save_probe_results": "emergetui.probe.store",
}

__all__ = [
    "HiddenCapture",
    "LensHead",
    "ProbeResult",
    "Prober",
    "behaviour_from_run",
    "capture_hidden",
    "heatmap_text",
    "load_probe_results",
    "onset",
    "probe_report_markdown",
    "probe_rung",
    "run_probes",
    "save_probe_results",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'emergetui.probe' has no attribute {name!r}")
    return getattr(import_module(module), name)
