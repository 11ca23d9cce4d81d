"""The subcommands for work spread over machines: ``rpc-server`` and ``merge``."""

from __future__ import annotations

import argparse
import sys

from emergetui.errors import CliError

DEFAULT_PORT = (
    50052  # ggml-rpc's default (engine.rpc.DEFAULT_PORT; not imported: that loads llama.cpp)
)


def rpc_server_arguments(s: argparse.ArgumentParser) -> None:
    s.description = (
        "Start llama.cpp's RPC server on this machine's devices (every GPU, else the "
        "CPU). The main machine then runs `emergetui --batch --rpc HOST:PORT,...`. The protocol "
        "has no authentication and no encryption: use trusted networks only."
    )
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT)
    s.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: physical cores)"
    )
    s.add_argument(
        "--mem",
        type=float,
        default=None,
        metavar="GB",
        help="memory to advertise (not supported by this llama.cpp's server: it reports its "
        "devices' own free memory)",
    )
    s.add_argument("--cache", action="store_true", help="cache tensors on disk (llama.cpp -c)")


def merge_arguments(m: argparse.ArgumentParser) -> None:
    m.description = (
        "Copy the runs of one experiment (same ladder, tasks, items, seed, shots) "
        "from several stores into one run of the target store, rung by rung, with their "
        "provenance. Identical duplicates are kept once; conflicting ones are refused. "
        "All or nothing; rerunning it changes nothing."
    )
    m.add_argument("stores", nargs="+", help="stores to read (left unchanged)")
    m.add_argument("--into", required=True, help="target store (created if missing)")
    m.add_argument(
        "--accept-old",
        action="store_true",
        help="merge stores written before provenance was recorded (their rungs show 'unknown')",
    )


def cmd_rpc_server(args: argparse.Namespace) -> int:
    from emergetui.engine import rpc, rpc_server
    from emergetui.engine.native import physical_cores

    if args.mem is not None:
        raise CliError(
            "rpc-server --mem: this llama.cpp's RPC server (protocol 7) reports its devices' own "
            "free memory and cannot advertise another amount; leave --mem out, or limit what the "
            "main machine offloads with --n-gpu-layers"
        )
    if not 0 < args.port < 65536:
        raise CliError(f"rpc-server --port: expected 1-65535, got {args.port}")
    threads = args.threads or physical_cores()
    if threads < 1:
        raise CliError(f"rpc-server --threads: expected a positive number, got {threads}")
    cache = None
    if args.cache:
        from pathlib import Path

        from platformdirs import user_cache_dir

        cache = str(Path(user_cache_dir("emergetui", appauthor=False)) / "rpc") + "/"
        Path(cache).mkdir(parents=True, exist_ok=True)
    devs = rpc_server.server_devices()
    print(f"emergetui rpc-server on {rpc.Endpoint(args.host, args.port)}, {threads} threads")
    for line in rpc_server.describe_devices(devs):
        print(f"  {line}")
    print("stop with Ctrl+C", flush=True)
    rpc_server.serve(args.host, args.port, threads, cache)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from emergetui.store.merge import merge_stores

    result = merge_stores(list(args.stores), args.into, accept_old=args.accept_old)
    for line in result.lines():
        print(line)
    sys.stdout.flush()
    return 0
