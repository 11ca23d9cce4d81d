"""A small stand-in for the Hugging Face Hub, served on 127.0.0.1 for offline tests.

It speaks the parts of the Hub protocol that huggingface_hub and emergetui.models.hub
use, as read from huggingface_hub 2.x:

* ``GET /api/models/{repo}/tree/{rev}?recursive=..`` - the file listing (LFS oid = sha256);
* ``HEAD|GET /{repo}/resolve/{rev}/{file}`` - a 302 to the "CDN" carrying
  ``X-Repo-Commit``, ``X-Linked-Etag`` (sha256) and ``X-Linked-Size``, like the Hub
  does for LFS files; 401 + ``X-Error-Code: GatedRepo`` for gated repos without
  the right token; 404 + ``X-Error-Code`` for unknown repos/revisions/files;
* ``GET /cdn/{sha256}`` on ``localhost`` (another host name than the API's
  127.0.0.1, so auth must not be forwarded there) with HTTP Range support, and
  an optional one-shot connection cut after N bytes to test resuming.

Every request is recorded (method, path, headers) so tests can assert on what
was, or was not, sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import unquote, urlsplit


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    commit: str
    gated: bool = False
    token: str | None = None
    corrupt: set[str] = field(default_factory=set)

    def sha(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class FakeHub:
    """Start with ``with FakeHub() as hub:``; ``hub.url`` is the HF_ENDPOINT to use."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[Recorded] = []
        self.cut_after: dict[str, int] = {}  # file name -> bytes sent before the next GET is cut
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_repo(self, repo_id: str, files: dict[str, bytes], **kw: object) -> FakeRepo:
        commit = hashlib.sha1("\n".join([repo_id, *sorted(files)]).encode()).hexdigest()
        repo = FakeRepo(dict(files), commit, **kw)  # type: ignore[arg-type]
        self.repos[repo_id] = repo
        return repo

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn(self) -> str:
        return f"http://localhost:{self.port}"

    def count(self, method: str | None = None, contains: str = "") -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and contains in r.path
            )

    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            owner = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    # -- routing -----------------------------------------------------------------
    def _dispatch(self, head: bool) -> None:
        hub = self.owner
        path = urlsplit(self.path).path
        with hub.lock:
            hub.requests.append(
                Recorded(self.command, path, {k.lower(): v for k, v in self.headers.items()})
            )
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "tree":
            return self._tree("/".join(parts[2:4]), parts[5])
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
        if len(parts) == 2 and parts[0] == "cdn":
            return self._cdn(parts[1], head)
        self._send(404, b"not found")

    def _authorized(self, repo: FakeRepo) -> bool:
        return repo.token is None or self.headers.get("Authorization") == f"Bearer {repo.token}"

    def _tree(self, repo_id: str, rev: str) -> None:
        repo = self.owner.repos.get(repo_id)
        if repo is None or (not repo.gated and not self._authorized(repo)):
            return self._send(404, b"", {"X-Error-Code": "RepoNotFound"})
        if rev not in ("main", repo.commit):
            return self._send(404, b"", {"X-Error-Code": "RevisionNotFound"})
        listing = [
            {
                "type": "file",
                "oid": hashlib.sha1(data).hexdigest(),
                "size": len(data),
                "path": name,
                "lfs": {"oid": repo.sha(name), "size": len(data), "pointerSize": 134},
            }
            for name, data in sorted(repo.files.items())
        ]
        self._send(200, json.dumps(listing).encode(), {"Content-Type": "application/json"})

    def _resolve(self, repo_id: str, rev: str, name: str, head: bool) -> None:
        repo = self.owner.repos.get(repo_id)
        if repo is None:
            return self._send(404, b"", {"X-Error-Code": "RepoNotFound"})
        if not self._authorized(repo):
            code = "GatedRepo" if repo.gated else "RepoNotFound"
            msg = "Access to this model is restricted. You must be authenticated."
            return self._send(401, b"", {"X-Error-Code": code, "X-Error-Message": msg})
        if rev not in ("main", repo.commit):
            return self._send(404, b"", {"X-Error-Code": "RevisionNotFound"})
        if name not in repo.files:
            return self._send(
                404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.commit}
            )
        sha = repo.sha(name)
        headers = {
            "Location": f"{self.owner.cdn}/cdn/{sha}",
            "X-Repo-Commit": repo.commit,
            "ETag": f'"{hashlib.sha1(repo.files[name]).hexdigest()}"',
            "X-Linked-Etag": f'"{sha}"',
            "X-Linked-Size": str(len(repo.files[name])),
        }
        self._send(302, b"", headers, head=head)

    def _cdn(self, sha: str, head: bool) -> None:
        hub = self.owner
        for repo in hub.repos.values():
            for name, data in repo.files.items():
                if repo.sha(name) == sha:
                    if name in repo.corrupt:
                        data = bytes([data[0] ^ 0xFF]) + data[1:]
                    return self._serve_bytes(name, data, head)
        self._send(404, b"")

    def _serve_bytes(self, name: str, data: bytes, head: bool) -> None:
        start = 0
        rng = self.headers.get("Range")
        status, extra = (
            200,
            {"Accept-Ranges": "bytes", "ETag": f'"{hashlib.sha256(data).hexdigest()}"'},
        )
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes=") : -1])
            if start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            status = 206
            extra["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        cut = None
        if not head:
            with self.owner.lock:
                cut = self.owner.cut_after.pop(name, None)
        if cut is None:
            return self._send(status, body, extra, head=head)
        self._send_headers(status, len(body), extra)
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True  # the rest never comes: the client must resume

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, head: bool = False
    ) -> None:
        self._send_headers(status, len(body), headers or {})
        if not head and body:
            self.wfile.write(body)

    def _send_headers(self, status: int, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()
