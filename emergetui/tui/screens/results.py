"""Results screen: table, curve per task, mirage toggle, loss-to-ability, ICL, verdicts, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from emergetui.tui import adapters, results_view
from emergetui.tui.live import MetricChoice
from emergetui.tui.messages import ExportDone, ResultsReady
from emergetui.tui.navigation import CurveNavigation
from emergetui.tui.screens.export import ExportScreen
from emergetui.tui.tabkeys import arrows_free, show_tab, step_tab, tab_bindings, tab_title
from emergetui.tui.widgets.curve_plot import CurvePlot
from emergetui.tui.widgets.forecast_panel import ForecastPanel

if TYPE_CHECKING:
    from emergetui.tui.app import LabApp

TABS = ("table", "curve", "loss", "icl", "verdicts", "forecast", "probes")
TAB_TITLES = ("Table", "Curve", "Loss", "ICL", "Verdicts", "Forecast", "Probes")


class ResultsScreen(CurveNavigation, Screen[None]):
    BINDINGS = [
        Binding("m", "toggle_metric", "Discrete/continuous"),
        Binding("M", "cycle_metric", "Next continuous", show=False),
        Binding("t", "next_task", "Next task"),
        Binding("x", "cycle_axis", "X axis", show=False),
        Binding("c", "toggle_compare", "Other ladders", show=False),
        Binding("T", "prev_task", "Prev task", show=False),
        Binding("e", "export", "Export"),
        Binding("escape", "back", "Back"),
        *tab_bindings(TABS),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.data: adapters.ResultsData | None = None
        self.metric = MetricChoice()
        self.task_index = 0
        self.axis = "params"  # x: params -> flops -> loss (analysis/axes.py)
        self.comparing = False  # c: this experiment's runs on other ladders on the same chart
        self.others: list[Any] | None = None
        self.exported: list[Path] = []
        self.title = "emergetui — results"  # set before mount: the header reads it when composed
        self.sub_title = f"run {run_id}"

    @property
    def lab(self) -> LabApp:
        return cast("LabApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"run {self.run_id}: analysing...", id="results-head", markup=False)
        with TabbedContent(initial="curve", id="results-tabs"):
            with TabPane(self._title("table"), id="table"):
                yield DataTable(id="results-table", zebra_stripes=True, cursor_type="row")
            with TabPane(self._title("curve"), id="curve"):
                yield CurvePlot(id="curve-plot")
                yield Static("", id="verdict", classes="explain", markup=False)
            with TabPane(self._title("loss"), id="loss"):
                yield CurvePlot(id="loss-plot")
                yield Static("", id="loss-note", classes="explain", markup=False)
            with TabPane(self._title("icl"), id="icl"):
                yield CurvePlot(id="icl-plot")
                yield Static("", id="icl-note", classes="explain", markup=False)
            with TabPane(self._title("verdicts"), id="verdicts"):
                yield Static("", id="findings", classes="explain", markup=False)
                yield DataTable(id="verdict-table", zebra_stripes=True, cursor_type="row")
            with TabPane(self._title("forecast"), id="forecast"), VerticalScroll():
                yield ForecastPanel(id="forecast-panel")
            with TabPane(self._title("probes"), id="probes"):
                with VerticalScroll():
                    yield Static("", id="probe-maps", markup=False)
        yield Footer()

    @staticmethod
    def _title(tab: str) -> str:
        i = TABS.index(tab)
        return tab_title(i, TAB_TITLES[i])

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="results")
    def _load(self) -> None:
        try:
            data = adapters.load_results(
                self.lab.store_path,
                self.run_id,
                seed=self.lab.analysis_seed,
                config=self.lab.analysis_config,
            )
        except Exception as e:  # noqa: BLE001 - shown on the screen instead of crashing the lab
            self.post_message(ResultsReady(self.run_id, None, f"{type(e).__name__}: {e}"))
            return
        self.post_message(ResultsReady(self.run_id, data))

    def on_results_ready(self, msg: ResultsReady) -> None:
        if msg.data is None:
            self.query_one("#results-head", Static).update(f"run {self.run_id}: {msg.error}")
            return
        self.data = msg.data
        self.query_one("#probe-maps", Static).update(
            msg.data.probes
            or "No probe results: run with `emergetui --probe` (the lab or --batch) to capture "
            "per-layer states, the logit lens and linear probes."
        )
        self._fill_tables()
        self._redraw()

    # -- drawing ----------------------------------------------------------------------------
    def current_task(self) -> tuple[str, str] | None:
        if self.data is None or self.data.analysis is None:
            return None
        keys = list(dict.fromkeys((c.task, c.setting) for c in self.data.analysis.curves))
        return keys[self.task_index % len(keys)] if keys else None

    def current_metric(self) -> str | None:
        task = self.current_task()
        if task is None or self.data is None or self.data.analysis is None:
            return None
        return self.metric.pick(results_view.metrics_of(self.data.analysis, *task))

    def _fill_tables(self) -> None:
        assert self.data is not None
        a = self.data.analysis
        table = self.query_one("#results-table", DataTable)
        vt = self.query_one("#verdict-table", DataTable)
        table.clear(columns=True)
        vt.clear(columns=True)
        if a is None:
            return
        heldout = {r.label: (r.heldout or {}).get("loss") for r in self.data.rungs}
        cols, rows = results_view.table_rows(a, heldout)
        table.add_columns(*cols)
        table.add_rows([tuple(Text(c) for c in row) for row in rows])
        vt.add_columns(
            "task",
            "setting",
            "metric",
            "verdict",
            "jump (paired)",
            "rise/gap",
            "critical",
            "mirage",
            "evidence",
        )
        vt.add_rows([tuple(Text(c) for c in row) for row in results_view.verdict_rows(a)])
        self.query_one("#findings", Static).update(results_view.findings_text(a))

    def _redraw(self) -> None:
        d = self.data
        head = self.query_one("#results-head", Static)
        if d is None:
            return
        task, metric = self.current_task(), self.current_metric()
        base = f"run {d.run_id} · {d.ladder} · {d.status} · {d.n_items} items"
        if d.n_errors:
            base += f" ({d.n_errors} failed)"
        if d.analysis is None or task is None or metric is None:
            head.update(base + "\nno scored items stored for this run")
            return
        keys = list(dict.fromkeys((c.task, c.setting) for c in d.analysis.curves))
        head.update(
            f"{base}\n{task[0]} [{task[1]}] "
            f"({self.task_index % len(keys) + 1}/{len(keys)}, t: next) · "
            f"{metric} ({self.metric.label}, m: toggle)"
        )
        a = d.analysis
        curve = a.curve(task[0], task[1], metric)
        plot = self.query_one("#curve-plot", CurvePlot)
        others = (self.others or []) if self.comparing else []
        if curve is not None and (self.axis != "params" or others):
            plot.show_overlay(results_view.axis_overlay(d, curve, self.axis, others))
        elif curve is not None:
            plot.show_curve(curve, f"{task[0]} [{task[1]}] {metric}")
        else:
            plot.show_message(metric, "no curve")
        self.query_one("#verdict", Static).update(
            results_view.verdict_text(a, task[0], task[1], metric)
        )
        loss = results_view.loss_for(a, task[0], task[1], metric)
        loss_plot = self.query_one("#loss-plot", CurvePlot)
        if loss is not None:
            others = results_view.comparable_losses(a, loss)
            loss_plot.show_losses([loss, *others], curve.chance if curve is not None else None)
        else:
            loss_plot.show_message(f"{metric} vs held-out loss", "no held-out loss")
        any_heldout = any(r.heldout for r in d.rungs)
        self.query_one("#loss-note", Static).update(results_view.loss_text(loss, any_heldout))
        icl = results_view.icl_for(a, task[0], task[1], metric)
        icl_plot = self.query_one("#icl-plot", CurvePlot)
        if icl is not None:
            icl_plot.show_icl(icl, [r.label for r in a.rungs])
        else:
            icl_plot.show_message(f"{metric} vs shots", "one shot count only")
        self.query_one("#icl-note", Static).update(results_view.icl_text(icl))
        self.query_one("#forecast-panel", ForecastPanel).show(a, *task)

    # -- actions -------------------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        show_tab(self, tab)

    def action_step_tab(self, step: int) -> None:
        step_tab(self, step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return arrows_free(self) if action == "step_tab" else True

    def action_cycle_axis(self) -> None:
        from emergetui.analysis.axes import AXES

        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self.notify(f"x axis: {self.axis}", timeout=2)
        self._redraw()

    def action_toggle_compare(self) -> None:
        self.comparing = not self.comparing
        if self.comparing and self.others is None:
            self._load_siblings()
        self._redraw()

    @work(thread=True, exclusive=True, group="siblings")
    def _load_siblings(self) -> None:
        try:
            others = results_view.load_siblings(
                self.lab.store_path,
                self.run_id,
                self.lab.analysis_seed,
                self.lab.analysis_config,
            )
        except Exception as e:  # noqa: BLE001 - a note instead of a crash
            self.app.call_from_thread(self.notify, f"other ladders: {e}", severity="error")
            return
        self.app.call_from_thread(self._siblings_ready, others)

    def _siblings_ready(self, others: list[Any]) -> None:
        self.others = others
        names = ", ".join(s.name for s in others) or "none stored"
        self.notify(f"same experiment on other ladders: {names}", timeout=3)
        self._redraw()

    def action_back(self) -> None:
        self.dismiss()

    def action_export(self) -> None:
        default = self.lab.report_dir / f"emergetui-report-{self.run_id}"
        self.app.push_screen(ExportScreen(default), self._export_to)

    def _export_to(self, out: Path | None) -> None:
        if out is not None:
            self.notify(f"writing the report to {out}...", markup=False)
            self._export_worker(out)

    @work(thread=True, exclusive=True, group="export")
    def _export_worker(self, out: Path) -> None:
        try:
            if self.data is None:
                raise ValueError(f"run {self.run_id} is still being read")
            paths = adapters.export_report(
                self.lab.store_path, self.data, out, self.lab.report_formats
            )
        except Exception as e:  # noqa: BLE001 - a failed export is reported, the lab stays up
            self.post_message(ExportDone(out, [], f"{type(e).__name__}: {e}"))
            return
        self.post_message(ExportDone(out, paths))

    def on_export_done(self, msg: ExportDone) -> None:
        if msg.error:
            self.notify(
                msg.error, title="export failed", severity="error", timeout=10, markup=False
            )
            return
        self.exported = msg.paths
        self.notify(
            f"{len(msg.paths)} files written to {msg.out_dir}",
            title="report exported",
            markup=False,
        )
