"""Deterministic demo data and Pilot helpers for the lab's tests, snapshots and text captures.

The demo run is synthetic (no model): six rungs on which 2-digit addition
jumps from chance between 410M and 1B under exact match, while the
log-probability of the answer rises smoothly. That is the picture the lab
exists to show, and it renders the same on every machine, which real tiny
random models (all at chance) cannot give the snapshots.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot

from emergetui.analysis.analyze import AnalysisConfig
from emergetui.models.fit import Memory
from emergetui.run import events as ev
from emergetui.run.spec import ExperimentSpec
from emergetui.store.results import Store
from emergetui.store.rows import StoredTaskSet
from emergetui.tasks.records import ItemRaw, ItemRecord
from emergetui.tui.app import LabApp
from emergetui.tui.capture import screen_text
from emergetui.tui.live import Moments, SettledTask
from emergetui.tui.messages import RunnerBatch
from emergetui.tui.screens.results import ResultsScreen
from emergetui.tui.screens.run import RunScreen
from emergetui.tui.screens.start import RungTable, StartScreen

MEMORY = Memory(ram_free=16 * 10**9, vram_free=0, source="pinned for tests")
# small bootstraps: the verdicts of the demo run are clear-cut, and the tests run on 2 shared cores
FAST_ANALYSIS = AnalysisConfig(n_boot=200)

DEMO_RUN = "demo0emerge1"
DEMO_TASK = "arith-2digit-add"
DEMO_RUNGS = (
    ("70M", 70_000_000),
    ("160M", 160_000_000),
    ("410M", 410_000_000),
    ("1B", 1_000_000_000),
    ("2.8B", 2_800_000_000),
    ("6.9B", 6_900_000_000),
)
DEMO_SETTINGS = (("shots=0", 0), ("shots=3", 3))
DEMO_ITEMS = 40
DEMO_METRICS = ["exact_match", "logprob_correct", "prob_correct", "token_edit_distance"]


def demo_values(rung_index: int, shots: int, n: int = DEMO_ITEMS) -> dict[str, list[float]]:
    """Per-item metric values of one rung: a sharp exact-match jump over a smooth log-prob rise."""
    rng = random.Random(rung_index * 100 + shots)
    log_p = math.log10(DEMO_RUNGS[rung_index][1])
    p_exact = 1 / (1 + math.exp(-(log_p - 8.85 + 0.15 * shots) * 40))
    out: dict[str, list[float]] = {m: [] for m in DEMO_METRICS}
    for _ in range(n):
        lp = -9.0 + 2.2 * (log_p - 7.8) + 0.3 * shots + rng.gauss(0, 0.8)
        lp = min(lp, -0.01)
        hit = 1.0 if rng.random() < p_exact else 0.0
        out["exact_match"].append(hit)
        out["logprob_correct"].append(lp)
        out["prob_correct"].append(math.exp(lp))
        out["token_edit_distance"].append(0.0 if hit else float(rng.randint(1, 4)))
    return out


def demo_heldout(rung_index: int) -> float:
    return 3.9 - 0.32 * rung_index


def make_demo_store(path: Path) -> str:
    """Write the demo run into a fresh store at ``path``; returns its run id."""
    with Store(path) as store:
        config = {
            "ladder": "demo",
            "rungs": [r for r, _ in DEMO_RUNGS],
            "seed": 0,
            "tasks": [[DEMO_TASK, s] for s, _ in DEMO_SETTINGS],
            "task_specs": [DEMO_TASK],
        }
        store.begin_run(DEMO_RUN, "demo", config)
        for setting, shots in DEMO_SETTINGS:
            store.set_taskset(
                DEMO_RUN,
                StoredTaskSet(
                    DEMO_TASK,
                    setting,
                    shots,
                    DEMO_METRICS,
                    "exact_match",
                    {"exact_match": 0.0},
                    [],
                    DEMO_ITEMS,
                ),
            )
        for i, (label, params) in enumerate(DEMO_RUNGS):
            store.set_rung(DEMO_RUN, i, label, params, f"/models/demo-{label}.gguf", f"{i:064d}")
            loss = demo_heldout(i)
            store.update_rung(
                DEMO_RUN,
                label,
                status="done",
                n_gpu_layers=-1,
                heldout={"loss": loss, "ppl": math.exp(loss), "bpb": loss / 2.1, "tokens": 4096},
            )
            records = []
            for setting, shots in DEMO_SETTINGS:
                values = demo_values(i, shots)
                for j in range(DEMO_ITEMS):
                    records.append(
                        ItemRecord(
                            run_id=DEMO_RUN,
                            rung=label,
                            task=DEMO_TASK,
                            setting=setting,
                            item_id=f"{j:03d}",
                            item_hash=f"h{j}",
                            model_sha256=f"{i:064d}",
                            prompt=f"Q: What is {j} plus {j + 7}?\nA:",
                            choices=[],
                            target_scores=[],
                            targets=[str(2 * j + 7)],
                            raw=ItemRaw(),
                            metrics={m: values[m][j] for m in DEMO_METRICS},
                            shots=shots,
                        )
                    )
            store.put_records(records)
        store.set_run_status(DEMO_RUN, "done")
    return DEMO_RUN


def demo_events(scoring_rung: int = 3, scored: int = 24, downloading: bool = False) -> list[object]:
    """A run caught while rung ``scoring_rung`` has scored ``scored`` items of its first setting
    (or, with ``downloading``, while its file is still being downloaded)."""
    rungs = tuple(
        ev.PlannedRung(label, params, f"/models/demo-{label}.gguf") for label, params in DEMO_RUNGS
    )
    tasks = tuple((DEMO_TASK, s) for s, _ in DEMO_SETTINGS)
    out: list[object] = [ev.RunStarted(DEMO_RUN, "demo", rungs, tasks)]
    for i, (label, params) in enumerate(DEMO_RUNGS[: scoring_rung + 1]):
        if downloading and i == scoring_rung:
            out.append(demo_download(label))
            break
        out += [
            ev.RungStarted(label, i, len(DEMO_RUNGS), params),
            ev.ModelLoaded(label, -1, 0.4 + 0.3 * i, params, params // 2),
        ]
        for setting, shots in DEMO_SETTINGS:
            values = demo_values(i, shots)
            out.append(ev.TaskStarted(label, DEMO_TASK, setting, DEMO_ITEMS, 0))
            n = DEMO_ITEMS if i < scoring_rung else (scored if shots == 0 else 0)
            if n == 0:
                continue
            for start in range(0, n, 8):
                stop = min(n, start + 8)
                out.append(
                    ev.ItemsDone(
                        label,
                        DEMO_TASK,
                        setting,
                        stop,
                        DEMO_ITEMS,
                        {m: tuple(v[start:stop]) for m, v in values.items()},
                        items_per_s=42.0 / (i + 1),
                        tokens_per_s=3100.0 / (i + 1),
                    )
                )
            if n == DEMO_ITEMS:
                means = {m: sum(v) / len(v) for m, v in values.items()}
                out.append(ev.TaskFinished(label, DEMO_TASK, setting, means, DEMO_ITEMS))
                moments = {}
                for m, v in values.items():
                    moments[m] = Moments()
                    moments[m].add(v)
                out.append(SettledTask(label, DEMO_TASK, setting, moments))
        if i < scoring_rung:
            loss = demo_heldout(i)
            out += [
                ev.HeldoutLoss(label, loss, math.exp(loss), loss / 2.1, 4096),
                ev.RungFinished(label, 12.0 + 9 * i, 40_000),
            ]
    return out


def demo_download(rung: str = "6.9B") -> ev.DownloadProgress:
    return ev.DownloadProgress(
        rung,
        f"demo-{rung}-Q4_K_M.gguf",
        1_288_490_188,
        4_402_341_478,
        48_000_000.0,
        64.9,
        0,
        1,
        1_288_490_188,
        4_402_341_478,
    )


async def wait_until(
    pilot: Pilot[object], cond: Callable[[], object], timeout: float = 30.0
) -> None:
    """Let the app run until ``cond()`` holds; fail with the condition's source on timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {cond}")
        await pilot.pause(0.05)


