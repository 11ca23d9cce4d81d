"""Inside the models: per-layer hidden states, logit lens and linear probes across a ladder.

``capture`` reads llama.cpp's per-layer residual states during the real forward
pass (evaluation callback), ``lens`` reads them through the model's own output
head, ``probes`` fits cross-validated linear read-outs, ``run`` ties these
together per (rung, task), ``store`` keeps the results in the run's SQLite file
and ``report`` renders heat maps and a Markdown section.
"""

from emergetui.probe.capture import HiddenCapture, capture_hidden
from emergetui.probe.lens import LensHead
from emergetui.probe.report import heatmap_text, onset, probe_report_markdown
from emergetui.probe.run import Prober, ProbeResult, probe_rung, run_probes
from emergetui.probe.store import behaviour_from_store, load_probe_results, save_probe_results

__all__ = [
    "HiddenCapture",
    "LensHead",
    "ProbeResult",
    "Prober",
    "behaviour_from_store",
    "capture_hidden",
    "heatmap_text",
    "load_probe_results",
    "onset",
    "probe_report_markdown",
    "probe_rung",
    "run_probes",
    "save_probe_results",
]
