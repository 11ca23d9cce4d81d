"""Start screen: pick a ladder, rungs, tasks and settings and start; or open a stored run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)

from emergetui.fmt import fmt_bytes, fmt_params
from emergetui.tui import adapters
from emergetui.tui.messages import LadderRowsReady
from emergetui.tui.tabkeys import arrows_free, show_tab, step_tab, tab_bindings, tab_title
from emergetui.tui.widgets.demo_panel import DemoPanel

if TYPE_CHECKING:
    from emergetui.tui.app import LabApp


class RungTable(DataTable[Text]):
    """Rungs of the chosen ladder; Enter, Space or a click toggles whether a rung is run."""

    BINDINGS = [Binding("space", "toggle_rung", "Use rung")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.rows_info: list[adapters.RungRow] = []
        self.chosen: set[str] = set()

    HEADERS = ("use", "rung", "params", "size", "cached", "fits", "GPU")

    def on_mount(self) -> None:
        if not self.columns:
            self._set_columns([])

    def _set_columns(self, rows: list[tuple[str, ...]]) -> None:
        # widths from the cells themselves, set with the rows: DataTable would otherwise
        # measure new rows when its message pump goes idle, and a busy machine could show
        # (or a screenshot catch) columns as wide as their titles, cutting "173.3 KiB" short
        self.clear(columns=True)
        for i, title in enumerate(self.HEADERS):
            width = max([len(title), *(Text(row[i]).cell_len for row in rows)])
            self.add_column(title, width=width, key=title)

    def fill(self, rows: list[adapters.RungRow]) -> None:
        self.rows_info = rows
        self.chosen = {r.label for r in rows}
        self._redraw()

    def _redraw(self) -> None:
        cursor = self.cursor_row
        table: list[tuple[str, ...]] = []
        for r in self.rows_info:
            fits = "?" if r.fits is None else ("yes" if r.fits else "NO")
            table.append(
                (
                    "✔" if r.label in self.chosen else "·",
                    r.label,
                    fmt_params(r.params),
                    fmt_bytes(r.size_bytes) if r.size_bytes else "?",
                    "yes" if r.cached else "no",
                    fits,
                    r.gpu_layers,
                )
            )
        self._set_columns(table)
        for r, cells in zip(self.rows_info, table):
            self.add_row(*(Text(c) for c in cells), key=r.label)
        if self.rows_info:
            self.move_cursor(row=min(cursor, len(self.rows_info) - 1))

    def action_toggle_rung(self) -> None:
        if not self.rows_info:
            return
        label = self.rows_info[self.cursor_row].label
        self.chosen ^= {label}
        self._redraw()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle_rung()

    @property
    def highlighted(self) -> adapters.RungRow | None:
        return self.rows_info[self.cursor_row] if self.rows_info else None


class RunsTable(DataTable[Text]):
    """Stored runs, newest first; Enter opens the results, r runs the same experiment again."""

    BINDINGS = [
        Binding("r", "resume", "Rerun/resume"),
        Binding("f5", "refresh", "Refresh"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)

    def selected_run(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def action_resume(self) -> None:
        run_id = self.selected_run()
        if run_id:
            cast(StartScreen, self.screen).resume_run(run_id)

    def action_refresh(self) -> None:
        cast(StartScreen, self.screen).refresh_runs()


START_TABS = ("demo", "new", "runs")


class StartScreen(Screen[None]):
    BINDINGS = [
        Binding("d", "demo", "Run the demo"),
        Binding("s", "start", "Start run"),
        *tab_bindings(START_TABS),
        # the tabs' letters from before the digits (the footer shows ←→ for all of them)
        Binding("o", "show_runs", "Previous runs", show=False),
        Binding("n", "show_new", "New run", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._choices: list[adapters.LadderChoice] = []
        self._task_labels: dict[str, str] = {}  # task spec (a name or a file) -> what is shown
        self.title = "emergetui — the emergence lab"

    @property
    def lab(self) -> LabApp:
        return cast("LabApp", self.app)

    def compose(self) -> ComposeResult:
        spec = self.lab.spec
        self._choices = adapters.available_ladders(spec.ladder)
        usable = [c for c in self._choices if c.ladder is not None]
        initial = next(
            (c.name for c in usable if spec.ladder in (c.name, c.spec)),
            usable[0].name if usable else None,
        )
        yield Header()
        with TabbedContent(initial="demo" if self._demo_first() else "new"):
            with TabPane(tab_title(0, "Demo"), id="demo"):
                yield DemoPanel()
            with TabPane(tab_title(1, "New run"), id="new"), Horizontal(id="start-body"):
                with Vertical(id="ladder-col"):
                    yield Select(
                        [
                            (f"{c.name}" + ("" if c.ladder else " (unavailable)"), c.name)
                            for c in self._choices
                        ],
                        value=initial if initial is not None else Select.NULL,
                        allow_blank=initial is None,
                        id="ladder",
                        compact=True,
                    )
                    yield RungTable(id="rungs")
                    yield Static("", id="rung-note", markup=False)
                with Vertical(id="task-col"):
                    yield Label("tasks", id="tasks-label", classes="section", markup=False)
                    yield SelectionList[str](id="tasks")
                    with Grid(id="settings"):
                        yield Label("shots")
                        shots = ",".join(str(s) for s in spec.shots) if spec.shots else ""
                        yield Input(shots, placeholder="task default", id="shots", compact=True)
                        yield Label("limit")
                        yield Input(
                            str(spec.limit or ""), placeholder="all items", id="limit", compact=True
                        )
                        yield Label("seed")
                        yield Input(str(spec.seed), id="seed", compact=True)
                        yield Label("GPU layers")
                        yield Input(str(spec.n_gpu_layers), id="gpu", compact=True)
                    yield Button("Start ▶", id="start", variant="success", compact=True)
            with TabPane(tab_title(2, "Previous runs"), id="runs"):
                yield RunsTable(id="runs-table")
                yield Static("enter: open results · r: rerun/resume · F5: refresh", classes="hint")
        yield Footer()

    def _demo_first(self) -> bool:
        """The demo is the first choice unless the command line already chose an experiment."""
        return self.lab.spec == self.lab.spec.demo()

    def on_mount(self) -> None:
        if self._demo_first():
            self.query_one("#demo-start", Button).focus()
        table = self.query_one("#runs-table", DataTable)
        table.add_columns("run", "updated", "status", "ladder", "items", "tasks")
        self._fill_tasks(self._current_choice())
        self._load_rows(self._current_choice())
        self._load_runs()

    def on_screen_resume(self) -> None:
        self._load_runs()

    # -- ladder and rungs -----------------------------------------------------------------
    def _current_choice(self) -> adapters.LadderChoice | None:
        value = self.query_one("#ladder", Select).value
        return next((c for c in self._choices if c.name == value), None)

    @on(Select.Changed, "#ladder")
    def _ladder_changed(self) -> None:
        choice = self._current_choice()
        self._fill_tasks(choice)
        self._load_rows(choice)

    def _fill_tasks(self, choice: adapters.LadderChoice | None) -> None:
        spec = self.lab.spec
        wanted = list(spec.tasks or adapters.default_task_specs(choice.ladder if choice else None))
        self._tasks_worker(list(spec.tasks_dirs), wanted)

    @work(thread=True, exclusive=True, group="tasks")
    def _tasks_worker(self, dirs: list[Path], wanted: list[str]) -> None:
        """The catalogue reads every task file (and user BIG-bench folders): not on the UI
        thread."""
        choices = adapters.task_choices(dirs, wanted)
        self.app.call_from_thread(self._show_tasks, choices)

    def _show_tasks(self, choices: list[adapters.TaskChoice]) -> None:
        tasks = self.query_one("#tasks", SelectionList)
        tasks.clear_options()
        self._task_labels = {t.name: t.label for t in choices}
        tasks.add_options([(t.label, t.name, t.selected) for t in choices])
        self._tasks_changed()

    @on(SelectionList.SelectedChanged, "#tasks")
    def _tasks_changed(self) -> None:
        chosen = [
            self._task_labels.get(t) or str(t)
            for t in self.query_one("#tasks", SelectionList).selected
        ]
        text = f"tasks: {', '.join(chosen)}" if len(chosen) <= 2 else f"tasks: {len(chosen)} chosen"
        self.query_one("#tasks-label", Label).update(text if chosen else "tasks: none chosen")

    def _load_rows(self, choice: adapters.LadderChoice | None) -> None:
        table = self.query_one(RungTable)
        table.fill([])
        note = self.query_one("#rung-note", Static)
        if choice is None or choice.ladder is None:
            note.update(choice.problem if choice and choice.problem else "no ladder")
            return
        note.update("reading model headers...")
        self._rows_worker(choice, self._gpu_layers_override())

    @work(thread=True, exclusive=True, group="rows")
    def _rows_worker(self, choice: adapters.LadderChoice, gpu: int | None) -> None:
        assert choice.ladder is not None
        mem = self.lab.memory()
        rows = adapters.rung_rows(choice.ladder, mem, self.lab.spec.n_ctx, gpu)
        self.post_message(LadderRowsReady(choice, rows, adapters.memory_note(mem)))

    def on_ladder_rows_ready(self, msg: LadderRowsReady) -> None:
        if self._current_choice() != msg.choice:
            return
        self._memory_note = msg.memory_note
        self.query_one(RungTable).fill(msg.rows)
        self._show_note()

    @on(DataTable.RowHighlighted, "#rungs")
    def _show_note(self) -> None:
        row = self.query_one(RungTable).highlighted
        note = getattr(self, "_memory_note", "")
        text = f"{row.label}: {row.reason}\n{note}" if row else note
        self.query_one("#rung-note", Static).update(text)

    def _gpu_layers_override(self) -> int | None:
        text = self.query_one("#gpu", Input).value.strip()
        return int(text) if text.lstrip("-").isdigit() else None

    @on(Input.Submitted, "#gpu")
    def _gpu_changed(self) -> None:
        self._load_rows(self._current_choice())

    # -- start ----------------------------------------------------------------------------------
    def _read_int(self, widget_id: str, what: str, allow_empty: bool = True) -> int | None:
        text = self.query_one(f"#{widget_id}", Input).value.strip()
        if not text and allow_empty:
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{what}: expected an integer, got {text!r}") from None

    def action_start(self) -> None:
        choice = self._current_choice()
        table = self.query_one(RungTable)
        tasks = list(self.query_one("#tasks", SelectionList).selected)
        try:
            if choice is None or choice.ladder is None:
                raise ValueError(choice.problem if choice and choice.problem else "choose a ladder")
            if not table.chosen:
                raise ValueError("choose at least one rung")
            if not tasks:
                raise ValueError("choose at least one task")
            shots_text = self.query_one("#shots", Input).value.strip()
            parts = [s.strip() for s in shots_text.split(",") if s.strip()]
            if not all(s.isdigit() for s in parts):
                raise ValueError(
                    f"shots: expected comma-separated counts like 0,1,3, got {shots_text!r}"
                )
            limit = self._read_int("limit", "limit")
            seed = self._read_int("seed", "seed", allow_empty=False)
            gpu_text = self.query_one("#gpu", Input).value.strip() or "auto"
            gpu: str | int = (
                "auto" if gpu_text == "auto" else self._read_int("gpu", "GPU layers") or 0
            )
        except ValueError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        labels = [r.label for r in table.rows_info if r.label in table.chosen]
        all_chosen = len(labels) == len(table.rows_info)
        spec = self.lab.spec.replace(
            ladder=choice.spec,
            rungs=None if all_chosen else tuple(labels),
            tasks=tuple(tasks),
            shots=tuple(int(s) for s in parts) or None,
            limit=limit,
            seed=seed or 0,
            n_gpu_layers=gpu,
        )
        self.lab.start_run(spec)

    def action_demo(self) -> None:
        self.lab.start_run(self.lab.spec.demo())

    @on(Button.Pressed, "#demo-start")
    def _demo_pressed(self) -> None:
        self.action_demo()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    # -- previous runs -------------------------------------------------------------------------
    def action_show_runs(self) -> None:
        show_tab(self, "runs")

    def action_show_new(self) -> None:
        show_tab(self, "new")

    def action_show_tab(self, tab: str) -> None:
        show_tab(self, tab)

    def action_step_tab(self, step: int) -> None:
        step_tab(self, step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return arrows_free(self) if action == "step_tab" else True

    @work(thread=True, exclusive=True, group="runs")
    def _load_runs(self) -> None:
        try:
            runs = adapters.list_runs(self.lab.store_path)
        except Exception as e:  # noqa: BLE001 - an unreadable store is shown, not fatal
            self.app.call_from_thread(
                self.notify, f"cannot read the store: {e}", severity="error", markup=False
            )
            return
        self.app.call_from_thread(self._fill_runs, runs)

    def refresh_runs(self) -> None:
        self._load_runs()

    def _fill_runs(self, runs: list[adapters.RunSummary]) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.clear()
        for r in runs:
            tasks = ", ".join(sorted({t[0] for t in r.config.get("tasks", [])}))
            cells = (
                r.run_id,
                adapters.fmt_time(r.created),
                r.status,
                r.ladder,
                str(r.n_items),
                tasks,
            )
            table.add_row(*(Text(c) for c in cells), key=r.run_id)

    @on(DataTable.RowSelected, "#runs-table")
    def _open_run(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.lab.open_results(event.row_key.value)

    def resume_run(self, run_id: str) -> None:
        try:
            cfg = adapters.run_config(self.lab.store_path, run_id)
        except Exception as e:  # noqa: BLE001
            self.notify(f"cannot read run {run_id}: {e}", severity="error", markup=False)
            return
        self.lab.start_run(self.lab.spec.resuming(cfg), expect_run_id=run_id)
