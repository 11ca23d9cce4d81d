"""The command line's grammar, and the one place where its strings become an
:class:`ExperimentSpec`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emergetui.errors import CliError
from emergetui.run.spec import ExperimentSpec


def _verdict_help() -> str:
    try:
        from emergetui.analysis.rule_text import verdict_rule_text

        return verdict_rule_text()
    except Exception:  # analysis not importable: --help must still work
        return ""


def add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", type=Path, default=None, help="results database (default: user data dir)"
    )


def add_table(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--table",
        choices=("compact", "full"),
        default="compact",
        help="compact: one ladder table per task setting (headline metric and its continuous "
        "partner by rung) and the plots worth seeing; full: the long table of every metric "
        "and rung, every plot and verdict detail",
    )


def batch_parser(with_epilog: bool = False) -> argparse.ArgumentParser:
    """The main parser; the verdict rule (which imports the analysis and scipy) only for --help."""
    p = argparse.ArgumentParser(
        prog="emergetui",
        description="An emergence lab in the terminal. Without arguments, opens the Textual lab.",
        epilog=_verdict_help() if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a = p.add_argument
    a("--batch", action="store_true", help="run headless and print the results")
    a(
        "--ladder",
        action="append",
        default=None,
        help="ladder name (see `emergetui ladders`) or a TOML file; repeat to compare ladders",
    )
    from emergetui.cli.multi import add_series_arguments

    add_series_arguments(p)
    a("--rungs", default=None, help="comma-separated rung labels to run (default: all)")
    a(
        "--task",
        action="append",
        default=None,
        dest="tasks",
        metavar="NAME|PATH",
        help="task name, BIG-bench task.json, folder of subtasks, or task TOML (repeatable)",
    )
    a("--tasks-dir", action="append", default=[], type=Path, help="extra folder of task TOML files")
    a("--mmlu-dir", type=Path, default=None, help="local MMLU data (dev/ val/ test/ CSV folders)")
    a(
        "--bigbench-dir",
        type=Path,
        default=None,
        help="a BIG-bench checkout's bigbench/benchmark_tasks, for --task bigbench:NAME[/SUBTASK] "
        "and --suite (default: $EMERGETUI_BIGBENCH_DIR, or [bigbench] dir in config.toml; "
        "without one, each task's files are downloaded once into the user cache)",
    )
    a(
        "--suite",
        action="append",
        default=[],
        dest="suites",
        metavar="NAME",
        help="named BIG-bench suite: bigbench-lite, wei2022-emergent (repeatable)",
    )
    a("--shots", default=None, help="comma-separated shot counts, e.g. 0,1,2,4,8")
    a("--limit", type=int, default=None, help="items per task setting")
    a("--seed", type=int, default=0)
    a("--n-gpu-layers", default=None, help="auto or a number of layers to offload")
    a("--max-model-gb", type=float, default=None, help="skip rungs whose files exceed this size")
    a("--n-ctx", type=int, default=None, help="context size (KV cells shared by packed requests)")
    a(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for llama.cpp (default: physical cores)",
    )
    a(
        "--fast-packing",
        action="store_true",
        help="pack requests of different items into the same llama.cpp batches: faster, but an "
        "item's log-probs then depend on what else is scored with it (up to ~1 nat on quantized "
        "models; default: batch-invariant scoring, see docs/exactness.md)",
    )
    a(
        "--stall-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop a rung whose worker reports no progress for this long (default 1800)",
    )
    a(
        "--corpus",
        type=Path,
        default=None,
        help="held-out text for the loss (default: the ladder's)",
    )
    a("--no-heldout", action="store_true", help="skip the held-out loss")
    a(
        "--offline",
        action="store_true",
        help="no network: models from the Hugging Face cache, BIG-bench tasks from emergetui's",
    )
    a("--json", action="store_true", help="print one JSON document on stdout")
    a(
        "--probe",
        action="store_true",
        help="after scoring, capture per-layer states and run the logit lens and linear probes "
        "(costs n_layer x n_embd x 4 bytes per item and one more pass over up to "
        "--probe-items items per task setting)",
    )
    a("--probe-items", type=int, default=300, help="items per task setting for --probe")
    a(
        "--rpc",
        default=None,
        metavar="HOST:PORT[,...]",
        help="llama.cpp RPC servers (`emergetui rpc-server` elsewhere) to split each rung's "
        "layers over; models.toml may set rpc = [...] per ladder or rung",
    )
    a("--no-plot", action="store_true", help="skip the terminal plots")
    add_table(p)
    add_store(p)
    return p


def sub_parser(with_epilog: bool = False) -> argparse.ArgumentParser:
    """The subcommands; ``analyze --help`` shows the verdict rule (imports the analysis)."""
    p = argparse.ArgumentParser(prog="emergetui")
    sp = p.add_subparsers(dest="cmd", required=True)
    e = sp.add_parser("export", help="write a run's stored items")
    e.add_argument("run", help="run id, unique prefix, or 'last'")
    e.add_argument("--format", choices=["jsonl"], default="jsonl")
    e.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    add_store(e)
    t = sp.add_parser("tasks", help="list built-in and user tasks")
    t.add_argument("--tasks-dir", action="append", default=[], type=Path)
    t.add_argument(
        "--bigbench-dir",
        type=Path,
        default=None,
        help="also list the JSON tasks of this BIG-bench benchmark_tasks folder",
    )
    lad = sp.add_parser("ladders", help="list ladders and their rungs")
    lad.add_argument("--ladder", action="append", default=[], type=Path, help="extra ladder TOML")
    pl = sp.add_parser("pull", help="download a ladder's files")
    pl.add_argument("ladder")
    pl.add_argument("--rungs", default=None)
    r = sp.add_parser("report", help="write Markdown/CSV/JSON/plots for a run")
    r.add_argument("run", help="run id, unique prefix, or 'last'")
    r.add_argument("--out", type=Path, default=Path("emergetui-report"))
    r.add_argument("--corpus", type=Path, default=None)
    from emergetui.cli.compare import AXIS_CHOICES

    r.add_argument(
        "--x", choices=AXIS_CHOICES, default=None, help="also draw the curves on this x axis"
    )
    add_table(r)
    add_store(r)
    ru = sp.add_parser("runs", help="list stored runs")
    add_store(ru)
    doc = sp.add_parser(
        "doctor",
        help="what llama.cpp was built with, the devices, caches, token (presence only), "
        "store and task sources; the command that fixes each problem (offline)",
    )
    add_store(doc)
    an = sp.add_parser(
        "analyze",
        help="judge per-item records from a JSONL file (no model needed)",
        epilog=_verdict_help() if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    an.add_argument(
        "file",
        type=Path,
        help="one JSON object per line: rung, params, task, setting, "
        "item_id, metrics; optional chance, raw, heldout (what `export` writes)",
    )
    an.add_argument(
        "--json", action="store_true", help="print the document `--batch --json` prints"
    )
    an.add_argument(
        "--out", type=Path, default=None, help="also write the report (md/csv/json) here"
    )
    an.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    add_table(an)
    from emergetui.cli.remote import add_parsers

    add_parsers(sp)
    from emergetui.cli.compare import add_parser as add_compare

    add_compare(sp)
    return p


SUBCOMMANDS = (
    "export",
    "tasks",
    "ladders",
    "pull",
    "report",
    "runs",
    "doctor",
    "analyze",
    "rpc-server",
    "merge",
    "compare",
)


def parse_int_list(text: str | None, what: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise CliError(f"{what}: expected comma-separated integers, got {text!r}") from None


def parse_gpu_layers(text: str | None) -> str | int:
    if text is None or text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise CliError(f"--n-gpu-layers: expected 'auto' or an integer, got {text!r}") from None


def parse_labels(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    labels = tuple(w.strip() for w in text.split(",") if w.strip())
    return labels or None


def spec_from_args(args: argparse.Namespace) -> ExperimentSpec:
    """The batch parser's strings as a typed spec; the only place the CLI's spelling is known."""
    return ExperimentSpec(
        ladder=(args.ladder or ["toy"])[0],
        rungs=parse_labels(args.rungs),
        tasks=tuple(args.tasks) if args.tasks else None,
        tasks_dirs=tuple(args.tasks_dir),
        mmlu_dir=args.mmlu_dir,
        bigbench_dir=args.bigbench_dir,
        suites=tuple(args.suites),
        shots=parse_int_list(args.shots, "--shots"),
        limit=args.limit,
        seed=args.seed,
        n_gpu_layers=parse_gpu_layers(args.n_gpu_layers),
        max_model_gb=args.max_model_gb,
        n_ctx=args.n_ctx,
        threads=args.threads,
        stall_timeout_s=args.stall_timeout,
        corpus=args.corpus,
        heldout=not args.no_heldout,
        offline=args.offline,
        probe=args.probe,
        probe_items=args.probe_items,
        rpc=parse_rpc(args.rpc),
        fast_packing=args.fast_packing,
    )


def parse_rpc(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    from emergetui.engine.rpc import RpcError, parse_endpoints

    try:
        return parse_endpoints(text, "--rpc")
    except RpcError as e:
        raise CliError(str(e)) from None
