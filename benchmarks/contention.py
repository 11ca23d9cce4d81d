"""Throughput on a busy machine, and in the lab: the scorer against llama.cpp's own slowdown.

    python benchmarks/contention.py [--items 150] [--k 1,2,4] [--rounds 3] [--busy py|numpy]
                                    [--threads N] [--lab-runs 3] [--skip-scoring] [--skip-lab]

Part 1 (scoring under load). Workload: ``--items`` four-option items behind a
shared 5-shot prefix (150 items = 600 requests) on a small llama (d = 256,
4 layers, 8k vocabulary) written with ``emergetui.models.gguf_writer``. Two figures,
as in ``benchmarks/scoring.py`` (whose pieces this reuses):

(a) the raw limit: one ``llama_decode`` per chunk of fresh single-sequence
    tokens, every distinct token once, logits only at the scored positions;
(b) ``Engine.score()`` on the workload.

Each round runs K = 0 (quiet) and every ``--k`` with K background busy
processes (started and stopped here; ``py``: a pure-Python loop, ``numpy``: a
single-threaded BLAS matmul loop, which also loads the caches), (a) and (b)
alternating in order. Per K: the medians, each figure's slowdown factor against
quiet, and the engine's slowdown relative to the raw decode's (the target: at
most 1.3 at K = 2). This machine is shared, so the noise is printed too: the
other processes' busy cores (from /proc/stat) during the quiet runs.

``GOMP_SPINCOUNT=300000 python benchmarks/contention.py --threads 2`` shows the
behaviour before ``emergetui.engine.threads`` (libgomp's default spin-waiting).
On Linux with autogroup scheduling the busy processes, children of this one,
share its session's CPU share, as programs started from the same terminal do.

Part 2 (the lab vs batch mode). The bundled toy ladder, run ``--lab-runs``
times each way, alternating: the batch path (the runner's events consumed by
the progress display, as ``emergetui --batch`` does) and the lab (the Textual
app headless via ``App.run_test``, the run screen driving a real run and
redrawing its live curve). Items per second over the runner's own elapsed time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the scoring benchmark's workload, model vocabulary and limit (a)
import scoring as sb  # noqa: E402

from emergetui import Engine  # noqa: E402
from emergetui.models.gguf_writer import LlamaShape, random_llama_weights, write_llama_gguf  # noqa: E402

BUSY_CODE = {
    "py": "while True:\n    pass\n",
    "numpy": "import numpy as np\na = np.random.rand(384, 384)\nwhile True:\n    a @ a\n",
}


# -- the machine's load ----------------------------------------------------------------------
def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals[:8]) - idle, sum(vals[:8])


def _own_jiffies() -> int:
    """utime + stime of this process and its waited-for children."""
    with open("/proc/self/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15])


@contextlib.contextmanager
def others_busy() -> Iterator[list[float]]:
    """Yields a list that receives, on exit, how many cores other processes kept busy meanwhile."""
    out: list[float] = []
    b0, t0 = _cpu_jiffies()
    o0 = _own_jiffies()
    yield out
    b1, t1 = _cpu_jiffies()
    o1 = _own_jiffies()
    n_cpu = os.cpu_count() or 1
    out.append(n_cpu * ((b1 - b0) - (o1 - o0)) / max(1, t1 - t0))


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:4])


@contextlib.contextmanager
def busy(k: int, kind: str) -> Iterator[None]:
    """K CPU-bound processes (one thread each) for the duration of the block."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_CODE[kind]], env=env) for _ in range(k)]
    try:
        if procs:
            time.sleep(0.5)  # let them start (imports) and spin
        yield
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


# -- part 1: scoring ----------------------------------------------------------------------------
def small_model(path: Path) -> Path:
    """d = 256, 4 layers, 8k syllable vocabulary: ~6M parameters, F32 (under 64 MB: one thread)."""
    vocab = sb.syllable_vocab(8000)
    shape = LlamaShape(
        n_vocab=vocab.size, n_embd=256, n_layer=4, n_head=4, n_head_kv=4, n_ff=704, n_ctx=2048
    )
    return write_llama_gguf(
        path, shape, vocab, random_llama_weights(shape, seed=0), name="bench-d256"
    )


@dataclass
class Runs:
    a: dict[int, list[float]] = field(default_factory=dict)
    b: dict[int, list[float]] = field(default_factory=dict)
    quiet_others: list[float] = field(default_factory=list)


