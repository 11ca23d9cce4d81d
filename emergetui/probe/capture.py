"""Per-layer hidden states read out of llama.cpp's own forward pass.

llama.cpp names the residual stream after block ``il`` ``l_out-<il>`` in its
compute graph. A context created with an evaluation callback (``cb_eval``)
is asked, node by node, whether we want a tensor (``ask=True``) and is then
handed the computed tensor (``ask=False``); we copy the rows we need with
``ggml_backend_tensor_get``, which works whether the tensor lives in host or
GPU memory. So the states come from exactly the computation that produces the
engine's logits, with no second implementation of any architecture.

Row mapping. Before the last block llama.cpp keeps only the rows flagged for
output (``inp_out_ids``): ``l_out-<il>`` has one row per batch token for
``il < n_layer - 1`` and one row per *output* token, in batch order, for the
last block. We flag exactly the positions we capture (the last prompt token of
each sequence), keep every decode within one micro-batch (so a graph run sees
the whole batch, in order) and map rows accordingly. Recurrent and hybrid
models split batches by sequence, so there we decode one prompt at a time.

Cost (measured on this project's 2-core machine while other jobs ran, so
medians of 5 interleaved repeats; Gemma 3 270M Q4_K_M, 18 layers, n_embd 640,
32 prompts × 40 tokens, 16 per decode):

* memory: ``n_layer × n_embd × 4`` bytes per item (46 KB here, 9 MB for 200
  items; a 7B model with 28 × 3584 needs 400 KB per item, 80 MB for 200);
* time: 24.1 s with the callback vs 22.1 s without (+6 to +9 %). Python
  itself is negligible (835 callback calls per decode, 52 ms in all of 21 s);
  the rest is the scheduler running the graph in ``n_layer + 1`` slices,
  with a synchronisation after each.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp as ll
import numpy as np

from emergetui.engine.engine import Engine, default_flash_attn, resolve_gpu_layers
from emergetui.engine.errors import EngineError
from emergetui.engine.native import NativeModel, physical_cores

_GGML_TYPE_F32 = 0
_LAYER_NAME = re.compile(rb"^l_out-(\d+)$")


class _TensorHead(ctypes.Structure):
    """The leading fields of ``struct ggml_tensor`` (ggml.h), stable across ggml versions."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
    ]


def _ggml_base() -> ctypes.CDLL:
    """The very ``libggml-base`` that libllama uses (same file, so the same loaded instance)."""
    lib_dir = Path(ll.__file__).resolve().parent / "lib"
    for name in ("libggml-base.so", "libggml-base.dylib", "ggml-base.dll"):
        if (lib_dir / name).exists():
            lib = ctypes.CDLL(str(lib_dir / name))
            break
    else:  # pragma: no cover - unusual wheel layout
        lib = ctypes.CDLL("libggml-base.so")
    lib.ggml_get_name.argtypes = [ctypes.c_void_p]
    lib.ggml_get_name.restype = ctypes.c_char_p
    lib.ggml_backend_tensor_get.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_size_t,
    ]
    lib.ggml_backend_tensor_get.restype = None
    return lib


@dataclass
class _Decode:
    """What the callback needs to know about the decode in flight."""

    n_tokens: int
    rows: np.ndarray  # batch index of each captured position, in batch order
    items: np.ndarray  # output item index of each captured position
    seen: set[int] = field(default_factory=set)


