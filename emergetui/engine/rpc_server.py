"""The server side of llama.cpp's RPC backend: ``emergetui rpc-server``.

It hands this machine's devices to ggml-rpc's own ``ggml_backend_rpc_start_server``,
exactly as llama.cpp's ``rpc-server`` tool does (tools/rpc/rpc-server.cpp):
every non-CPU device, else the CPU, and the same warning when the server is
not bound to loopback. The protocol is never reimplemented here.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import sys
from collections.abc import Sequence

from emergetui.engine.rpc import _V, Endpoint, RpcError, _lib, _memory, _rpc_fn

# llama.cpp's rpc-server warning (tools/rpc/rpc-server.cpp), printed when not bound to loopback.
EXPOSED_WARNING = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
WARNING: Host ('{host}') is != '127.0.0.1'
         Never expose the RPC server to an open network!
         This is an experimental feature and is not secure!
         (ggml-rpc has no authentication and no encryption:
          anyone who can reach this port can use this machine's
          memory and compute. Trusted networks only.)
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


def server_devices() -> list[int]:
    """What llama.cpp's rpc-server exposes by default: every non-CPU device, else the CPU."""
    lib = _lib()
    devs = [
        lib.ggml_backend_dev_get(i)
        for i in range(lib.ggml_backend_dev_count())
        if lib.ggml_backend_dev_type(lib.ggml_backend_dev_get(i)) != 0
    ]
    if not devs:
        cpu = lib.ggml_backend_dev_by_type(0)
        devs = [cpu] if cpu else []
    return devs


def describe_devices(devs: Sequence[int]) -> list[str]:
    lib = _lib()
    lines = []
    for d in devs:
        free, total = _memory(lib, d)
        name = (lib.ggml_backend_dev_name(d) or b"?").decode()
        desc = (lib.ggml_backend_dev_description(d) or b"").decode()
        lines.append(f"{name}: {desc} ({total >> 20} MiB, {free >> 20} MiB free)")
    return lines


def check_bindable(host: str, port: int) -> None:
    """Fail with a clear message before llama.cpp does (it only logs and returns)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise RpcError(f"rpc-server: cannot listen on {host}:{port}: {e.strerror or e}") from None


def serve(host: str, port: int, threads: int, cache_dir: str | None = None) -> None:
    """Run ggml-rpc's server on this machine's devices until the process is stopped.

    Blocks in C; Ctrl+C and SIGTERM get their default action (end the
    process) since Python's handlers could not run until the call returns.
    """
    start = _rpc_fn(
        "ggml_backend_rpc_start_server",
        ctypes.CFUNCTYPE(
            None,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.POINTER(_V),
        ),
    )
    check_bindable(host, port)
    devs = server_devices()
    if not devs:
        raise RpcError("rpc-server: llama.cpp found no device to serve")
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.stderr.write(EXPOSED_WARNING.format(host=host))
        sys.stderr.flush()
    arr = (_V * len(devs))(*devs)
    endpoint = str(Endpoint(host, port)).encode()
    sys.stdout.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    start(endpoint, cache_dir.encode() if cache_dir else None, threads, len(devs), arr)
    raise RpcError(
        f"rpc-server: llama.cpp's server stopped (could not serve on {endpoint.decode()})"
    )