def scoring_part(args: argparse.Namespace, model: Path) -> None:
    eng = Engine.load(model, n_gpu_layers=0, n_threads=args.threads)
    pairs = sb.workload(args.items)
    encoded = [eng.encode_pair(c, t) for c, t in pairs]
    tokens, n_rows = sb.limit_plan(encoded)
    print(
        f"part 1: {model.name} ({model.stat().st_size >> 20} MB, llama.cpp threads "
        f"{args.threads or 'default'}), {len(pairs)} requests, {len(tokens)} distinct tokens, "
        f"{n_rows} scored rows; busy processes: {args.busy}",
        flush=True,
    )
    eng.score(pairs[:8])  # warm-up
    sb.limit_decode(eng, tokens, n_rows)
    ks = [0] + args.k
    runs = Runs()

    def score() -> float:
        t0 = time.perf_counter()
        out = eng.score(pairs)
        assert all(s.error is None for s in out)
        return time.perf_counter() - t0

    for rnd in range(args.rounds):
        for k in ks:
            with busy(k, args.busy), others_busy() as other:
                first_a = (rnd + k) % 2 == 0
                if first_a:
                    ta = sb.limit_decode(eng, tokens, n_rows)
                    tb = score()
                else:
                    tb = score()
                    ta = sb.limit_decode(eng, tokens, n_rows)
            runs.a.setdefault(k, []).append(ta)
            runs.b.setdefault(k, []).append(tb)
            if k == 0:
                runs.quiet_others.append(other[0])
            print(
                f"  round {rnd + 1} K={k}: (a) {ta:6.2f} s  (b) {tb:6.2f} s"
                f"  (b)/(a) time {tb / ta:4.2f}"
                f"   load {loadavg()}",
                flush=True,
            )
    eng.close()
    report_scoring(runs, ks)


def report_scoring(runs: Runs, ks: list[int]) -> None:
    med = statistics.median
    a0, b0 = med(runs.a[0]), med(runs.b[0])
    pair0 = med([b / a for a, b in zip(runs.a[0], runs.b[0])])
    print("   K   (a) raw s  (b) score s   slowdown (a)  slowdown (b)  (b)/(a) slowdowns  paired")
    for k in ks:
        a, b = med(runs.a[k]), med(runs.b[k])
        paired = med([tb / ta for ta, tb in zip(runs.a[k], runs.b[k])]) / pair0
        target = "   (target <= 1.3)" if k == 2 else ""
        print(
            f"  {k:2d}  {a:9.2f}  {b:11.2f}   {a / a0:12.2f}  {b / b0:12.2f}"
            f"  {(b / b0) / (a / a0):17.2f}"
            f"  {paired:6.2f}{target}"
        )
    print(
        f"  quiet throughput: (b) is {a0 / b0:.2f}x the raw decode's; medians of "
        f"{len(runs.a[0])} rounds; 'paired' = median (b)/(a) of the same round over quiet's"
    )
    spread = [max(v) / min(v) for v in (runs.a[0], runs.b[0])]
    print(
        f"  noise: other processes kept {min(runs.quiet_others):.2f}-{max(runs.quiet_others):.2f}"
        f" cores busy during the quiet runs; quiet runs spread {spread[0]:.2f}x (a),"
        f" {spread[1]:.2f}x (b) (max/min)",
        flush=True,
    )


if TYPE_CHECKING:
    from emergetui.run.spec import ExperimentSpec


# -- part 2: the lab vs batch mode -----------------------------------------------------------------
def _toy_spec(limit: int | None) -> ExperimentSpec:
    from emergetui.run.spec import ExperimentSpec

    return ExperimentSpec(limit=limit)


def _items(store: Path, run_id: str) -> int:
    from emergetui.store.results import Store

    with Store(store) as s:
        return s.count_items(run_id)


def batch_run(store: Path, limit: int | None) -> tuple[float, int]:
    """What ``emergetui --batch`` does while the run goes (the analysis after it is not timed)."""
    from emergetui.cli.progress import make_display
    from emergetui.run.events import RunFinished
    from emergetui.run.runner import Runner
    from emergetui.run.spec import build_experiment
    from emergetui.store.results import Store

    spec = _toy_spec(limit)
    with Store(store) as s, contextlib.redirect_stderr(io.StringIO()):
        runner = Runner(build_experiment(spec).config, s)
        display = make_display(json_mode=False)
        elapsed = 0.0
        for ev in runner.events():
            display.handle(ev)
            if isinstance(ev, RunFinished):
                elapsed = ev.elapsed_s
        display.close()
    return elapsed, _items(store, runner.run_id)


