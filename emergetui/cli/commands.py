"""The runners of the subcommands export, tasks, ladders, pull, report, runs, doctor, analyze
(registered in cli/subcommands.py; rpc-server and merge are in cli/remote.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from emergetui.errors import CliError
from emergetui.store.results import Store


def _open_store(args: argparse.Namespace) -> Store:
    path = args.store
    if path is not None and not Path(path).exists():
        raise CliError(f"{path}: no such results store")
    return Store(path)


def cmd_export(args: argparse.Namespace) -> int:
    """One JSON line per stored item (:mod:`emergetui.analysis.records_out`), read back by
    ``emergetui analyze``."""
    from emergetui.analysis.records_out import write_records
    from emergetui.store.stored_run import load_run

    with _open_store(args) as store:
        run = load_run(store, store.resolve_run(args.run))
    if args.out is None:
        write_records(run, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            write_records(run, out)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        for r in store.runs():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
            tasks = ", ".join(sorted({t[0] for t in r.config.get("tasks", [])}))
            print(
                f"{r.run_id}  {when}  {r.status:<16} {r.ladder:<12} {r.n_items:>6} items  {tasks}"
            )
            _print_rung_failures(store, r.run_id)
    return 0


def _print_rung_failures(store: Store, run_id: str) -> None:
    """Under a run: where llama.cpp's logs are, and why each failed rung failed (first line)."""
    from emergetui.run.faults import log_dir

    logs = log_dir(store.path, run_id)
    if logs.is_dir():
        print(f"    llama.cpp logs: {logs}")
    for rung in store.rungs(run_id):
        if rung.status == "failed" and rung.error:
            print(f"    rung {rung.label} failed: {rung.error.splitlines()[0]}")


def cmd_doctor(args: argparse.Namespace) -> int:
    from emergetui.cli.doctor import doctor_text

    print(doctor_text(args.store), end="")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from emergetui.tasks.registry import list_tasks
    from emergetui.tasks.suites import find_bigbench_dir, listing_lines

    for t in list_tasks(list(args.tasks_dir)):
        origin = "built-in" if t.builtin else str(t.path)
        print(f"{t.name:<32} {t.source:<10} {origin:<10} {t.description}")
    root = find_bigbench_dir(args.bigbench_dir)
    if root is not None:
        print(f"\nBIG-bench tasks in {root} (use as --task bigbench:NAME):")
        for line in listing_lines(root):
            print(line)
        return 0
    from emergetui.tasks.bigbench_fetch import FetchSettings

    cache = FetchSettings.from_env().tasks_dir
    if cache.is_dir() and any(cache.iterdir()):
        print(f"\nBIG-bench tasks downloaded to {cache} (any other bigbench:NAME on first use):")
        for line in listing_lines(cache):
            print(line)
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
        series = [f"family {lad.family_name}", lad.variant, lad.quant]
        tokens = list(dict.fromkeys(r.train_tokens for r in lad.rungs if r.train_tokens))
        trained = ", ".join(f"{t / 1e12:g}T" if t >= 1e11 else f"{t:,}" for t in tokens)
        series.append(f"trained on {trained} tokens" if trained else "train_tokens not stated")
        print("  " + " · ".join(v for v in series if v))
        if lad.problem:
            print(f"  (unavailable: {lad.problem})")
            continue
        for row in rung_rows(lad, mem):
            fits = {True: "fits", False: "too big", None: "?"}[row.fits]
            cached = "cached" if row.cached else "not cached"
            print(
                f"  {row.label:<10} {row.params:>15,} params  "
                f"{fmt_bytes(row.size_bytes):>10}  {cached:<10}  "
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
    from emergetui.report.document import run_document
    from emergetui.report.from_store import analyse_run
    from emergetui.report.summary import summary_text
    from emergetui.store.stored_run import load_run

    with _open_store(args) as store:
        run_id = store.resolve_run(args.run)
        run = load_run(store, run_id)
        analysis = analyse_run(run)  # one analysis for the report files and the summary
        written = write_run_report(store, run_id, Path(args.out), run=run, analysis=analysis)
        summary = Path(args.out) / "summary.txt"  # what --batch prints before its plots
        doc = run_document(run, analysis)
        summary.write_text(summary_text(doc, args.table, width=100), encoding="utf-8")
        written.append(summary)
        if args.x:
            from emergetui.cli.compare import write_axis_report

            written += write_axis_report(store, run_id, Path(args.out), args.x)
    for p in written:
        print(p)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """The whole analysis of per-item records read from a JSONL file."""
    from emergetui.analysis.analyze import analyze
    from emergetui.analysis.data import RungInfo
    from emergetui.analysis.records_in import read_records
    from emergetui.report.document import document_from_records

    inp = read_records(args.file)
    rungs = [dict(g) for g in inp.rungs]
    # analysed once: the document and the report files show this analysis
    infos = [
        RungInfo(g["label"], g["params"], g.get("heldout"))
        for g in rungs
        if g.get("status") != "failed"
    ]
    analysis = analyze(inp.records, infos, seed=args.seed, chance=inp.chance, corpus=inp.listed)
    doc = document_from_records(
        inp.run_id, inp.ladder, rungs, inp.records, inp.chance, [], analysis=analysis
    )
    if args.out is not None:
        from emergetui.report import write_report
        from emergetui.report.bigbench import BigBenchSection

        section = BigBenchSection.from_records(inp.records, [g["label"] for g in rungs])
        for p in write_report(
            analysis,
            args.out,
            ("md", "csv", "json"),
            title=f"Emergence report: {args.file.name}",
            bigbench=section,
        ):
            print(p, file=sys.stderr)
    if args.json:
        print(json.dumps(doc.to_dict(), indent=2, allow_nan=False))
        return 0
    from emergetui.report.summary import summary_text

    print(summary_text(doc, args.table), end="")
    return 0