async def settled_text(
    pilot: Pilot[object], expected: Sequence[str] = (), timeout: float = 30.0
) -> str:
    """The screen's text once it shows every ``expected`` snippet and has stopped changing
    (the same text twice, 0.1 s apart). Widgets repaint when their message pumps go idle, so
    on a busy machine a picture taken after a fixed pause can catch a half-drawn screen; on
    timeout the last text is returned, for the caller's assertion to show."""
    deadline = time.monotonic() + timeout
    last = screen_text(pilot.app)
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        text = screen_text(pilot.app)
        if text == last and all(snippet in text for snippet in expected):
            return text
        last = text
    return last


async def palette_pick(pilot: Pilot[object], query: str, wanted: str) -> None:
    """Open the command palette, type ``query`` and run the command whose text holds ``wanted``
    once the palette lists it first (its search runs in the background: a fixed pause is not
    enough on a busy machine)."""
    from textual.command import CommandList, CommandPalette

    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*query)

    def first() -> str:
        hits = app.screen.query_one(CommandList)
        return str(hits.get_option_at_index(0).prompt) if hits.option_count else ""

    await wait_until(pilot, lambda: wanted in first())
    await pilot.press("down")
    await wait_until(pilot, lambda: app.screen.query_one(CommandList).highlighted == 0)
    assert wanted in first()
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, CommandPalette))


