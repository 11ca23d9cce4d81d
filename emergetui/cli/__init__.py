"""Command line: `emergetui` opens the lab; `emergetui --batch` runs headless; subcommands (one
parser tree, registered in cli/subcommands.py) for the rest.

This package is one of the two front ends: it turns arguments into an
:class:`~emergetui.run.spec.ExperimentSpec`, and every user-facing failure
(an :class:`~emergetui.errors.EmergetuiError`) into one line and an exit status.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emergetui.errors import CliError, EmergetuiError

if TYPE_CHECKING:
    from emergetui.run.spec import ExperimentSpec


def main(argv: Sequence[str] | None = None) -> int:
    from emergetui.cli.parsers import main_parser, spec_from_args
    from emergetui.cli.subcommands import BY_NAME

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = main_parser(with_epilog="-h" in argv or "--help" in argv).parse_args(argv)
        if args.cmd is not None:
            if argv[0] != args.cmd:  # `emergetui --batch runs`: the options are the lab's
                raise CliError(
                    f"the options before `{args.cmd}` belong to the lab and --batch; "
                    f"write `emergetui {args.cmd} [options]` (see `emergetui {args.cmd} --help`)"
                )
            return BY_NAME[args.cmd].handler()(args)
        spec = spec_from_args(args)
        if args.batch:
            from emergetui.cli.batch import run_batch
            from emergetui.cli.multi import run_series_batch, series_ladders

            if len(ladders := series_ladders(args)) > 1:
                return run_series_batch(
                    spec, ladders, args.store, json_mode=args.json, plots=not args.no_plot, x=args.x
                )
            spec = spec.replace(ladder=ladders[0])  # one ladder at one --quants quant

            return run_batch(
                spec,
                args.store,
                json_mode=args.json,
                plots=not args.no_plot,
                table=args.table,
                x=args.x,
            )
        if len(args.ladder or ()) > 1 or args.quants:
            raise CliError("the lab runs one ladder at a time; use --batch to compare several")
        return _open_lab(spec, args.store)
    except EmergetuiError as e:
        print(f"emergetui: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("emergetui: interrupted; stored results are kept, rerun to resume", file=sys.stderr)
        return 130


def _open_lab(spec: ExperimentSpec, store: Path | None) -> int:
    if not sys.stdout.isatty():
        raise CliError("the lab needs a terminal; use `emergetui --batch` for headless runs")
    try:
        from emergetui.tui.app import run_app
    except ImportError as e:
        raise CliError(f"the terminal lab is not available: {e}") from e
    return run_app(spec, store)


__all__ = ["main"]
