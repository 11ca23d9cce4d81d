"""Real `emergetui rpc-server` processes on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["GGML_NO_BACKTRACE"] = "1"
    return env


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def start_server(
    log_dir: Path, *extra: str, port: int | None = None, host: str = "127.0.0.1"
) -> Server:
    """Start one server and wait until it accepts connections (or fail with its output)."""
    port = port or free_port()
    log = log_dir / f"rpc-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emergetui", "rpc-server", "--port", str(port), "--threads", "1"]
            + list(extra),
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=child_env(),
            cwd=REPO,
        )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rpc-server exited {proc.returncode}: {server.output()}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"rpc-server did not listen within 60 s: {server.output()}")


@pytest.fixture(scope="module")
def rpc_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two servers on 127.0.0.1, shared by a module's tests."""
    d = tmp_path_factory.mktemp("rpc")
    servers = [start_server(d), start_server(d)]
    try:
        yield servers
    finally:
        for s in servers:
            s.kill()


@pytest.fixture()
def make_server(tmp_path: Path) -> Iterator[object]:
    """Start servers a test may kill; all are stopped at the end."""
    started: list[Server] = []

    def make(*extra: str, port: int | None = None) -> Server:
        host = extra[extra.index("--host") + 1] if "--host" in extra else "127.0.0.1"
        s = start_server(tmp_path, *extra, port=port, host=host)
        started.append(s)
        return s

    yield make
    for s in started:
        s.kill()
