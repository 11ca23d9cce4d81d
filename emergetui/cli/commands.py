"""The subcommands: export, tasks, ladders, pull, report, runs (rpc-server, merge: cli/remote.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from emergetui.errors import CliError
from emergetui.run.store import Store


def dispatch(args: argparse.Namespace) -> int:
    from emergetui.cli.remote import cmd_merge, cmd_rpc_server

    handler = {
        "rpc-server": cmd_rpc_server,
        "merge": cmd_merge,
        "export": cmd_export,
        "tasks": cmd_tasks,
        "ladders": cmd_ladders,
        "pull": cmd_pull,
        "report": cmd_report,
        "runs": cmd_runs,
    }[args.cmd]
    return handler(args)


def _open_store(args: argparse.Namespace) -> Store:
    path = args.store
    if path is not None and not Path(path).exists():
        raise CliError(f"{path}: no such results store")
    return Store(path)


def cmd_export(args: argparse.Namespace) -> int:
    """One JSON line per stored item: the raw material and the metrics."""
    with _open_store(args) as store:
        run_id = store.resolve_run(args.run)
        out: TextIO = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
        try:
            for r in store.records(run_id):
                line = {
                    "run_id": r.run_id,
                    "rung": r.rung,
                    "task": r.task,
                    "setting": r.setting,
                    "shots": r.shots,
                    "item_id": r.item_id,
                    "item_hash": r.item_hash,
                    "model_sha256": r.model_sha256,
                    "prompt": r.prompt,
                    "choices": r.choices,
                    "target_scores": r.target_scores,
                    "targets": r.targets,
                    "raw": r.raw.to_dict(),
                    "metrics": r.metrics,
                    "error": r.error,
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        for r in store.runs():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
            tasks = ", ".join(sorted({t[0] for t in r.config.get("tasks", [])}))
            print(
                f"{r.run_id}  {when}  {r.status:<16} {r.ladder:<12} {r.n_items:>6} items  {tasks}"
            )
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from emergetui.tasks.registry import list_tasks

    for t in list_tasks(list(args.tasks_dir)):
        origin = "built-in" if t.builtin else str(t.path)
        print(f"{t.name:<32} {t.source:<10} {origin:<10} {t.description}")
    return 0


def cmd_ladders(args: argparse.Namespace) -> int:
    from emergetui.fmt import fmt_bytes
    from emergetui.models.fit import detect_memory
    from emergetui.models.ladders import load_ladders
    from emergetui.models.status import memory_note, rung_rows

    ladders = load_ladders(list(args.ladder))
    mem = detect_memory()
    print(memory_note(mem))
    for lad in ladders.values():
        print(f"\n{lad.name}: {lad.description}")
        if lad.problem:
            print(f"  (unavailable: {lad.problem})")
            continue
        for row in rung_rows(lad, mem):
            fits = {True: "fits", False: "too big", None: "?"}[row.fits]
            cached = "cached" if row.cached else "not cached"
            print(
                f"  {row.label:<10} {row.params:>15,} params  {fmt_bytes(row.size_bytes):>10}  {cached:<10}  "
                f"{fits:<7}  GPU {row.gpu_layers:<5}  {row.source}"
            )
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from emergetui.cli.parsers import parse_labels
    from emergetui.cli.progress import PlainDisplay
    from emergetui.models import hub
    from emergetui.models.ladders import get_ladder
    from emergetui.run.spec import select_rungs

    ladder = get_ladder(args.ladder)
    display = PlainDisplay(every_s=2.0)
    for spec in select_rungs(ladder, parse_labels(args.rungs)):
        path = hub.ensure_rung(spec, on_progress=display.handle)
        print(f"{spec.label}: {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from emergetui.report import write_run_report

    with _open_store(args) as store:
        run_id = store.resolve_run(args.run)
        written = write_run_report(store, run_id, Path(args.out))
    for p in written:
        print(p)
    return 0
