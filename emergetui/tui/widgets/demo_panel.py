"""The start screen's first choice: the bundled demo, said in plain words, and one button."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

#: What the default run shows; the batch output's findings say the same from the measured data.
DEMO_TEXT = """\
The demo: seven small llama models (6.5 thousand to 0.8 million parameters), trained
on the same synthetic text and bundled with emergetui. Offline, about half a minute
on a laptop CPU. It shows both sides of the emergence debate (Wei et al. 2022 vs
Schaeffer et al. 2023), each judged by the analysis you would run on a real ladder:

  * a real threshold: addition's exact match and its per-token scores jump
    at the same rung
  * a mirage: a memorised 10-letter chain all right looks sudden, while the
    per-letter accuracy and log-likelihood rise smoothly
  * in-context learning that appears with scale: a letter code that exists
    only in the prompt; every rung is at chance without examples, and only
    the rungs with two or more layers read the code from them
  * loss to ability: held-out loss falls at every rung, and each ability
    leaves chance at its own loss

Press d (or the button) to run it; "New run" picks any ladder, tasks and shots.\
"""


class DemoPanel(Vertical):
    """The demo's description and its start button (``#demo-start``)."""

    DEFAULT_CSS = """
    DemoPanel { padding: 1 2; height: 1fr; }
    DemoPanel #demo-text { height: auto; margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(DEMO_TEXT, id="demo-text", markup=False)
        yield Button("Run the demo ▶", id="demo-start", variant="success")
