"""A thin, owned wrapper over llama-cpp-python's low-level C API.

Only what the scorer and the generator need: loading, tokenizing, a batch whose
arrays live in numpy (so filling thousands of tokens × sequence ids is one
vectorised assignment instead of a Python loop over ctypes fields), decoding,
reading the output rows of the logits, and KV-memory bookkeeping.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import llama_cpp as ll
import numpy as np

from emergetui.engine.errors import EngineError, ModelLoadError
from emergetui.engine.threads import ThreadGovernor

log = logging.getLogger("emergetui.llama")


class _LogSink:
    """Routes llama.cpp's log into Python logging and keeps the last lines.

    llama.cpp reports *why* a load failed only through its log, so the tail is
    kept to turn a NULL model pointer into a message that names the cause.
    """

    def __init__(self) -> None:
        self.lines: deque[str] = deque(maxlen=200)
        self.count = 0  # lines ever logged: a mark stays valid once the deque is full
        self._partial = ""
        self.callback = ll.llama_log_callback(self._on_log)
        ll.llama_log_set(self.callback, ctypes.c_void_p(0))

    def _on_log(self, level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        msg = self._partial + text.decode("utf-8", errors="replace")
        self._partial = ""
        if not msg.endswith("\n"):
            self._partial = msg
            return
        for line in msg.splitlines():
            self.lines.append(line)
            self.count += 1
            log.debug(line)

    def errors_since(self, mark: int) -> list[str]:
        """The error lines logged since ``mark`` (of those still kept)."""
        new = min(self.count - mark, len(self.lines))
        items = list(self.lines)[len(self.lines) - new :] if new > 0 else []
        return [s for s in items if "error" in s.lower() or "failed" in s.lower()]

    def mark(self) -> int:
        return self.count


_SINK: _LogSink | None = None


def _sink() -> _LogSink:
    # The callback must outlive every model; llama.cpp holds a raw pointer to it.
    global _SINK
    if _SINK is None:
        ll.llama_backend_init()
        _SINK = _LogSink()
    return _SINK


def physical_cores() -> int:
    """Physical cores (not hyper-threads): llama.cpp gets slower with SMT siblings."""
    seen = set()
    base = Path("/sys/devices/system/cpu")
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, (os.cpu_count() or 2) // 2)
    for cpu in cpus:
        topo = base / f"cpu{cpu}" / "topology"
        try:
            core = (topo / "core_id").read_text().strip()
            pkg = (topo / "physical_package_id").read_text().strip()
        except OSError:
            return len(cpus)
        seen.add((pkg, core))
    return max(1, len(seen))


@dataclass
class ModelInfo:
    path: str
    architecture: str
    n_params: int
    size_bytes: int
    n_layer: int
    n_ctx_train: int
    n_vocab: int
    add_bos: bool
    bos: int
    eos: int


class NativeModel:
    """One loaded model and one context, owned together and freed together."""

    # set with each context (``_make_context``: the context is remade when resized)
    mem: ll.llama_memory_t | None
    n_batch: int
    max_outputs: int

    def __init__(
        self,
        path: str | Path,
        *,
        n_gpu_layers: int,
        n_ctx: int,
        n_batch: int,
        n_seq_max: int,
        n_threads: int,
        flash_attn: bool | None,
        seed: int,
        cb_eval: Callable[[int, bool], bool] | None = None,
        initial_cells: int | None = None,
        devices: list[int] | None = None,
        n_ubatch: int = 256,
        repack: bool = True,
    ) -> None:
        """``cb_eval(tensor_ptr, ask)`` becomes llama.cpp's graph evaluation callback.

        Only the probes (``emergetui.probe``) set it, to read per-layer hidden
        states during the real forward pass; with it the scheduler computes the
        graph node by node, so ordinary scoring leaves it unset.

        ``initial_cells`` sizes the first context (default: all of ``n_ctx``);
        callers that start smaller size it (``size_cells``/``ensure_cells``) before decoding.

        ``devices`` (ggml device handles, e.g. RPC servers from ``engine.rpc``)
        become ``llama_model_params.devices``: the layers are offloaded to
        exactly these instead of every registered device.
        """
        sink = _sink()
        self.path = str(path)
        mark = sink.mark()
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = n_gpu_layers
        mparams.use_mmap = True
        # llama.cpp's CPU_REPACK buffers (weights interleaved for its gemm/gemv kernels)
        mparams.use_extra_bufts = repack
        if devices is not None:
            # NULL-terminated; llama.cpp reads it during the load only, kept alive regardless
            self._devices = (ctypes.c_void_p * (len(devices) + 1))(*devices, None)
            mparams.devices = ctypes.cast(self._devices, ctypes.c_void_p)
        self.model = ll.llama_model_load_from_file(self.path.encode(), mparams)
        if not self.model:
            raise ModelLoadError(_load_reason(self.path, sink.errors_since(mark)))
        self.vocab = ll.llama_model_get_vocab(self.model)
        n_ctx_train = ll.llama_model_n_ctx_train(self.model)
        self.n_vocab = ll.llama_vocab_n_tokens(self.vocab)
        self.n_ctx = n_ctx
        self.n_seq_max = n_seq_max
        self.seed = seed
        self._mark = mark
        self._n_batch_max = n_batch
        self._n_ubatch = n_ubatch
        self._n_threads = n_threads
        # fewer threads while other processes keep the cores busy (see engine.threads)
        self.governor = ThreadGovernor(n_threads)
        self._threads_now = n_threads
        self._flash_attn = flash_attn
        # llama.cpp keeps the raw function pointer: the ctypes thunk must live as long as the
        # context.
        self._cb_eval = (
            ll.ggml_backend_sched_eval_callback(lambda t, ask, _ud: bool(cb_eval(t, ask)))
            if cb_eval is not None
            else None
        )
        self.ctx = None
        self.cells = 0
        # threads that log-softmax logits rows while the next decode runs (see prefill.TrieRunner)
        self.row_workers = 0
        self._create_context(n_ctx if initial_cells is None else max(1, min(initial_cells, n_ctx)))
        if initial_cells is None:
            self.n_ctx = self.cells
        self.info = ModelInfo(
            path=self.path,
            architecture=self.meta("general.architecture") or "?",
            n_params=int(ll.llama_model_n_params(self.model)),
            size_bytes=int(ll.llama_model_size(self.model)),
            n_layer=int(ll.llama_model_n_layer(self.model)),
            n_ctx_train=int(n_ctx_train),
            n_vocab=int(self.n_vocab),
            add_bos=bool(ll.llama_vocab_get_add_bos(self.vocab)),
            bos=int(ll.llama_vocab_bos(self.vocab)),
            eos=int(ll.llama_vocab_eos(self.vocab)),
        )
        self._batch = NumpyBatch(n_batch, n_seq_max)

    def _create_context(self, cells: int) -> None:
        """(Re)create the llama.cpp context with room for ``cells`` KV cells.

        The KV cache and the compute buffer are sized by the context and are
        written in full when it is created, so they count in resident memory
        whether used or not: a 4096-cell cache of a 50M model is 67 MB that a
        workload of 300-token requests never touches. The context therefore
        starts small and is resized (``size_cells``, ``ensure_cells``) within
        ``n_ctx``, the capacity that requests are checked against.
        """
        if self.ctx:
            ll.llama_free(self.ctx)
            self.ctx = None
        n_batch = min(self._n_batch_max, cells)
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = cells
        cparams.n_batch = n_batch
        cparams.n_ubatch = min(n_batch, self._n_ubatch)
        cparams.n_seq_max = self.n_seq_max
        # The logits buffer (and the output part of the compute graph) holds
        # one n_vocab row per output of a decode: cap the rows per decode so a
        # 262k-token vocabulary costs ~64 MB there, not n_batch rows' worth.
        max_outputs = max(self.n_seq_max, min(n_batch, self.outputs_cap))
        cparams.n_outputs_max = max_outputs
        cparams.n_threads = self._n_threads
        cparams.n_threads_batch = self._n_threads
        cparams.kv_unified = True
        cparams.swa_full = True
        cparams.no_perf = True
        if self._cb_eval is not None:
            cparams.cb_eval = self._cb_eval
            cparams.cb_eval_user_data = None
        if self._flash_attn is None:
            cparams.flash_attn_type = ll.LLAMA_FLASH_ATTN_TYPE_AUTO
        else:
            cparams.flash_attn_type = (
                ll.LLAMA_FLASH_ATTN_TYPE_ENABLED
                if self._flash_attn
                else ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
            )
        self.ctx = ll.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            errs = _sink().errors_since(self._mark)
            ll.llama_model_free(self.model)
            self.model = None
            raise ModelLoadError(
                f"{self.path}: llama.cpp could not create a context (n_ctx={cells})"
                + (f": {errs[-1].strip()}" if errs else "")
            )
        self.mem = ll.llama_get_memory(self.ctx)
        self._threads_now = self._n_threads
        self.cells = int(ll.llama_n_ctx(self.ctx))
        self.n_batch = min(n_batch, self.cells)
        self.max_outputs = max_outputs

    @property
    def outputs_cap(self) -> int:
        """Logits rows whose n_vocab floats fit 64 MB."""
        return (64 << 20) // max(1, 4 * self.n_vocab)

    @property
    def n_batch_max(self) -> int:
        """The largest micro-batch asked for at load (``n_batch`` shrinks with the cache)."""
        return self._n_batch_max

    def size_cells(self, cells: int) -> None:
        """Make the context exactly ``cells`` KV cells (rounded up to 256, at most ``n_ctx``);
        drops the cache.

        Packed scoring wants the cache no bigger than one wave: llama.cpp places
        new tokens from a moving head, so over many waves the occupied cells
        wander through the whole cache, and without flash attention every
        token attends over all cells up to the highest occupied one. Measured
        on the benchmark workload (512-cell waves): 16.2 s in a 512-cell
        cache, 18.5 s in a 1024-cell one.
        """
        size = min(self.n_ctx, (max(1, cells) + 255) // 256 * 256)
        if size != self.cells:
            self._create_context(size)

    def ensure_cells(self, need: int) -> None:
        """Grow the context to hold at least ``need`` KV cells (never past ``n_ctx``); drops the
        cache.

        For paths that clear the cache before each sequence (the naive
        reference), where a bigger cache costs nothing: growth goes to the next
        power of two so that slowly growing requests recreate it only a few times.
        """
        need = min(max(1, need), self.n_ctx)
        if need > self.cells:
            self.size_cells(max(256, 1 << (need - 1).bit_length()))

    # -- metadata and tokens -------------------------------------------------
    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(512)
        n = ll.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", errors="replace") if n >= 0 else None

    def tokenize(self, text: str, add_special: bool) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        arr = (ll.llama_token * cap)()
        n = ll.llama_tokenize(self.vocab, data, len(data), arr, cap, add_special, False)
        if n < 0:
            cap = -n
            arr = (ll.llama_token * cap)()
            n = ll.llama_tokenize(self.vocab, data, len(data), arr, cap, add_special, False)
        return list(arr[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = ll.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = ll.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def is_eog(self, token: int) -> bool:
        return bool(ll.llama_vocab_is_eog(self.vocab, token))

    # -- decoding ------------------------------------------------------------
    @property
    def batch(self) -> NumpyBatch:
        return self._batch

    def decode(self, n_tokens: int) -> None:
        threads = self.governor.pick()
        if threads != self._threads_now:
            ll.llama_set_n_threads(self.ctx, threads, threads)
            self._threads_now = threads
        self._batch.set_n(n_tokens)
        rc = ll.llama_decode(self.ctx, self._batch.struct)
        if rc != 0:
            reason = {1: "no free KV-cache slot (context full)", 2: "aborted"}.get(
                rc, "decode failed"
            )
            raise EngineError(f"{self.path}: llama_decode returned {rc}: {reason}")

    def threads_in_effect(self) -> int:
        """The thread count llama.cpp's context decodes with now (see ``governor``)."""
        return int(ll.llama_n_threads(self.ctx))

    def output_rows(self, n_out: int) -> np.ndarray:
        """The logits rows of the last decode, one per token flagged for output."""
        ptr = ll.llama_get_logits(self.ctx)
        return np.ctypeslib.as_array(ptr, shape=(n_out, self.n_vocab))

    # -- memory ----------------------------------------------------------------
    def clear(self) -> None:
        ll.llama_memory_clear(self.mem, True)

    def seq_rm(self, seq: int, p0: int = -1, p1: int = -1) -> None:
        ll.llama_memory_seq_rm(self.mem, seq, p0, p1)

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        ll.llama_memory_seq_cp(self.mem, src, dst, p0, p1)

    def close(self) -> None:
        if getattr(self, "ctx", None):
            ll.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            ll.llama_model_free(self.model)
            self.model = None

    def __del__(self) -> None:  # pragma: no cover - safety net
        try:
            self.close()
        except Exception:
            pass


