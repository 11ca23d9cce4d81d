"""Keys shared by the screens that draw curves: toggle/cycle the metric, step through task
settings."""

from __future__ import annotations

from emergetui.tui.live import MetricChoice


class CurveNavigation:
    """Mixin for a screen with ``metric``, ``task_index`` and ``_redraw()``."""

    metric: MetricChoice
    task_index: int

    def _redraw(self) -> None: ...  # the screen provides it

    def action_toggle_metric(self) -> None:
        self.metric.toggle()
        self._redraw()

    def action_cycle_metric(self) -> None:
        self.metric.discrete = False
        self.metric.cycle()
        self._redraw()

    def action_next_task(self) -> None:
        self.task_index += 1
        self._redraw()

    def action_prev_task(self) -> None:
        self.task_index -= 1
        self._redraw()
