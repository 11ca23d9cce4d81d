"""Scoring throughput with the layers split over llama.cpp RPC servers, and what crosses the
network.

    python benchmarks/rpc.py [MODEL.gguf] [--items 100] [--repeat 3] [--threads N]

Same workload as ``benchmarks/scoring.py`` (multiple-choice items behind a
shared 5-shot prefix, on its synthetic 58.5M-parameter F16 model unless a
model is given), scored with ``Engine.score`` three ways, alternating, the
fastest run of each counting:

* local: every layer on this machine's CPU;
* 1 server: every layer on one ``emergetui rpc-server`` on 127.0.0.1;
* 2 servers: the layers split over two servers on 127.0.0.1.

With every layer offloaded the output head runs on the last server, so each
scored position comes back as a row of n_vocab float32 logits; the report
says which share of the traffic that is.

The network figures are the TCP payload bytes of each server's connections
(the kernel's counters, read with ``ss -ti``), both directions, during one
``score()`` call (and during the load: the weights), per decoded token (the distinct tokens of
the workload's prefix trie, what llama.cpp actually evaluates), and per
``llama_decode`` call (each is at least one round trip per server). With
those, the time on a real LAN is about the loopback time plus
bytes / bandwidth plus decode calls x servers x round-trip latency. Loopback
servers share this machine's cores with the client, so the times here are
an upper bound for the compute, not a prediction of a cluster's speed.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from scoring import limit_plan, synthetic_model, workload  # noqa: E402

from emergetui import Engine  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(
        os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emergetui",
            "rpc-server",
            "--port",
            str(port),
            "--threads",
            str(threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("rpc-server did not start")


def net_bytes(endpoint: str) -> int:
    """Payload bytes both ways so far on the server's open connections.

    From the kernel's TCP_INFO, via ss.
    """
    port = endpoint.rsplit(":", 1)[1]
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    for word in out.split():
        if word.startswith(("bytes_sent:", "bytes_received:")):
            total += int(word.split(":")[1])
    return total


class Counting:
    """Counts llama_decode calls of one engine (each is a round trip to every server)."""

    def __init__(self, eng: Engine) -> None:
        self.n = 0
        native = eng.native
        inner = native.decode

        def decode(n_tokens: int) -> None:
            self.n += 1
            inner(n_tokens)

        native.decode = decode  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("model", nargs="?", type=Path)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--threads", type=int, default=2, help="threads of the client and of each server"
    )
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    path = args.model or synthetic_model(Path(tmp.name) / "bench-50m.gguf")
    servers = [start_server(args.threads), start_server(args.threads)]
    pairs = workload(args.items)
    try:
        both = [servers[0][1], servers[1][1]]
        setups = {
            "local": [],
            "1 server": [servers[0][1]],
            "2 servers": both,
        }
        engines: dict[str, Engine] = {}
        load_bytes: dict[str, int] = {}
        for name, eps in setups.items():
            before = sum(net_bytes(ep) for _, ep in servers)
            kw: dict = {"rpc": eps} if eps else {"n_gpu_layers": 0}
            t0 = time.perf_counter()
            engines[name] = Engine.load(path, n_threads=args.threads, **kw)
            load_s = time.perf_counter() - t0
            load_bytes[name] = sum(net_bytes(ep) for _, ep in servers) - before
            print(
                f"loaded {name}: {load_s:.1f} s, {load_bytes[name] / 1e6:.1f} MB to the servers",
                flush=True,
            )
            engines[name].score(pairs[:8])  # warm-up
        eng0 = engines["local"]
        encoded = [eng0.encode_pair(c, t) for c, t in pairs]
        total = sum(len(c) + len(t) for c, t in encoded)
        trie, n_rows = limit_plan(encoded)
        trie_tokens = len(trie)
        logits_bytes = n_rows * eng0.info.n_vocab * 4
        print(
            f"model {path.name}: {path.stat().st_size / 2**20:.0f} MB, {len(pairs)} requests, "
            f"{total} request tokens, {trie_tokens} decoded (trie) tokens, {n_rows} scored rows "
            f"({logits_bytes / 1e6:.1f} MB of float32 logits), threads {args.threads}",
            flush=True,
        )
        times: dict[str, list[float]] = {k: [] for k in setups}
        net: dict[str, int] = {}
        calls: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, eng in engines.items():
                counter = Counting(eng)
                before = sum(net_bytes(ep) for _, ep in servers)
                t0 = time.perf_counter()
                out = eng.score(pairs)
                times[name].append(time.perf_counter() - t0)
                net[name] = sum(net_bytes(ep) for _, ep in servers) - before
                calls[name] = counter.n
                eng.native.decode = type(eng.native).decode.__get__(eng.native)  # type: ignore[method-assign]
                assert all(s.error is None for s in out)
        best_local = min(times["local"])
        for name in setups:
            t = min(times[name])
            line = (
                f"  {name:<13} {t:7.2f} s  {total / t:8.0f} workload tokens/s  "
                f"{best_local / t:5.2f}x local  (runs {' '.join(f'{x:.2f}' for x in times[name])})"
            )
            if setups[name]:
                line += (
                    f"\n{'':16}network {net[name] / 1e6:.1f} MB per score() = "
                    f"{net[name] / trie_tokens / 1024:.1f} KiB per decoded token, "
                    f"{calls[name]} llama_decode calls "
                    f"({net[name] / calls[name] / 1e6:.2f} MB each), "
                    f"logits rows {100 * logits_bytes / net[name]:.0f}% of it"
                )
            print(line, flush=True)
        for eng in engines.values():
            eng.close()
    finally:
        for p, _ in servers:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