class NumpyBatch:
    """A ``llama_batch`` whose arrays are numpy buffers we own.

    ``seq`` is a dense (n_tokens × n_seq_max) matrix; row i's pointer goes into
    ``seq_id[i]``, so callers fill sequence ids with array slicing.
    """

    def __init__(self, n_tokens: int, n_seq_max: int) -> None:
        self.capacity = n_tokens
        self.token = np.zeros(n_tokens, dtype=np.int32)
        self.pos = np.zeros(n_tokens, dtype=np.int32)
        self.n_seq = np.zeros(n_tokens, dtype=np.int32)
        self.seq = np.zeros((n_tokens, n_seq_max), dtype=np.int32)
        self.logits = np.zeros(n_tokens, dtype=np.int8)
        i32p = ctypes.POINTER(ctypes.c_int32)
        self._rows = (i32p * n_tokens)(
            *[ctypes.cast(self.seq[i].ctypes.data, i32p) for i in range(n_tokens)]
        )
        # Any: llama_cpp annotates the struct's pointer fields (token, pos, seq_id, ...) as
        # ctypes arrays; the C struct holds pointers, which is what is stored here
        self.struct: Any = cast(Any, ll.llama_batch())
        self.struct.token = self.token.ctypes.data_as(i32p)
        self.struct.embd = None
        self.struct.pos = self.pos.ctypes.data_as(i32p)
        self.struct.n_seq_id = self.n_seq.ctypes.data_as(i32p)
        self.struct.seq_id = ctypes.cast(self._rows, ctypes.POINTER(i32p))
        self.struct.logits = self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8))

    def set_n(self, n: int) -> None:
        if n > self.capacity:
            raise EngineError(f"batch of {n} tokens exceeds capacity {self.capacity}")
        self.struct.n_tokens = n


def _load_reason(path: str, errors: list[str]) -> str:
    p = Path(path)
    if not p.exists():
        return f"{path}: no such model file"
    if p.is_dir():
        return f"{path}: is a folder, not a GGUF file"
    try:
        with p.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        return f"{path}: cannot read: {e.strerror}"
    if magic != b"GGUF":
        return f"{path}: not a GGUF file (bad magic {magic!r})"
    text = " ".join(errors)
    if "unknown model architecture" in text:
        arch = text.split("unknown model architecture:")[-1].strip().split()[0].strip("'")
        return f"{path}: architecture {arch} is not known to this llama.cpp build"
    if errors:
        return f"{path}: llama.cpp could not load it: {errors[-1].strip()}"
    return f"{path}: llama.cpp could not load it (truncated or corrupt GGUF?)"