def lab_run(store: Path, limit: int | None) -> tuple[float, int]:
    """The lab, headless: the run screen drives a real run and redraws as its batches arrive."""
    from emergetui.models.fit import Memory
    from emergetui.run.runner import Runner
    from emergetui.tui.app import LabApp
    from emergetui.tui.screens.run import RunScreen
    from emergetui.tui.screens.start import RungTable, StartScreen

    finished: list[float] = []

    class Timed(Runner):
        def events(self):  # type: ignore[no-untyped-def]
            for ev in super().events():
                if type(ev).__name__ == "RunFinished":
                    finished.append(ev.elapsed_s)  # type: ignore[attr-defined]
                yield ev

    spec = _toy_spec(limit)
    memory = Memory(ram_free=16 * 10**9, vram_free=0, source="benchmark")
    app = LabApp(spec, store, memory=memory, open_results_when_done=False, runner_factory=Timed)
    screen = RunScreen(spec, runner_factory=Timed)

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, StartScreen))
            # as a person would: start once the start screen has read the ladder and the tasks
            start = app.screen
            await _until(pilot, lambda: bool(start.query_one(RungTable).rows_info))
            await _until(pilot, lambda: start.query_one("#tasks").option_count > 0)
            await pilot.pause(0.5)
            await app.push_screen(screen)
            # not pilot.pause(): each one waits for every widget and forces a screen update,
            # work the real lab does not do; the runner times itself
            deadline = time.monotonic() + 600
            while screen.ended is None and time.monotonic() < deadline:
                await asyncio.sleep(0.25)

    asyncio.run(body())
    if screen.ended is None or screen.ended.error or not finished or screen.run_id is None:
        raise SystemExit(f"the lab's run did not finish: {screen.ended}")
    return finished[0], _items(store, screen.run_id)


async def _until(pilot: object, cond: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the lab")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


def lab_part(args: argparse.Namespace) -> None:
    print(
        f"part 2: the toy ladder (limit {args.lab_limit or 'default'}), batch vs lab, alternating",
        flush=True,
    )
    rates: dict[str, list[float]] = {"batch": [], "lab": []}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.lab_runs):
            order = [("batch", batch_run), ("lab", lab_run)]
            for name, fn in order if rnd % 2 == 0 else order[::-1]:
                with others_busy() as other:
                    elapsed, n = fn(Path(tmp) / f"{name}-{rnd}.sqlite", args.lab_limit)
                rates[name].append(n / elapsed)
                print(
                    f"  run {rnd + 1} {name:5s}: {n} items in {elapsed:5.2f} s"
                    f" = {n / elapsed:7.1f} items/s"
                    f"   (other processes: {other[0]:.2f} cores busy)",
                    flush=True,
                )
    b, lab = statistics.median(rates["batch"]), statistics.median(rates["lab"])
    pairs = statistics.median([x / y for x, y in zip(rates["lab"], rates["batch"])])
    print(
        f"  median items/s: batch {b:.1f}, lab {lab:.1f}: lab/batch = {lab / b:.2f} "
        f"(paired median {pairs:.2f}; target >= 0.90)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--items", type=int, default=150, help="four-option items (150 = 600 requests)")
    ap.add_argument("--k", default="1,2,4", help="numbers of busy background processes")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of quiet + every K")
    ap.add_argument("--busy", choices=sorted(BUSY_CODE), default="py")
    ap.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: the engine's)"
    )
    ap.add_argument(
        "--model", type=Path, default=None, help="a GGUF instead of the d=256 synthetic one"
    )
    ap.add_argument("--lab-runs", type=int, default=3)
    ap.add_argument("--lab-limit", type=int, default=None, help="items per task setting in part 2")
    ap.add_argument("--skip-scoring", action="store_true")
    ap.add_argument("--skip-lab", action="store_true")
    args = ap.parse_args()
    args.k = [int(x) for x in args.k.split(",") if x.strip()]
    print(f"machine: {os.cpu_count()} CPUs, load average {loadavg()}", flush=True)
    if not args.skip_scoring:
        with tempfile.TemporaryDirectory() as tmp:
            model = args.model or small_model(Path(tmp) / "bench-d256.gguf")
            scoring_part(args, model)
    if not args.skip_lab:
        lab_part(args)


if __name__ == "__main__":
    main()
