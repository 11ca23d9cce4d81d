"""The help screen: what the lab shows and which key does what."""

from __future__ import annotations

import subprocess
import sys

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# emergetui — the emergence lab

Run a **ladder** (one model family in growing sizes) on tasks and watch an
ability appear as the models grow.

## Start screen
- `←` / `→` or `1` to `3`: the tabs demo, new run, previous runs (or click them)
- `d` or **Run the demo**: run the bundled demo ladder
- `space`, `enter` or a click: use or skip the highlighted rung
- `s` or **Start**: start the run (the same choices make the same run id, so
  a stopped run resumes)
- in previous runs: `enter` opens the results, `r` reruns or resumes

Rung columns: size on disk, cached (no download needed), fits this machine's
free RAM/VRAM, and the GPU layers llama.cpp will get (`all`, `CPU`, `n/N`).

## Run screen
- `c`: cancel; the current wave is stored and the run stays resumable
- `r`: resume a cancelled run (stored items are skipped)
- `m` / `M`: discrete or continuous metric / next continuous metric
- `t` / `T`: next / previous task setting
- `v`: results of this run

The orange point is the rung being scored, with its running 95% interval
(Wilson for 0/1 metrics, normal otherwise); it settles when the task ends.

## Results screen
- `←` / `→` or `1` to `6`: table, curve, loss, ICL, verdicts, probes (or click
  the tabs)
- `m`: the mirage test, the same outputs under a discrete or a continuous metric
- `t`: next task setting
- `x`: x axis of the curve: parameters, training compute (6·N·D), held-out loss (bits/byte)
- `c`: the same experiment's runs on other ladders on the same chart (`--batch --ladder a
  --ladder b` stores one run per ladder)
- `e`: export the report files (Markdown, CSV, JSON, plots)

## Everywhere
- `ctrl+p`: command palette (open any stored run, export, theme...)
- `ctrl+t`: light / dark theme
- `?` or `f1`: this help; `d` in it: `emergetui doctor` (the llama.cpp build, devices,
  caches, token presence, store, task sources, and the command that fixes each problem)
- `q` or `ctrl+c`: quit; a running run is cancelled first and the store stays
  consistent
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close"),
        Binding("d", "doctor", "Doctor"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss()

    def action_doctor(self) -> None:
        """The doctor's text, from its own process (the lab stays responsive meanwhile)."""
        self.query_one(Markdown).update("# emergetui doctor\n\nasking llama.cpp ...")
        self.run_worker(self._doctor, thread=True, exclusive=True)

    def _doctor(self) -> None:
        got = subprocess.run(
            [sys.executable, "-m", "emergetui", "doctor"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        text = got.stdout or got.stderr
        body = f"# emergetui doctor\n\n```text\n{text}```\n\n`d`: again, `escape`: close"
        self.app.call_from_thread(self.query_one(Markdown).update, body)
