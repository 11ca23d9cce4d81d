"""The Textual app: screens, global keys, theme, and a quit that never leaves a run half-written.

``emergetui`` with no arguments calls :func:`run_app` with the
:class:`~emergetui.run.spec.ExperimentSpec` the command line describes, so every
choice (``--ladder``, ``--task``, ``--shots``, ...) pre-fills the start screen,
and the lab builds experiments from the same typed spec as ``--batch`` does.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from emergetui.analysis.analyze import AnalysisConfig
from emergetui.models.fit import Memory
from emergetui.run.spec import ExperimentSpec
from emergetui.tui import adapters
from emergetui.tui.adapters import REPORT_FORMATS
from emergetui.tui.driver import RunnerFactory
from emergetui.tui.palette import LabCommands
from emergetui.tui.screens.help import HelpScreen
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.screens.run import RunScreen
from emergetui.tui.screens.start import StartScreen
from emergetui.tui.styles import LAB_CSS

DARK, LIGHT = "textual-dark", "textual-light"


class LabApp(App[int]):
    TITLE = "emergetui"
    CSS = LAB_CSS
    COMMANDS = App.COMMANDS | {LabCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
    ]

    def __init__(
        self,
        spec: ExperimentSpec | None = None,
        store: Path | None = None,
        *,
        memory: Memory | None = None,
        report_dir: Path | None = None,
        open_results_when_done: bool = True,
        runner_factory: RunnerFactory | None = None,
        analysis_config: AnalysisConfig | None = None,
        report_formats: tuple[str, ...] = REPORT_FORMATS,
    ) -> None:
        """``spec`` pre-fills the start screen; ``store`` is the results database (None: the
        default). ``memory`` pins the machine's free RAM/VRAM (tests and screenshots need stable
        fit columns); ``runner_factory`` replaces :class:`~emergetui.run.runner.Runner` (tests
        hold a rung back with it);
        ``analysis_config`` and ``report_formats`` let tests use small bootstraps and skip PNGs."""
        super().__init__()
        self.spec = spec if spec is not None else ExperimentSpec()
        self.store_path = store
        self._memory = memory
        self.report_dir = report_dir or Path.cwd()
        self.open_results_when_done = open_results_when_done
        self.quitting = False
        self.runner_factory = runner_factory
        self.analysis_config = analysis_config
        self.report_formats = report_formats

    @property
    def analysis_seed(self) -> int:
        return self.spec.seed

    def memory(self) -> Memory:
        """Free memory for the fit columns; measured once (it probes the GPU) unless injected."""
        if self._memory is None:
            self._memory = adapters.machine_memory()
        return self._memory

    def on_mount(self) -> None:
        self.theme = DARK
        self.push_screen(StartScreen())

    # -- navigation -------------------------------------------------------------------------
    def start_run(self, spec: ExperimentSpec, expect_run_id: str | None = None) -> None:
        if self.active_run() is not None:
            self.notify("a run is already in progress", severity="warning")
            return
        self.push_screen(
            RunScreen(spec, expect_run_id=expect_run_id, runner_factory=self.runner_factory)
        )

    def open_results(self, run_id: str) -> None:
        self.push_screen(ResultsScreen(run_id))

    def active_run(self) -> RunScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, RunScreen) and s.running), None)

    # -- actions -------------------------------------------------------------------------------
    def action_new_run(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, StartScreen):
            if self.screen is self.active_run():
                self.notify("a run is in progress: cancel it first (c)")
                return
            self.pop_screen()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme != LIGHT else DARK

    def action_cancel_run(self) -> None:
        run = self.active_run()
        if run is not None:
            run.cancel()

    async def action_quit(self) -> None:
        """Cancel a running run first and exit once its worker has drained the runner.

        A second quit while cancelling exits at once; the worker still
        finishes the runner's current wave before the process ends.
        """
        run = self.active_run()
        if run is None or self.quitting:
            self.exit(0)
            return
        self.quitting = True
        run.cancel()
        self.notify(
            "stopping the run: the current wave is being stored (press q again to force)",
            title="quitting",
            timeout=30,
        )


def run_app(spec: ExperimentSpec, store: Path | None = None) -> int:
    app = LabApp(spec, store)
    code = app.run()
    return code if isinstance(code, int) else 0
