"""llama.cpp's distributed backend (ggml-rpc), through the library emergetui already loads.

Two sides, both calling ggml-rpc's own entry points (the protocol is never
reimplemented here):

* the server (``emergetui rpc-server``, in ``rpc_server.py``) hands this
  machine's devices to ``ggml_backend_rpc_start_server``, exactly as
  llama.cpp's ``rpc-server`` tool does;
* the client turns ``HOST:PORT`` endpoints into ggml devices with
  ``ggml_backend_rpc_add_server``; the engine passes them to
  ``llama_model_params.devices`` so that llama.cpp splits the layers over them.

ggml-rpc aborts the whole process when a server cannot be reached, when its
handshake fails and when a server dies mid-graph. So the client never lets
llama.cpp be the first to talk to a server: a plain TCP connect with a timeout
says "unreachable" in a second, and a short-lived child process performs the
real handshake (and reads each device's memory for the fitter) before the
endpoint is used in this process. What cannot be checked beforehand (a server
killed in the middle of a rung) still aborts; :func:`install_abort_note`
turns that abort into one line on stderr naming the cause instead of a
debugger backtrace.

The RPC devices are never added to ggml's global device registry: a model
loaded without ``rpc`` then never offloads to a server by accident, and the
GPU detection (:func:`emergetui.engine.engine.gpu_offload_supported`) only
sees this machine's devices.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from emergetui.engine.errors import EngineError

DEFAULT_PORT = 50052
CONNECT_TIMEOUT_S = 3.0
PROBE_TIMEOUT_S = 30.0
REBUILD_HINT = (
    'rebuild llama-cpp-python with RPC: CMAKE_ARGS="-DGGML_RPC=on" '
    "pip install --force-reinstall --no-cache-dir llama-cpp-python==0.3.36"
)

_GPU_TYPES = (1, 2)  # GGML_BACKEND_DEVICE_TYPE_GPU, GGML_BACKEND_DEVICE_TYPE_IGPU
_V = ctypes.c_void_p
_Fn = TypeVar("_Fn")  # a ctypes function type (CFUNCTYPE) made from an address
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)


class RpcError(EngineError):
    """An RPC endpoint is malformed, unreachable or not an RPC server; names the endpoint."""


class RpcUnavailable(RpcError):
    """This llama.cpp build has no RPC backend."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RpcDevice:
    """One device a server exposes, with the memory it reports (ggml_backend_dev_memory)."""

    endpoint: str
    name: str
    description: str
    free: int
    total: int


def parse_endpoint(text: str, where: str = "--rpc") -> Endpoint:
    """``HOST:PORT`` (``[v6addr]:PORT`` for IPv6) or one clear error naming ``where``."""
    s = text.strip()
    host, sep, port_s = s.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise RpcError(
            f"{where}: expected HOST:PORT (e.g. 192.168.1.20:{DEFAULT_PORT}), got {text!r}"
        )
    return Endpoint(host, int(port_s))


def parse_endpoints(items: Sequence[str] | str, where: str = "--rpc") -> tuple[str, ...]:
    """Endpoints from a comma-separated string or a list, normalised, in order, without repeats."""
    parts = items.split(",") if isinstance(items, str) else list(items)
    out: list[str] = []
    for p in parts:
        if not str(p).strip():
            continue
        ep = str(parse_endpoint(str(p), where))
        if ep not in out:
            out.append(ep)
    return tuple(out)


# -- the library ---------------------------------------------------------------------------
def _lib() -> ctypes.CDLL:
    from llama_cpp import _ggml

    lib = _ggml.libggml
    for name, res, args in (
        ("ggml_backend_reg_by_name", _V, [ctypes.c_char_p]),
        ("ggml_backend_reg_get_proc_address", _V, [_V, ctypes.c_char_p]),
        ("ggml_backend_reg_name", ctypes.c_char_p, [_V]),
        ("ggml_backend_reg_dev_count", ctypes.c_size_t, [_V]),
        ("ggml_backend_reg_dev_get", _V, [_V, ctypes.c_size_t]),
        ("ggml_backend_dev_count", ctypes.c_size_t, []),
        ("ggml_backend_dev_get", _V, [ctypes.c_size_t]),
        ("ggml_backend_dev_by_type", _V, [ctypes.c_int]),
        ("ggml_backend_dev_type", ctypes.c_int, [_V]),
        ("ggml_backend_dev_name", ctypes.c_char_p, [_V]),
        ("ggml_backend_dev_description", ctypes.c_char_p, [_V]),
        ("ggml_backend_dev_backend_reg", _V, [_V]),
        ("ggml_backend_dev_memory", None, [_V, _SIZE_P, _SIZE_P]),
    ):
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