class HiddenCapture:
    """A model with its own llama.cpp context whose evaluation callback records ``l_out`` states.

    ``layers`` selects block indices (``None`` = all). Results of
    :meth:`capture_tokens` are float32 ``[n_items, n_layers, n_embd]``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        layers: Sequence[int] | None = None,
        n_gpu_layers: str | int = "auto",
        n_ctx: int = 2048,
        n_batch: int = 512,
        n_seq_max: int = 16,
        n_threads: int | None = None,
    ) -> None:
        self._lib = _ggml_base()
        self._decode: _Decode | None = None
        self._out: np.ndarray | None = None
        self._error: BaseException | None = None
        gpu = resolve_gpu_layers(n_gpu_layers)
        native = NativeModel(
            path,
            n_gpu_layers=gpu,
            n_ctx=max(n_ctx, n_batch),
            n_batch=n_batch,
            n_seq_max=max(2, n_seq_max),
            n_threads=n_threads or physical_cores(),
            # as Engine.load: CPU flash attention would make results depend on batch splits
            flash_attn=default_flash_attn(gpu),
            seed=0,
            cb_eval=self._on_eval,
        )
        self.engine = Engine(native, gpu)
        self.native = native
        self.n_layer = native.info.n_layer
        self.n_embd = int(ll.llama_model_n_embd(native.model))
        self.layers = list(range(self.n_layer)) if layers is None else [int(x) for x in layers]
        bad = [x for x in self.layers if not 0 <= x < self.n_layer]
        if bad:
            raise ValueError(f"layers {bad} out of range for a {self.n_layer}-layer model")
        self._slot = {il: k for k, il in enumerate(self.layers)}
        self._last = self.n_layer - 1
        self.n_ubatch = int(ll.llama_n_ubatch(native.ctx))
        self.n_seq = native.n_seq_max
        # hybrid / recurrent memories split batches by sequence: one prompt per decode there
        self.one_per_decode = bool(
            ll.llama_model_is_recurrent(native.model) or ll.llama_model_is_hybrid(native.model)
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> HiddenCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def bytes_per_item(self) -> int:
        return len(self.layers) * self.n_embd * 4

    # -- the callback ---------------------------------------------------------------
    def _on_eval(self, t: int, ask: bool) -> bool:
        try:
            if self._decode is None or not t:
                return False
            m = _LAYER_NAME.match(self._lib.ggml_get_name(t) or b"")
            if m is None or int(m.group(1)) not in self._slot:
                return False
            if ask:
                return True
            self._copy(t, int(m.group(1)))
            return True
        except BaseException as e:  # an exception must not cross into C
            self._error = e
            return False  # with ask=False this aborts the graph; decode() then raises

    def _copy(self, t: int, il: int) -> None:
        d = self._decode
        out = self._out
        assert d is not None and out is not None
        head = ctypes.cast(t, ctypes.POINTER(_TensorHead)).contents
        ne0, n_rows = int(head.ne[0]), int(head.ne[1])
        if head.type != _GGML_TYPE_F32 or ne0 != self.n_embd or head.ne[2] != 1 or head.ne[3] != 1:
            raise EngineError(
                f"l_out-{il}: unexpected tensor (type {head.type}, ne {list(head.ne)}); "
                f"expected f32 [{self.n_embd}, rows]"
            )
        n_out = len(d.rows)
        if n_rows == d.n_tokens:
            rows = d.rows
        elif n_rows == n_out:
            # the last block: only output rows, in batch order
            rows = np.arange(n_out)
        else:
            raise EngineError(
                f"l_out-{il} has {n_rows} rows; the decode has {d.n_tokens} tokens, {n_out} outputs"
            )
        nb1 = int(head.nb[1])
        slot = self._slot[il]
        if n_rows == n_out and nb1 == ne0 * 4:
            # every row is wanted: one copy (one device transfer on a GPU)
            buf = np.empty((n_out, ne0), dtype=np.float32)
            self._lib.ggml_backend_tensor_get(t, buf.ctypes.data, 0, buf.nbytes)
            out[d.items, slot] = buf
        else:
            row = np.empty(ne0, dtype=np.float32)
            for r, item in zip(rows.tolist(), d.items.tolist()):
                self._lib.ggml_backend_tensor_get(t, row.ctypes.data, r * nb1, ne0 * 4)
                out[item, slot] = row
        d.seen.add(il)

    # -- decoding -------------------------------------------------------------------
    def capture_tokens(self, prompts: Sequence[Sequence[int]]) -> np.ndarray:
        """States of every prompt's last token after each selected block.

        Prompts are packed several to a decode (each in its own sequence, only
        its last token flagged); a prompt longer than a micro-batch is decoded
        alone in chunks, with the KV cache carrying the earlier chunks.
        """
        out = np.full((len(prompts), len(self.layers), self.n_embd), np.nan, dtype=np.float32)
        self._out = out
        for i, p in enumerate(prompts):
            if not p:
                raise ValueError(f"prompt {i} has no tokens")
            if len(p) > self.native.n_ctx:
                raise ValueError(
                    f"prompt {i}: {len(p)} tokens exceed the context of {self.native.n_ctx}"
                )
        try:
            for group in self._groups(prompts):
                self._run_group([prompts[i] for i in group], np.asarray(group, dtype=np.int64))
        finally:
            self._decode = None
            self._out = None
        return out

    def _groups(self, prompts: Sequence[Sequence[int]]) -> list[list[int]]:
        groups: list[list[int]] = []
        cur: list[int] = []
        used = 0
        limit = 1 if self.one_per_decode else self.n_seq
        for i, p in enumerate(prompts):
            if cur and (used + len(p) > self.n_ubatch or len(cur) >= limit):
                groups.append(cur)
                cur, used = [], 0
            cur.append(i)
            used += len(p)
        if cur:
            groups.append(cur)
        return groups

    def _run_group(self, group: list[Sequence[int]], items: np.ndarray) -> None:
        m = self.native
        # the engine's scoring may have resized the context to its own waves since
        m.ensure_cells(sum(len(p) for p in group))
        m.clear()
        if len(group) == 1 and len(group[0]) > self.n_ubatch:
            toks = list(group[0])
            for start in range(0, len(toks), self.n_ubatch):
                chunk = toks[start : start + self.n_ubatch]
                last = start + len(chunk) == len(toks)
                self._fill(m, [chunk], start)
                m.batch.logits[: len(chunk)] = 0
                if last:
                    m.batch.logits[len(chunk) - 1] = 1
                self._decode_one(len(chunk), np.array([len(chunk) - 1]) if last else None, items)
        else:
            ends = self._fill(m, group, 0)
            self._decode_one(int(ends[-1]) + 1, ends, items)
        m.clear()

    def _fill(self, m: NativeModel, group: list[Sequence[int]], pos0: int) -> np.ndarray:
        b = m.batch
        at = 0
        ends = []
        for s, toks in enumerate(group):
            n = len(toks)
            b.token[at : at + n] = toks
            b.pos[at : at + n] = np.arange(pos0, pos0 + n)
            b.n_seq[at : at + n] = 1
            b.seq[at : at + n, 0] = s
            b.logits[at : at + n] = 0
            b.logits[at + n - 1] = 1
            at += n
            ends.append(at - 1)
        return np.asarray(ends, dtype=np.int64)

    def _decode_one(self, n_tokens: int, rows: np.ndarray | None, items: np.ndarray) -> None:
        self._decode = _Decode(n_tokens, rows, items) if rows is not None else None
        self._error = None
        try:
            self.native.decode(n_tokens)
        except EngineError:
            if self._error is not None:
                raise self._error from None
            raise
        if self._error is not None:
            raise self._error
        if self._decode is not None and len(self._decode.seen) != len(self.layers):
            missing = sorted(set(self.layers) - self._decode.seen)
            raise EngineError(
                f"{self.native.path}: no l_out tensor seen for layers {missing[:8]}"
                f" (architecture {self.native.info.architecture} names its layers differently?)"
            )
        self._decode = None


def capture_hidden(
    path: str | Path,
    prompts: Sequence[str],
    layers: str | Sequence[int] = "all",
    *,
    n_gpu_layers: str | int = "auto",
    add_bos: bool = True,
) -> np.ndarray:
    """``[n_items, n_layers, n_embd]`` float32 states of each prompt's last token.

    The prompt is tokenized as the engine does (BOS where the model wants it);
    trailing whitespace is kept, unlike :func:`emergetui.probe.run.run_probes`,
    which captures at the last *context* token of ``Engine.encode_pair``.
    """
    sel = None if layers == "all" else [int(x) for x in layers]
    with HiddenCapture(path, layers=sel, n_gpu_layers=n_gpu_layers) as cap:
        info = cap.native.info
        fallback = [info.bos if info.bos >= 0 else info.eos]
        toks = [cap.engine.tokenize(p, add_bos=add_bos) or fallback for p in prompts]
        need = max((len(t) for t in toks), default=0)
        if need > cap.native.n_ctx:
            raise ValueError(f"a prompt of {need} tokens exceeds the context of {cap.native.n_ctx}")
        return cap.capture_tokens(toks)
