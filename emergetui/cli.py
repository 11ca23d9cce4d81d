"""Command line: `emergetui` opens the lab; `emergetui --batch` runs headless; subcommands for the rest."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from emergetui.errors import CliError

SUBCOMMANDS = ("export", "tasks", "ladders", "pull", "report", "runs", "analyze")


def _verdict_help() -> str:
    try:
        from emergetui.analysis.emergence import verdict_rule_text

        return verdict_rule_text()
    except Exception:  # analysis not importable: --help must still work
        return ""


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", type=Path, default=None, help="results database (default: user data dir)")


def batch_parser(with_epilog: bool = False) -> argparse.ArgumentParser:
    """The main parser; the verdict rule (which imports the analysis and scipy) only for --help."""
    p = argparse.ArgumentParser(
        prog="emergetui",
        description="An emergence lab in the terminal. Without arguments, opens the Textual lab.",
        epilog=_verdict_help() if with_epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--batch", action="store_true", help="run headless and print the results")
    p.add_argument("--ladder", default="toy", help="ladder name (see `emergetui ladders`) or a TOML file")
    p.add_argument("--rungs", default=None, help="comma-separated rung labels to run (default: all)")
    p.add_argument("--task", action="append", default=None, dest="tasks", metavar="NAME|PATH",
                   help="task name, BIG-bench task.json, folder of subtasks, or task TOML (repeatable)")
    p.add_argument("--tasks-dir", action="append", default=[], type=Path, help="extra folder of task TOML files")
    p.add_argument("--mmlu-dir", type=Path, default=None, help="local MMLU data (dev/ val/ test/ CSV folders)")
    p.add_argument("--shots", default=None, help="comma-separated shot counts, e.g. 0,1,2,4,8")
    p.add_argument("--limit", type=int, default=None, help="items per task setting")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-gpu-layers", default=None, help="auto or a number of layers to offload")
    p.add_argument("--max-model-gb", type=float, default=None, help="skip rungs whose files exceed this size")
    p.add_argument("--n-ctx", type=int, default=None, help="context size (KV cells shared by packed requests)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp (default: physical cores)")
    p.add_argument("--corpus", type=Path, default=None, help="held-out text for the loss (default: the ladder's)")
    p.add_argument("--no-heldout", action="store_true", help="skip the held-out loss")
    p.add_argument("--offline", action="store_true", help="use the Hugging Face cache only")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--probe", action="store_true",
                   help="after scoring, capture per-layer states and run the logit lens and linear probes "
                        "(costs n_layer x n_embd x 4 bytes per item and one more pass over up to "
                        "--probe-items items per task setting)")
    p.add_argument("--probe-items", type=int, default=300, help="items per task setting for --probe")
    p.add_argument("--no-plot", action="store_true", help="skip the terminal plots")
    _add_common(p)
    return p


def sub_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="emergetui")
    sp = p.add_subparsers(dest="cmd", required=True)
    e = sp.add_parser("export", help="write a run's stored items")
    e.add_argument("run", help="run id, unique prefix, or 'last'")
    e.add_argument("--format", choices=["jsonl"], default="jsonl")
    e.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    _add_common(e)
    t = sp.add_parser("tasks", help="list built-in and user tasks")
    t.add_argument("--tasks-dir", action="append", default=[], type=Path)
    lad = sp.add_parser("ladders", help="list ladders and their rungs")
    lad.add_argument("--ladder", action="append", default=[], type=Path, help="extra ladder TOML")
    pl = sp.add_parser("pull", help="download a ladder's files")
    pl.add_argument("ladder")
    pl.add_argument("--rungs", default=None)
    r = sp.add_parser("report", help="write Markdown/CSV/JSON/plots for a run")
    r.add_argument("run", help="run id, unique prefix, or 'last'")
    r.add_argument("--out", type=Path, default=Path("emergetui-report"))
    r.add_argument("--corpus", type=Path, default=None)
    _add_common(r)
    ru = sp.add_parser("runs", help="list stored runs")
    _add_common(ru)
    an = sp.add_parser("analyze", help="judge per-item records from a JSONL file (no model needed)",
                       epilog=_verdict_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    an.add_argument("file", type=Path, help="one JSON object per line: rung, params, task, setting, "
                    "item_id, metrics; optional chance, raw, heldout (what `export` writes)")
    an.add_argument("--json", action="store_true", help="print the document `--batch --json` prints")
    an.add_argument("--out", type=Path, default=None, help="also write the report (md/csv/json) here")
    an.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            from emergetui.cli import commands

            args = sub_parser().parse_args(argv)
            return commands.dispatch(args)
        args = batch_parser(with_epilog="-h" in argv or "--help" in argv).parse_args(argv)
        if args.batch:
            from emergetui.cli.batch import run_batch

            return run_batch(args)
        return _open_lab(args)
    except CliError as e:
        print(f"emergetui: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emergetui: interrupted; stored results are kept, rerun to resume", file=sys.stderr)
        return 130


def _open_lab(args: argparse.Namespace) -> int:
    if not sys.stdout.isatty():
        raise CliError("the lab needs a terminal; use `emergetui --batch` for headless runs")
    try:
        from emergetui.tui.app import run_app
    except ImportError as e:
        raise CliError(f"the terminal lab is not available: {e}") from e
    return run_app(args)


if __name__ == "__main__":  # pragma: no cover
    # run through the package module so that `python -m emergetui.cli` shares its classes
    from emergetui.cli import main as _main

    raise SystemExit(_main())