def _rpc_fn(name: str, proto: Callable[[int], _Fn]) -> _Fn:
    """An entry point of ggml-rpc, found the way llama.cpp finds it (the "RPC" registry)."""
    lib = _lib()
    reg = lib.ggml_backend_reg_by_name(b"RPC")
    if not reg:
        raise RpcUnavailable(f"this llama.cpp build has no RPC backend: {REBUILD_HINT}")
    addr = lib.ggml_backend_reg_get_proc_address(reg, name.encode())
    if not addr:
        raise RpcUnavailable(f"this llama.cpp's RPC backend lacks {name}: {REBUILD_HINT}")
    return proto(addr)


def rpc_available() -> bool:
    try:
        _rpc_fn("ggml_backend_rpc_add_server", ctypes.CFUNCTYPE(_V, ctypes.c_char_p))
    except (RpcUnavailable, ImportError, AttributeError, OSError):
        return False
    return True


def _memory(lib: ctypes.CDLL, dev: int) -> tuple[int, int]:
    free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
    lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
    return int(free.value), int(total.value)


def local_gpu_devices() -> list[int]:
    """This machine's GPUs (dedicated or integrated) in ggml's registry; RPC devices excluded.

    ggml-rpc reports its devices as GPUs and ``llama_supports_gpu_offload()``
    is true in every RPC build, so "can this machine offload" is answered
    from the device list, by type and by the registry that owns each device.
    """
    lib = _lib()
    out = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        reg = lib.ggml_backend_dev_backend_reg(dev)
        name = (lib.ggml_backend_reg_name(reg) or b"") if reg else b""
        if lib.ggml_backend_dev_type(dev) in _GPU_TYPES and not name.startswith(b"RPC"):
            out.append(dev)
    return out


# -- client ----------------------------------------------------------------------------------
def check_reachable(endpoint: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """A plain TCP connect with a timeout, so an unreachable server is an error, not a hang or
    an abort."""
    ep = parse_endpoint(endpoint)
    try:
        with socket.create_connection((ep.host, ep.port), timeout=timeout_s):
            pass
    except TimeoutError:
        raise RpcError(
            f"RPC server {ep}: no answer within {timeout_s:g} s (host down or port filtered?)"
        ) from None
    except OSError as e:
        why = e.strerror or str(e)
        raise RpcError(
            f"RPC server {ep}: cannot connect: {why} "
            f"(is `emergetui rpc-server --host ... --port {ep.port}` running there?)"
        ) from None


_DEVICES: dict[str, list[int]] = {}
_PROBED: dict[str, list[RpcDevice]] = {}


def probe(endpoints: Sequence[str], timeout_s: float = PROBE_TIMEOUT_S) -> list[RpcDevice]:
    """Handshake with each server in a child process; its devices and their free memory.

    The child does what the engine will do (``ggml_backend_rpc_add_server``),
    so a version mismatch or a port that is not an RPC server aborts the
    child, not this process, and becomes one error naming the endpoint.
    """
    out: list[RpcDevice] = []
    for ep in parse_endpoints(endpoints):
        check_reachable(ep)
        pkg_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
        env["GGML_NO_BACKTRACE"] = "1"
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "emergetui.engine.rpc", "probe", ep],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RpcError(
                f"RPC server {ep}: connected, but no RPC handshake within {timeout_s:g} s "
                "(not an emergetui/llama.cpp rpc-server?)"
            ) from None
        if proc.returncode != 0:
            lines = [s for s in proc.stderr.splitlines() if s.strip()]
            why = _abort_reason(lines)
            raise RpcError(f"RPC server {ep}: handshake failed: {why}")
        try:
            found = [RpcDevice(**d) for d in json.loads(proc.stdout.strip().splitlines()[-1])]
        except (ValueError, TypeError, IndexError):
            raise RpcError(f"RPC server {ep}: unreadable probe answer {proc.stdout!r}") from None
        _PROBED[ep] = found
        out.extend(found)
    return out


