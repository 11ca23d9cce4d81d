"""A plotext plot that draws the lab's curves (live or analysed) and redraws on demand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from emergetui.analysis.compare import Overlay
from emergetui.analysis.curves import Curve
from emergetui.analysis.icl import IclResult
from emergetui.analysis.loss_ability import LossAbility
from emergetui.report import figures
from emergetui.report.overlay import draw_overlay
from emergetui.tui import plots
from emergetui.tui.live import LivePoint


class CurvePlot(PlotextPlot):
    """Holds the last drawing so a theme change or resize redraws the same curve.

    plotext builds the whole figure on every paint, and the screen repaints
    every widget on each layout pass (a log line, the footer): the built figure
    is kept until the drawing, the size or the theme changes. During a run the
    lab shares the process and the GIL with the runner, so this is throughput.
    """

    DEFAULT_CSS = """
    CurvePlot { min-height: 8; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title_text = ""
        self._draw: Callable[[Any], object] = lambda plt: figures.draw_message(
            plt, "", "nothing to show yet"
        )
        self._generation = 0
        self._built: tuple[tuple[object, ...], RenderResult] | None = None
        self.builds = 0

    def _show(self, title: str, draw: Callable[[Any], object]) -> None:
        self.title_text = title
        self._draw = draw
        self._generation += 1
        draw(self.plt)
        self.refresh()

    def render(self) -> RenderResult:
        key = (self._generation, self.size, self.app.theme, self.theme)
        if self._built is None or self._built[0] != key:
            self._built = (key, super().render())
            self.builds += 1
        return self._built[1]

    def on_mount(self) -> None:
        self._draw(self.plt)

    def show_live(
        self, points: Sequence[LivePoint], title: str, chance: float | None = None
    ) -> None:
        pts = list(points)
        self._show(title, lambda plt: plots.draw_live(plt, pts, title, chance))

    def show_curve(self, curve: Curve, title: str | None = None) -> None:
        self._show(title or curve.metric, lambda plt: figures.draw_curve(plt, curve, title))

    def show_loss(self, result: LossAbility, chance: float | None = None) -> None:
        self._show(result.metric, lambda plt: figures.draw_loss(plt, result, chance))

    def show_losses(self, results: Sequence[LossAbility], chance: float | None = None) -> None:
        """The first result in focus, the other abilities of the run beside it."""
        title = "abilities vs held-out loss"
        self._show(title, lambda plt: figures.draw_losses(plt, results, title, chance))

    def show_icl(self, result: IclResult, rungs: Sequence[str] | None = None) -> None:
        self._show(result.metric, lambda plt: figures.draw_icl(plt, result, rungs))

    def show_overlay(self, overlay: Overlay) -> None:
        """Curves on another x axis (flops, loss), drawn as ``emergetui compare`` draws them."""
        self._show(overlay.metric, lambda plt: draw_overlay(plt, overlay))

    def show_message(self, title: str, message: str) -> None:
        self._show(title, lambda plt: figures.draw_message(plt, title, message))
