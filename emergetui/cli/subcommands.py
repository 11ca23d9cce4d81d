"""Every subcommand of `emergetui`, registered in one place: its name, its one-line help, the
function that adds its arguments and the function that runs it.

The parser tree (:func:`emergetui.cli.parsers.main_parser`), the dispatch in
:func:`emergetui.cli.main` and `emergetui --help` all read :data:`SUBCOMMANDS`, so
adding a subcommand is one line here. Both functions are named as ``"module:function"``
strings: the runner is imported only when its subcommand runs (`emergetui --help` and
the lab never import the store, the analysis or llama.cpp for it), the arguments while
the parser is built (keep those modules light: argparse and the standard library).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

Handler = Callable[[argparse.Namespace], int]
AddArguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Subcommand:
    """One subcommand. ``run`` and ``arguments`` are ``"module:function"``; ``arguments`` may
    also set the parser's ``description``. ``verdict_rule`` shows the verdict rule under
    ``--help`` (it imports the analysis, so only when help is asked for)."""

    name: str
    help: str
    run: str
    arguments: str | None = None
    verdict_rule: bool = False

    def handler(self) -> Handler:
        return cast(Handler, _resolve(self.run))

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        if self.arguments is not None:
            cast(AddArguments, _resolve(self.arguments))(p)


def _resolve(ref: str) -> object:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


_HERE = "emergetui.cli.subcommands"
_COMMANDS = "emergetui.cli.commands"
_REMOTE = "emergetui.cli.remote"

# The registry, in the order `emergetui --help` lists them.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("runs", "list stored runs", f"{_COMMANDS}:cmd_runs", f"{_HERE}:store_arguments"),
    Subcommand(
        "report",
        "write Markdown/CSV/JSON/plots for a run",
        f"{_COMMANDS}:cmd_report",
        f"{_HERE}:report_arguments",
    ),
    Subcommand(
        "export",
        "write a run's stored items",
        f"{_COMMANDS}:cmd_export",
        f"{_HERE}:export_arguments",
    ),
    Subcommand(
        "analyze",
        "judge per-item records from a JSONL file (no model needed)",
        f"{_COMMANDS}:cmd_analyze",
        f"{_HERE}:analyze_arguments",
        verdict_rule=True,
    ),
    Subcommand(
        "compare",
        "overlay stored runs of several ladders on one chart",
        "emergetui.cli.compare:cmd_compare",
        f"{_HERE}:compare_arguments",
    ),
    Subcommand(
        "tasks",
        "list built-in and user tasks",
        f"{_COMMANDS}:cmd_tasks",
        f"{_HERE}:tasks_arguments",
    ),
    Subcommand(
        "ladders",
        "list ladders and their rungs",
        f"{_COMMANDS}:cmd_ladders",
        f"{_HERE}:ladders_arguments",
    ),
    Subcommand(
        "pull", "download a ladder's files", f"{_COMMANDS}:cmd_pull", f"{_HERE}:pull_arguments"
    ),
    Subcommand(
        "doctor",
        "what llama.cpp was built with, the devices, caches, token (presence only), store and "
        "task sources; the command that fixes each problem (offline)",
        f"{_COMMANDS}:cmd_doctor",
        f"{_HERE}:store_arguments",
    ),
    Subcommand(
        "rpc-server",
        "lend this machine's memory and compute to another emergetui (llama.cpp ggml-rpc)",
        f"{_REMOTE}:cmd_rpc_server",
        f"{_REMOTE}:rpc_server_arguments",
    ),
    Subcommand(
        "merge",
        "merge stores of one experiment run on several machines into one",
        f"{_REMOTE}:cmd_merge",
        f"{_REMOTE}:merge_arguments",
    ),
)

BY_NAME: dict[str, Subcommand] = {s.name: s for s in SUBCOMMANDS}


# -- the arguments of the subcommands above (those of rpc-server and merge are in remote.py) --
def store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", type=Path, default=None, help="results database (default: user data dir)"
    )


def table_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--table",
        choices=("compact", "full"),
        default="compact",
        help="compact: one ladder table per task setting (headline metric and its continuous "
        "partner by rung) and the plots worth seeing; full: the long table of every metric "
        "and rung, every plot and verdict detail",
    )


def _run_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run id, unique prefix, or 'last'")


def export_arguments(p: argparse.ArgumentParser) -> None:
    _run_argument(p)
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    store_arguments(p)


def report_arguments(p: argparse.ArgumentParser) -> None:
    _run_argument(p)
    p.add_argument("--out", type=Path, default=Path("emergetui-report"))
    p.add_argument("--corpus", type=Path, default=None)
    from emergetui.cli.compare import AXIS_CHOICES

    p.add_argument(
        "--x", choices=AXIS_CHOICES, default=None, help="also draw the curves on this x axis"
    )
    table_arguments(p)
    store_arguments(p)


def tasks_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks-dir", action="append", default=[], type=Path)
    p.add_argument(
        "--bigbench-dir",
        type=Path,
        default=None,
        help="also list the JSON tasks of this BIG-bench benchmark_tasks folder",
    )


def ladders_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ladder", action="append", default=[], type=Path, help="extra ladder TOML")


def pull_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("ladder")
    p.add_argument("--rungs", default=None)


def analyze_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file",
        type=Path,
        help="one JSON object per line: rung, params, task, setting, "
        "item_id, metrics; optional chance, raw, heldout (what `export` writes)",
    )
    p.add_argument("--json", action="store_true", help="print the document `--batch --json` prints")
    p.add_argument(
        "--out", type=Path, default=None, help="also write the report (md/csv/json) here"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    table_arguments(p)


def compare_arguments(p: argparse.ArgumentParser) -> None:
    from emergetui.cli.compare import AXIS_CHOICES

    p.add_argument(
        "runs", nargs="+", help="run id, unique prefix or 'last'; STORE.db:RUN for another store"
    )
    p.add_argument("--x", choices=AXIS_CHOICES, default="params", help="x axis (default: params)")
    p.add_argument("--out", type=Path, default=None, help="write PNG/SVG, JSON and text here")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--no-plot", action="store_true", help="skip the terminal charts")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument(
        "--ladder", action="append", default=[], type=Path, help="extra ladder TOML (metadata)"
    )
    store_arguments(p)
