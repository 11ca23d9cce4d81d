"""A model's layers split over real rpc-server processes: exactness, failures, GPU detection."""

from __future__ import annotations

import ctypes
import socket
import time
from pathlib import Path

import llama_cpp as ll
import numpy as np
import pytest

from emergetui import Engine
from emergetui.engine import rpc
from emergetui.engine.engine import gpu_offload_supported
from emergetui.engine.native import _sink
from tests.conftest import write_tiny

from .conftest import Server, free_port

PAIRS = [
    ("The cat is", " on the mat"),
    ("12+34=", "46"),
    ("a b c", " d e f g"),
    ("", "the end"),
    ("Q: 7+8=\nA:", " 15"),
    ("in the", " heart of the"),
] * 4


@pytest.fixture(scope="module")
def four_layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("m") / "tiny4.gguf", seed=4, n_layer=4)


@pytest.fixture(scope="module")
def quantized(four_layers: Path) -> Path:
    """The F32 model quantized to Q8_0 by llama.cpp itself."""
    dst = four_layers.with_name("tiny4-q8_0.gguf")
    params = ll.llama_model_quantize_default_params()
    params.ftype = ll.LLAMA_FTYPE_MOSTLY_Q8_0
    params.nthread = 1
    assert (
        ll.llama_model_quantize(str(four_layers).encode(), str(dst).encode(), ctypes.byref(params))
        == 0
    )
    return dst


def _score(path: Path, **kw: object) -> tuple[list, list]:
    with Engine.load(path, n_threads=1, **kw) as eng:  # type: ignore[arg-type]
        scored = eng.score(PAIRS)
        gen = eng.generate(["The cat", "12+"], max_tokens=6)
    return scored, gen


def _buffers_on(endpoint: str) -> bool:
    """llama.cpp logs one model buffer per device that got layers: RPC0[host:port] ...

    (The ports are fresh for each module, so an older load cannot match.)
    """
    return any(f"[{endpoint}] model buffer size" in s for s in _sink().lines)


def test_split_over_two_servers_scores_exactly_like_local_f32(
    four_layers: Path, rpc_pair: list[Server]
) -> None:
    local, local_gen = _score(four_layers, n_gpu_layers=0)
    remote, remote_gen = _score(four_layers, rpc=[s.endpoint for s in rpc_pair])
    assert all(_buffers_on(s.endpoint) for s in rpc_pair), "layers did not go to both servers"
    for a, b in zip(local, remote):
        assert a.error is None and b.error is None
        assert a.tokens == b.tokens and a.greedy == b.greedy
        np.testing.assert_allclose(a.logprobs, b.logprobs, atol=1e-4, rtol=0)
    assert [g.text for g in local_gen] == [g.text for g in remote_gen]


def test_split_over_two_servers_quantized_same_choices(
    quantized: Path, rpc_pair: list[Server]
) -> None:
    local, _ = _score(quantized, n_gpu_layers=0)
    remote, _ = _score(quantized, rpc=[s.endpoint for s in rpc_pair])
    gap = max(abs(x - y) for a, b in zip(local, remote) for x, y in zip(a.logprobs, b.logprobs))
    assert gap <= 0.32  # the micro-batch spread of quantized CPU kernels (docs/scoring.md)
    assert [a.greedy for a in local] == [b.greedy for b in remote]
    for i in range(0, len(PAIRS), 6):  # the same choice among each group's continuations
        assert np.argmax([sum(s.logprobs) for s in local[i : i + 6]]) == np.argmax(
            [sum(s.logprobs) for s in remote[i : i + 6]]
        )


def test_wrong_port_fails_fast_naming_the_endpoint(tiny_model: Path) -> None:
    ep = f"127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(rpc.RpcError, match=f"RPC server {ep}: cannot connect"):
        Engine.load(tiny_model, rpc=[ep])
    assert time.monotonic() - t0 < 5


def test_silent_port_is_a_timeout_not_a_hang() -> None:
    """A port that accepts TCP but never speaks RPC: the handshake is bounded by a timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        ep = f"127.0.0.1:{listener.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(rpc.RpcError, match=f"RPC server {ep}: .*(handshake|no RPC)"):
            rpc.probe([ep], timeout_s=3)
        assert time.monotonic() - t0 < 15


def test_servers_report_their_memory(rpc_pair: list[Server]) -> None:
    devs = rpc.probe([s.endpoint for s in rpc_pair])
    assert [d.endpoint for d in devs] == [s.endpoint for s in rpc_pair]
    assert all(d.total > 0 and 0 < d.free <= d.total for d in devs)
    assert rpc.free_memory([s.endpoint for s in rpc_pair]) == sum(d.free for d in devs)


def test_gpu_detection_ignores_rpc_offload(four_layers: Path, rpc_pair: list[Server]) -> None:
    """An RPC build says it "supports GPU offload"; only this machine's GPUs count as a GPU."""
    lib = rpc._lib()
    types = [
        lib.ggml_backend_dev_type(lib.ggml_backend_dev_get(i))
        for i in range(lib.ggml_backend_dev_count())
    ]
    assert ll.llama_supports_rpc() and ll.llama_supports_gpu_offload()
    assert gpu_offload_supported() == any(t in (1, 2) for t in types)
    n_before = lib.ggml_backend_dev_count()
    with Engine.load(four_layers, rpc=[rpc_pair[0].endpoint]) as eng:
        assert eng.n_gpu_layers == -1
        # the servers' devices are handed to this model only, never registered globally
        assert lib.ggml_backend_dev_count() == n_before
        assert gpu_offload_supported() == any(t in (1, 2) for t in types)
    if not any(t in (1, 2) for t in types):
        # so a CPU machine keeps its CPU settings (no flash attention, no row threads)
        with Engine.load(four_layers, n_gpu_layers=-1) as eng:
            assert eng.native.row_workers == 0
            assert eng.native._flash_attn is False


def test_no_rpc_backend_message_names_the_rebuild() -> None:
    with pytest.raises(rpc.RpcUnavailable, match=r'CMAKE_ARGS="-DGGML_RPC=on"'):
        rpc._rpc_fn("ggml_backend_rpc_no_such_entry", ctypes.CFUNCTYPE(None))


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("127.0.0.1:50052", True),
        ("gpu-box.local:1", True),
        ("[::1]:50052", True),
        ("127.0.0.1", False),
        ("host:0", False),
        ("host:99999", False),
        (":50052", False),
    ],
)
def test_endpoint_syntax(text: str, ok: bool) -> None:
    if ok:
        assert rpc.parse_endpoints([text]) == (text,)
    else:
        with pytest.raises(rpc.RpcError, match="expected HOST:PORT"):
            rpc.parse_endpoints([text])
