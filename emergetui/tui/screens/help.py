"""The help screen: what the lab shows and which key does what."""

from __future__ import annotations

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
- `e`: export the report files (Markdown, CSV, JSON, plots)

## Everywhere
- `ctrl+p`: command palette (open any stored run, export, theme...)
- `ctrl+t`: light / dark theme
- `?` or `f1`: this help
- `q` or `ctrl+c`: quit; a running run is cancelled first and the store stays
  consistent
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss()
