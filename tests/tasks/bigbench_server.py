"""A stand-in for the BIG-bench repository's raw file server, on 127.0.0.1.

Serves ``tests/fixtures/bigbench`` as ``/<ref>/bigbench/benchmark_tasks/...`` with
HTTP Range support (206 + Content-Range), logs every request, and can cut the first
response of a file short (to test resuming).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bigbench"
PREFIX = "/main/bigbench/benchmark_tasks/"


@dataclass
class ServerState:
    root: Path = FIXTURES
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Range header)
    cut_once: dict[str, int] = field(default_factory=dict)  # rel path -> bytes to send once

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


def _handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            rng = self.headers.get("Range") or ""
            state.requests.append((self.path, rng))
            if not self.path.startswith(PREFIX) or ".." in self.path:
                self.send_error(404)
                return
            rel = self.path[len(PREFIX) :]
            file = state.root / rel
            if not file.is_file():
                self.send_error(404)
                return
            data = file.read_bytes()
            start = 0
            if rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[len("bytes=") : -1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = state.cut_once.pop(rel, None)
            if cut is not None:  # announce the whole body, send a part, drop the connection
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(state: ServerState) -> Iterator[str]:
    """The server's base URL (what EMERGETUI_BIGBENCH_ENDPOINT takes) while in the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