def _abort_reason(lines: list[str]) -> str:
    for s in reversed(lines):
        if "emergetui: llama.cpp aborted:" in s:
            return s.split("aborted:", 1)[1].strip()
    for s in reversed(lines):
        if "error" in s.lower() or "failed" in s.lower() or "mismatch" in s.lower():
            return s.strip()
    return lines[-1].strip() if lines else "the probe process died"


def _add_server_devices(ep: str) -> list[int]:
    """ggml devices of one server, created once per process (ggml keeps one connection per
    endpoint)."""
    if ep in _DEVICES:
        return _DEVICES[ep]
    add = _rpc_fn("ggml_backend_rpc_add_server", ctypes.CFUNCTYPE(_V, ctypes.c_char_p))
    install_abort_note()
    reg = add(ep.encode())
    if not reg:
        raise RpcError(f"RPC server {ep}: llama.cpp could not add it")
    lib = _lib()
    devs = [
        lib.ggml_backend_reg_dev_get(reg, i) for i in range(lib.ggml_backend_reg_dev_count(reg))
    ]
    if not devs:
        raise RpcError(f"RPC server {ep}: it exposes no device")
    _DEVICES[ep] = devs
    return devs


def connect(endpoints: Sequence[str]) -> list[int]:
    """Device handles for ``llama_model_params.devices``: local GPUs first, then every server's.

    Each endpoint is checked (TCP connect, then a handshake in a child
    process, once per process) before llama.cpp connects to it here.
    """
    eps = parse_endpoints(endpoints)
    devices = list(local_gpu_devices())
    for ep in eps:
        if ep not in _DEVICES:
            if ep not in _PROBED:
                probe([ep])
            else:
                check_reachable(ep)
        devices.extend(_add_server_devices(ep))
    return devices


def free_memory(endpoints: Sequence[str]) -> int:
    """Free memory summed over the servers' devices, as each server reports it."""
    return sum(d.free for d in probe(endpoints))


# -- process-wide abort note -------------------------------------------------------------
_ABORT_CB: object | None = None


def install_abort_note() -> None:
    """Make a ggml abort print one line naming the cause (not a debugger backtrace).

    ggml-rpc aborts the process when a server dies mid-graph; nothing can
    return from there, so the least is a cause a parent process (or a user)
    can read. The process still ends (SIGABRT).
    """
    global _ABORT_CB
    if _ABORT_CB is not None:
        return
    proto = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

    def note(msg: bytes | None) -> None:
        text = (msg or b"").decode("utf-8", "replace").strip().splitlines()
        line = text[-1] if text else "abort"
        # "/long/build/path/ggml-rpc.cpp:566: Remote RPC server crashed ..."
        #   -> "ggml-rpc.cpp:566: ..."
        head, sep, rest = line.partition(": ")
        line = f"{os.path.basename(head)}{sep}{rest}" if sep and "/" in head else line
        os.write(2, f"\nemergetui: llama.cpp aborted: {line}\n".encode())

    _ABORT_CB = proto(note)
    from llama_cpp import _ggml

    fn = _ggml.libggml.ggml_set_abort_callback
    fn.restype = _V
    fn.argtypes = [proto]
    fn(_ABORT_CB)


def _probe_main(ep: str) -> int:
    """Child side of :func:`probe`: handshake, then print the devices as one JSON line."""
    import llama_cpp as ll

    ll.llama_backend_init()
    quiet = ll.llama_log_callback(lambda *_: None)  # kept alive: llama.cpp holds the pointer
    ll.llama_log_set(quiet, ctypes.c_void_p(0))
    lib = _lib()
    devs = _add_server_devices(ep)
    rows = []
    for d in devs:
        free, total = _memory(lib, d)
        rows.append(
            {
                "endpoint": ep,
                "name": (lib.ggml_backend_dev_name(d) or b"?").decode(),
                "description": (lib.ggml_backend_dev_description(d) or b"").decode(),
                "free": free,
                "total": total,
            }
        )
    print(json.dumps(rows), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - run by probe() in a child process
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        sys.exit(_probe_main(sys.argv[2]))
    sys.exit("usage: python -m emergetui.engine.rpc probe HOST:PORT")
