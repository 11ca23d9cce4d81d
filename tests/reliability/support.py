"""Helpers shared by the reliability tests: a fast task, stored-row snapshots, crashable CLI
processes.

Why a module rather than fixtures only: the crash and concurrency tests start
real ``emergetui`` processes, and the same snapshot / comparison code must
judge the rows those processes leave behind and the rows of a clean run.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Columns of ``items`` that make up a result; ``created`` (a timestamp) is left out on purpose.
ITEM_COLUMNS = (
    "run_id",
    "rung",
    "task",
    "setting",
    "item_id",
    "item_hash",
    "model_sha256",
    "shots",
    "prompt",
    "choices",
    "target_scores",
    "targets",
    "raw",
    "metrics",
    "error",
)
JSON_COLUMNS = {"choices", "target_scores", "targets", "raw", "metrics"}

#: The tolerance the engine documents for packed vs one-at-a-time scoring (tests/engine).
PACKING_TOL = 1e-4

Key = tuple[str, str, str, str, str]  # run_id, rung, task, setting, item_id

# What the console script ``emergetui`` does (``from emergetui.cli import main``), plus two
# test-only knobs read from the environment: pin the process to one CPU (llama.cpp then uses
# one thread: on a shared 2-core machine its spinning thread pool is ~100x slower when
# oversubscribed, and results do not depend on the thread count, see test_determinism), and
# commit after every finished wave instead of every second, so that a SIGKILL can land
# between (or inside) many more transactions.
LAUNCHER = """
import functools, os, sys
cpu = os.environ.pop("RELIABILITY_CPU", "")
if cpu and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(cpu)})
if os.environ.pop("RELIABILITY_COMMIT_EVERY_WAVE", ""):
    import emergetui.cli.batch, emergetui.run.runner
    emergetui.cli.batch.Runner = functools.partial(emergetui.run.runner.Runner, commit_every_s=0.0)
from emergetui.cli import main
sys.exit(main())
"""


def write_mix_task(folder: Path, n_mc: int = 30, n_gen: int = 10, name: str = "mix") -> Path:
    """A BIG-bench task of multiple-choice and generative items, and a task TOML for it.

    Small on purpose: every crash seed runs it end to end, so it must take well
    under a second per rung on the tiny models, yet have both kinds of raw
    material (choice log-probabilities, greedy generations) to compare.
    """
    folder.mkdir(parents=True, exist_ok=True)
    examples: list[dict[str, Any]] = []
    for i in range(n_mc):
        a, b = i % 7, (i * 3) % 5
        wrong = {str(a + b + 1), str(a + b + 2)}
        examples.append(
            {
                "input": f"{a} plus {b}",
                "target_scores": {str(a + b): 1, **dict.fromkeys(sorted(wrong), 0)},
            }
        )
    for i in range(n_gen):
        examples.append({"input": f"{i} times 2", "target": str(2 * i)})
    task = {
        "name": name,
        "description": "reliability fixture",
        "metrics": ["multiple_choice_grade", "exact_str_match"],
        "preferred_score": "multiple_choice_grade",
        "stop_string": "\n",
        "examples": examples,
    }
    (folder / "task.json").write_text(json.dumps(task), encoding="utf-8")
    toml = folder / f"{name}.toml"
    toml.write_text(
        f'name = "{name}"\nmax_tokens = 4\n[source]\ntype = "bigbench"\npath = "task.json"\n',
        encoding="utf-8",
    )
    return toml


def write_ladder(path: Path, rungs: Sequence[tuple[str, int, Path]], name: str = "tiny") -> Path:
    lines = [f"[ladders.{name}]", 'description = "tiny random models"', "rungs = ["]
    lines += [
        f'  {{ label = "{label}", params = {params}, path = "{p}" }},' for label, params, p in rungs
    ]
    path.write_text("\n".join([*lines, "]", ""]), encoding="utf-8")
    return path


def batch_args(ladder: Path, task: Path, store: Path, *extra: str) -> list[str]:
    return [
        "--batch",
        "--ladder",
        str(ladder),
        "--task",
        str(task),
        "--store",
        str(store),
        "--no-heldout",
        "--json",
        *extra,
    ]


def child_env(
    tmp: Path, cpu: int | None = None, commit_every_wave: bool = False, **extra: str
) -> dict[str, str]:
    """An environment for an ``emergetui`` child: no network, no real HF cache or token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp / "hf-home"), PYTHONUNBUFFERED="1")
    if cpu is not None:
        env["RELIABILITY_CPU"] = str(cpu)
    if commit_every_wave:
        env["RELIABILITY_COMMIT_EVERY_WAVE"] = "1"
    env.update(extra)
    return env


def cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def spawn_cli(
    args: Sequence[str], env: dict[str, str], cwd: Path, stderr: int | None = subprocess.PIPE
) -> subprocess.Popen[str]:
    """Start ``emergetui ARGS`` as a real process (stdout discarded: the JSON document is not
    needed).
    """
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        env=env,
        cwd=cwd,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


# --------------------------------------------------------------------------- the store, as rows


def connect(db: Path) -> sqlite3.Connection:
    """A plain connection (opening it recovers a WAL left by a killed writer, as SQLite must)."""
    return sqlite3.connect(str(db), timeout=30)


def integrity(db: Path) -> str:
    with connect(db) as con:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])


def item_rows(db: Path, run_id: str | None = None) -> dict[Key, dict[str, Any]]:
    """Every stored item as ``key -> {column: value}``, JSON decoded, timestamps dropped.

    Fails if a key occurs twice: the primary key should make that impossible,
    and this is the check that it does.
    """
    con = connect(db)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name='items'").fetchone():
            return {}
        q = f"SELECT {', '.join(ITEM_COLUMNS)} FROM items" + (" WHERE run_id=?" if run_id else "")
        rows = con.execute(q, (run_id,) if run_id else ()).fetchall()
    finally:
        con.close()
    out: dict[Key, dict[str, Any]] = {}
    for r in rows:
        d = {
            c: (json.loads(v) if c in JSON_COLUMNS and v is not None else v)
            for c, v in zip(ITEM_COLUMNS, r)
        }
        key = (d["run_id"], d["rung"], d["task"], d["setting"], d["item_id"])
        assert key not in out, f"item stored twice: {key}"
        out[key] = d
    return out


def count_by_rung(rows: dict[Key, dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in rows:
        out[key[1]] = out.get(key[1], 0) + 1
    return out


def max_float_diff(a: Any, b: Any, where: str = "") -> float:
    """Largest |a - b| over the floats of two equally shaped values.

    Anything that is not a float (tokens, texts, greedy flags, ids, errors,
    the structure itself) must be exactly equal; a difference raises
    AssertionError naming where it is.
    """
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), (
            f"{where}: {a!r} != {b!r}"
        )
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{where}: {a!r} != {b!r}"
            return 0.0
        return abs(float(a) - float(b))
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{where}: keys {sorted(a)} != {sorted(b)}"
        return max((max_float_diff(a[k], b[k], f"{where}.{k}") for k in a), default=0.0)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        return max(
            (max_float_diff(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b))),
            default=0.0,
        )
    assert a == b, f"{where}: {a!r} != {b!r}"
    return 0.0


def compare_rows(
    got: dict[Key, dict[str, Any]],
    want: dict[Key, dict[str, Any]],
    exact_rungs: set[str] | None = None,
) -> float:
    """Check ``got`` against ``want`` row by row; return the largest float difference.

    Rows of ``exact_rungs`` (None: all) must be bit-identical; the others may
    differ in their floats by at most :data:`PACKING_TOL`.
    """
    assert set(got) <= set(want), (
        f"rows that a clean run does not have: {sorted(set(got) - set(want))[:3]}"
    )
    worst = 0.0
    for key, row in got.items():
        d = max_float_diff(row, want[key], "/".join(key[1:]))
        if exact_rungs is None or key[1] in exact_rungs:
            assert d == 0.0, f"{key}: differs from the clean run by {d:g} (expected bit-identical)"
        assert d <= PACKING_TOL, f"{key}: differs from the clean run by {d:g}"
        worst = max(worst, d)
    return worst
