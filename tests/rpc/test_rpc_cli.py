"""`emergetui rpc-server` and `emergetui --batch --rpc` as a user runs them, with real processes."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, write_tiny

from .conftest import REPO, Server, child_env, free_port

ADDITION = FIXTURES / "bigbench" / "arithmetic" / "1_digit_addition" / "task.json"


def emergetui(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emergetui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        cwd=REPO,
    )


def write_ladder(tmp: Path, models: dict[str, Path], rpc: list[str] | None = None) -> Path:
    lines = ["[ladders.tiny]"]
    if rpc:
        lines.append("rpc = [" + ", ".join(f'"{e}"' for e in rpc) + "]")
    lines.append("rungs = [")
    for i, (label, path) in enumerate(models.items()):
        lines.append(f'  {{ label = "{label}", params = {10000 * (i + 1)}, path = "{path}" }},')
    lines.append("]")
    p = tmp / "ladder.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def items(store: Path) -> dict[tuple[str, str], tuple[str, str]]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT rung, item_id, raw, metrics FROM items").fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def test_batch_with_rpc_matches_local(tmp_path: Path, rpc_pair: list[Server]) -> None:
    model = write_tiny(tmp_path / "t.gguf", seed=5, n_layer=4)
    ladder = write_ladder(tmp_path, {"t": model})
    common = ["--batch", "--ladder", str(ladder), "--task", str(ADDITION), "--limit", "8"]
    common += ["--no-heldout", "--no-plot", "--threads", "1", "--json"]
    local = emergetui(*common, "--store", str(tmp_path / "local.db"))
    assert local.returncode == 0, local.stderr
    eps = ",".join(s.endpoint for s in rpc_pair)
    remote = emergetui(*common, "--store", str(tmp_path / "rpc.db"), "--rpc", eps)
    assert remote.returncode == 0, remote.stderr
    assert "all 4 layers on devices" in remote.stderr and "RPC servers" in remote.stderr
    # same experiment, same run id: where the layers ran is not part of what was measured
    assert json.loads(local.stdout)["run_id"] == json.loads(remote.stdout)["run_id"]
    a, b = items(tmp_path / "local.db"), items(tmp_path / "rpc.db")
    assert a.keys() == b.keys() and len(a) == 8
    for k in a:
        ra, rb = json.loads(a[k][0]), json.loads(b[k][0])
        lp_a = [x for row in ra["choice_logprobs"] + ra["target_logprobs"] for x in row]
        lp_b = [x for row in rb["choice_logprobs"] + rb["target_logprobs"] for x in row]
        assert lp_a == pytest.approx(lp_b, abs=1e-4)
        assert ra["generated_text"] == rb["generated_text"]
        assert json.loads(a[k][1]) == pytest.approx(json.loads(b[k][1]), abs=1e-4)


def test_rpc_from_models_toml_and_unreachable_rung_fails_alone(
    tmp_path: Path, rpc_pair: list[Server]
) -> None:
    """rpc = [...] per ladder and per rung; a rung whose server is down fails with the reason."""
    good = write_tiny(tmp_path / "g.gguf", seed=6)
    bad = write_tiny(tmp_path / "b.gguf", seed=7)
    dead = f"127.0.0.1:{free_port()}"
    ladder = tmp_path / "ladder.toml"
    ladder.write_text(
        "[ladders.tiny]\n"
        f'rpc = ["{rpc_pair[0].endpoint}"]\n'
        "rungs = [\n"
        f'  {{ label = "ok", params = 10000, path = "{good}" }},\n'
        f'  {{ label = "down", params = 20000, path = "{bad}", rpc = ["{dead}"] }},\n'
        "]\n"
    )
    t0 = time.monotonic()
    proc = emergetui(
        "--batch", "--ladder", str(ladder), "--task", str(ADDITION), "--limit", "4",
        "--no-heldout", "--no-plot", "--threads", "1", "--store", str(tmp_path / "s.db"),
    )  # fmt: skip
    assert time.monotonic() - t0 < 120
    assert proc.returncode == 0, proc.stderr  # one rung failed, the other is done
    assert f"RPC server {dead}: cannot connect" in proc.stderr
    with sqlite3.connect(tmp_path / "s.db") as db:
        rows = dict(db.execute("SELECT label, status FROM rungs").fetchall())
    assert rows == {"ok": "done", "down": "failed"}


def test_server_killed_mid_rung_fails_that_rung_and_the_run_goes_on(
    tmp_path: Path, make_server: object, tiny_model: Path
) -> None:
    """ggml-rpc aborts the client when a server dies mid-graph (it cannot be caught in-process).

    With one process per rung, the abort is that rung's worker dying: the rung
    fails with the cause (the abort line from llama.cpp's log), the next rung
    runs, the store stays sound, and a rerun without the server finishes it.
    """
    victim: Server = make_server()  # type: ignore[operator]
    model = write_tiny(tmp_path / "big.gguf", seed=8, n_embd=256, n_layer=4)

    def ladder(rpc: str) -> Path:
        path = tmp_path / "ladder.toml"
        path.write_text(
            "[ladders.tiny]\nrungs = [\n"
            f'  {{ label = "big", params = 20000, path = "{model}"{rpc} }},\n'
            f'  {{ label = "small", params = 30000, path = "{tiny_model}" }},\n]\n'
        )
        return path

    store = tmp_path / "s.db"
    args = [
        "--batch", "--ladder", str(ladder(f', rpc = ["{victim.endpoint}"]')), "--task",
        "arith-2digit-add", "--limit", "300", "--no-heldout", "--no-plot", "--threads", "1",
        "--store", str(store),
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "emergetui", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=child_env(),
        cwd=REPO,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if "loaded big" in line:
                threading.Timer(0.5, victim.kill).start()

    reader = threading.Thread(target=read)
    reader.start()
    rc = proc.wait(timeout=300)
    reader.join()
    err = "".join(lines)
    assert any("loaded big" in s for s in lines), err
    assert rc == 0, err  # one rung failed, the other finished
    assert "rung big FAILED" in err and "Remote RPC server crashed" in err, err
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        status = dict(db.execute("SELECT label, status FROM rungs").fetchall())
    assert status == {"big": "failed", "small": "done"}
    # rerun locally (same rungs and tasks, no server): it resumes and completes the rung
    args[args.index("--ladder") + 1] = str(ladder(""))
    again = emergetui(*args)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(store) as db:
        assert {s for (s,) in db.execute("SELECT status FROM rungs")} == {"done"}


def test_rpc_server_loopback_has_no_warning_elsewhere_warns(make_server: object) -> None:
    local: Server = make_server()  # type: ignore[operator]
    assert "Never expose" not in local.output()
    assert "127.0.0.1" in local.output()
    # 127.0.0.2 is still this machine, but not llama.cpp's 127.0.0.1: the warning is printed
    other: Server = make_server("--host", "127.0.0.2")  # type: ignore[operator]
    out = other.output()
    assert "WARNING: Host ('127.0.0.2') is != '127.0.0.1'" in out
    assert "no authentication and no encryption" in out


def test_rpc_server_bad_options_are_one_clear_error(rpc_pair: list[Server]) -> None:
    busy = emergetui("rpc-server", "--port", str(rpc_pair[0].port), timeout=60)
    assert busy.returncode == 2
    assert f"cannot listen on 127.0.0.1:{rpc_pair[0].port}" in busy.stderr
    mem = emergetui("rpc-server", "--port", str(free_port()), "--mem", "4", timeout=60)
    assert mem.returncode == 2 and "--mem" in mem.stderr and "Traceback" not in mem.stderr
    bad = emergetui("--batch", "--rpc", "localhost", timeout=60)
    assert bad.returncode == 2 and "--rpc: expected HOST:PORT" in bad.stderr


def test_probe_of_a_live_server_leaves_it_serving(rpc_pair: list[Server]) -> None:
    """The reachability check and the probe close their connections: the server still accepts."""
    from emergetui.engine import rpc

    rpc.probe([rpc_pair[1].endpoint])
    with socket.create_connection(("127.0.0.1", rpc_pair[1].port), timeout=2):
        pass
    assert rpc_pair[1].proc.poll() is None
