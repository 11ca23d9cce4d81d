"""The command line's grammar, and the one place where its strings become an
:class:`ExperimentSpec`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emergetui.cli.subcommands import SUBCOMMANDS, store_arguments, table_arguments
from emergetui.errors import CliError
from emergetui.run.spec import ExperimentSpec


def _verdict_help() -> str:
    try:
        from emergetui.analysis.rule_text import verdict_rule_text

        return verdict_rule_text()
    except Exception:  # analysis not importable: --help must still work
        return ""


def main_parser(with_epilog: bool = False) -> argparse.ArgumentParser:
    """The one parser tree: the lab's options (the default command) and every registered
    subcommand under them. The verdict rule (which imports the analysis and scipy) is shown
    only for --help."""
    epilog = _verdict_help() if with_epilog else None
    p = argparse.ArgumentParser(
        prog="emergetui",
        usage="emergetui [OPTIONS]           the lab, on the experiment OPTIONS describe\n"
        "       emergetui --batch [OPTIONS]   the same experiment, headless\n"
        "       emergetui COMMAND [...]       one of the commands below",
        description="An emergence lab in the terminal: run ladders of GGUF models through "
        "llama.cpp\nand watch abilities appear.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _lab_arguments(p)
    sp = p.add_subparsers(
        dest="cmd",
        metavar="COMMAND",
        title="commands",
        description="`emergetui COMMAND --help` for each one's options",
    )
    for sub in SUBCOMMANDS:
        s = sp.add_parser(
            sub.name,
            prog=f"emergetui {sub.name}",
            help=sub.help,
            description=sub.help,
            epilog=epilog if sub.verdict_rule else None,
            # the verdict rule is laid out already; descriptions are wrapped
            formatter_class=(
                argparse.RawDescriptionHelpFormatter if sub.verdict_rule else argparse.HelpFormatter
            ),
        )
        sub.add_arguments(s)
    return p


def _lab_arguments(p: argparse.ArgumentParser) -> None:
    """The experiment's options, shared by the lab (pre-filled) and --batch."""
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
    a(
        "--fast-packing",
        action="store_true",
        help="pack requests of different items into the same llama.cpp batches: faster, but an "
        "item's log-probs then depend on what else is scored with it (up to ~1 nat on quantized "
        "models; default: batch-invariant scoring, see docs/exactness.md)",
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
    table_arguments(p)
    store_arguments(p)


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