def run(coro: object) -> None:
    """Run an async Pilot test body (no pytest asyncio plugin needed)."""
    asyncio.run(coro)  # type: ignore[arg-type]


# -- scenarios shared by the snapshot tests and the text captures ---------------------------
def demo_app(store: Path, **args: object) -> LabApp:
    """The lab on a store holding the demo run; memory pinned so the fit columns are stable."""
    return LabApp(
        ExperimentSpec(**args),
        store,
        memory=MEMORY,
        analysis_config=FAST_ANALYSIS,
        open_results_when_done=False,
    )


async def show_start(pilot: Pilot[object]) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
    table = app.screen.query_one(RungTable)
    await wait_until(
        pilot,
        lambda: (
            bool(table.rows_info) or "no ladder" in str(app.screen.query_one("#rung-note").render())
        ),
    )
    await wait_until(pilot, lambda: app.screen.query_one("#tasks").option_count > 0)

    def widths_settled() -> bool:
        # DataTable measures new rows' cells when its message pump goes idle: on a busy machine
        # a picture taken before that shows columns as wide as their titles
        if table.row_count != len(table.rows_info):
            return False
        for i, col in enumerate(table.ordered_columns):
            cells = [str(table.get_row_at(r)[i]) for r in range(table.row_count)]
            if col.content_width < max([len(str(col.label)), *(len(c) for c in cells)]):
                return False
        return True

    await wait_until(pilot, widths_settled)
    await pilot.pause(0.2)


async def show_run(pilot: Pilot[object], download: bool = False) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
    screen = RunScreen(app.spec, autostart=False)  # type: ignore[attr-defined]
    await app.push_screen(screen)
    items = demo_events(scoring_rung=5, downloading=True) if download else demo_events()
    screen.post_message(RunnerBatch(tuple(items)))
    await wait_until(pilot, lambda: screen.state.run_id == DEMO_RUN)
    # moved points and log lines are shown at most every 0.5 s (the run screen's timer): wait for
    # the last state of both
    await wait_until(pilot, lambda: not screen._curve_due and not screen._log_lines)
    await pilot.pause(0.6)


async def show_results(pilot: Pilot[object], *keys: str) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, StartScreen))
    screen = ResultsScreen(DEMO_RUN)
    await app.push_screen(screen)
    await wait_until(pilot, lambda: screen.data is not None, 60)
    for k in keys:
        await pilot.press(k)
    await pilot.pause(0.2)


async def show_help(pilot: Pilot[object]) -> None:
    await show_start(pilot)
    await pilot.pause(0.2)
    await pilot.press("f1")
    await pilot.pause(0.3)


DOCS_SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"


def check_capture(name: str, text: str, size: tuple[int, int], expected: list[str]) -> None:
    """Assert what a person would read on the screen; with EMERGETUI_WRITE_SCREENS=1 save it
    for the docs."""
    assert len(text.splitlines()) == size[1]
    for snippet in expected:
        assert snippet in text, f"{name}: {snippet!r} not on screen:\n{text}"
    if os.environ.get("EMERGETUI_WRITE_SCREENS"):
        DOCS_SCREENS.mkdir(parents=True, exist_ok=True)
        (DOCS_SCREENS / f"{name}.txt").write_text(text, encoding="utf-8")


def capturing(
    name: str,
    size: tuple[int, int],
    scenario: Callable[[Pilot[object]], Awaitable[None]],
    expected: list[str],
) -> Callable[[Pilot[object]], Awaitable[None]]:
    """A ``run_before`` for ``snap_compare`` that also checks (and may save) the screen's text."""

    async def go(pilot: Pilot[object]) -> None:
        await scenario(pilot)
        check_capture(name, await settled_text(pilot, expected), size, expected)

    return go
