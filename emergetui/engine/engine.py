"""The public engine: one GGUF model, exact per-token scoring and greedy generation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import llama_cpp as ll

from emergetui.engine.errors import RequestError
from emergetui.engine.generation import generate_greedy
from emergetui.engine.invariant import score_invariant
from emergetui.engine.native import ModelInfo, NativeModel, physical_cores
from emergetui.engine.scoring import TokenRequest, TokenScore, score_tokens
from emergetui.engine.types import Generated, RollingLoss, Scored

DEFAULT_N_CTX = 4096
DEFAULT_N_BATCH = 2048
DEFAULT_N_SEQ = 64
# KV cells of the context at load; each call then sizes it to its waves (NativeModel.size_cells).
_FIRST_CELLS = 512


def _default_threads(path: str | Path) -> int:
    try:
        small = Path(path).stat().st_size < (64 << 20)
    except OSError:
        small = False
    return 1 if small else physical_cores()


def gpu_offload_supported() -> bool:
    """Whether this machine has a GPU llama.cpp can offload to.

    ``llama_supports_gpu_offload()`` is also true in every build with the RPC
    backend (a server elsewhere could take layers), which says nothing about
    this machine: the answer comes from the local devices' types instead.
    """
    if not ll.llama_supports_gpu_offload():
        return False
    try:
        from emergetui.engine.rpc import local_gpu_devices

        return bool(local_gpu_devices())
    except (ImportError, AttributeError, OSError):  # no device API: trust llama.cpp
        return bool(ll.llama_supports_gpu_offload())


def on_gpu(layers: int) -> bool:
    """Whether a model loaded with ``layers`` really runs (partly) on a GPU: a CPU build
    ignores the request."""
    return layers != 0 and gpu_offload_supported()


def default_flash_attn(layers: int) -> bool | None:
    """Flash attention off on CPU, the backend's choice ("auto") on a GPU.

    llama.cpp's CPU flash attention accumulates in half precision and its
    result then depends on how tokens are split into micro-batches (measured:
    1.8e-4 nats per token), which would break packed == one-at-a-time scoring.
    """
    return None if on_gpu(layers) else False


def resolve_gpu_layers(n_gpu_layers: str | int) -> int:
    """ "auto" offloads every layer when the build can offload at all; the ladder fitting
    refines this."""
    if n_gpu_layers == "auto":
        return -1 if gpu_offload_supported() else 0
    return int(n_gpu_layers)


class Engine:
    """Scores and generates with one model. Create with :meth:`load`; close when done.

    Requests of one call are packed together (see ``engine.plan``): shared
    prefixes are decoded once, logits are read only where a token is scored,
    and only those rows are log-softmaxed.
    """

    def __init__(self, native: NativeModel, n_gpu_layers: int, invariant: bool = True) -> None:
        self._m = native
        self.n_gpu_layers = n_gpu_layers
        # batch-invariant scoring (engine.invariant); False packs across items (engine.scoring)
        self.invariant = invariant

    @classmethod
    def load(
        cls,
        path: str | Path,
        n_gpu_layers: str | int = "auto",
        n_ctx: int | None = None,
        seed: int = 0,
        *,
        n_batch: int = DEFAULT_N_BATCH,
        n_seq_max: int = DEFAULT_N_SEQ,
        n_threads: int | None = None,
        flash_attn: bool | None = None,
        row_workers: int | None = None,
        rpc: Sequence[str] = (),
        invariant: bool = True,
    ) -> Engine:
        """Load a GGUF file. Raises ``ModelLoadError`` naming the file on any failure.

        ``n_threads`` defaults to the physical cores, except for files under
        64 MB (toy and test models), where one thread is faster: their work
        per token is too small to pay for llama.cpp's thread barriers, which
        spin and collapse when the cores are busy with other processes.

        ``n_ctx`` (default 4096) is the most KV cells a call may use: the
        longest request accepted, and the room packed sequences share. The
        cache itself starts at 512 cells and each call sizes it to what its
        requests need, so short-prompt workloads do not pay for 4096.

        ``rpc`` lists llama.cpp RPC servers (``HOST:PORT``, see ``engine.rpc``):
        the offloaded layers ("auto": all of them) are split over this
        machine's GPUs and those servers. Each server is checked first; an
        unreachable one raises ``RpcError`` naming it, after a timeout.

        ``invariant`` (default) scores item by item in a fixed geometry, so that
        a request's log-probs are bit for bit the same however it is packed
        (alone, beside other items or tasks, after a resume; ``engine.invariant``).
        ``invariant=False`` packs all requests of a call together: faster, but a
        request's numbers then depend on its neighbours within llama.cpp's own
        spread (up to ~1 nat on quantized models; ``docs/exactness.md``).
        """
        devices = None
        if rpc:
            from emergetui.engine.rpc import connect

            devices = connect(rpc)
            if n_gpu_layers == "auto":
                n_gpu_layers = -1
        layers = resolve_gpu_layers(n_gpu_layers)
        if flash_attn is None:
            flash_attn = default_flash_attn(layers)
        if n_ctx is None:
            n_ctx = DEFAULT_N_CTX
        native = NativeModel(
            path,
            n_gpu_layers=layers,
            n_ctx=n_ctx,
            n_batch=min(n_batch, n_ctx),
            n_seq_max=max(2, min(n_seq_max, 256)),
            n_threads=n_threads or _default_threads(path),
            flash_attn=flash_attn,
            seed=seed,
            initial_cells=_FIRST_CELLS,
            devices=devices,
        )
        # With layers on a GPU the CPU is free during a decode: reduce the
        # previous decode's logits rows meanwhile. On CPU the decode already
        # uses every core, so the rows are reduced in line.
        if row_workers is None:
            row_workers = min(8, physical_cores()) if on_gpu(layers) else 0
        native.row_workers = row_workers
        return cls(native, layers, invariant)

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Free the context and the model now (llama.cpp memory is not the garbage collector's).

        No ``gc.collect()`` here: with the lab's and the analysis' modules
        loaded a full collection took 70-110 ms, paid once per rung, about a
        tenth of the bundled toy ladder's whole run.
        """
        self._m.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def info(self) -> ModelInfo:
        return self._m.info

    @property
    def n_ctx(self) -> int:
        return self._m.n_ctx

    @property
    def native(self) -> NativeModel:
        return self._m

    # -- tokens --------------------------------------------------------------------
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Tokenize; ``add_bos`` adds BOS only where the model's metadata asks for it."""
        return self._m.tokenize(text, add_special=add_bos)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._m.piece(t) for t in tokens).decode("utf-8", errors="replace")

    def _prefix_token(self) -> int:
        info = self._m.info
        return info.bos if info.bos >= 0 else info.eos

    def encode_pair(
        self, context: str, continuation: str, cache: dict[str, list[int]] | None = None
    ) -> tuple[list[int], list[int]]:
        """Split (context, continuation) into tokens the way lm-evaluation-harness does.

        Trailing whitespace of the context moves to the continuation (" Paris"
        is one token in most vocabularies, "Paris" after "is " is not), the
        whole string is tokenized once and the continuation is what follows the
        context's own tokens (when the tokenizer merges across the boundary,
        the continuation is tokenized on its own instead). An empty context is
        replaced by BOS (or EOS when
        the model has no BOS), so the first continuation token has something
        to be predicted from. ``cache`` (context text -> tokens) lets a caller
        tokenize a context shared by many pairs (the options of a question) once.
        """
        if not continuation:
            raise RequestError("empty continuation")
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        if not context:
            ctx = []
        elif cache is not None and context in cache:
            ctx = cache[context]
        else:
            ctx = self.tokenize(context, add_bos=True)
            if cache is not None:
                cache[context] = ctx
        whole = self.tokenize(context + continuation, add_bos=True)
        if not ctx:
            bos_added = bool(whole) and self._m.info.add_bos and whole[0] == self._m.info.bos
            cont = whole[1:] if bos_added else whole
            return [self._prefix_token()], cont
        if whole[: len(ctx)] == ctx:
            cont = whole[len(ctx) :]
        else:
            # The tokenizer merged across the boundary ("wor" + "ld"): the
            # context keeps its own tokens and the continuation is tokenized
            # alone, so that every character of it is scored exactly once.
            cont = self.tokenize(continuation, add_bos=False)
        if not cont:
            raise RequestError("continuation adds no token")
        return ctx, cont

    # -- scoring -------------------------------------------------------------------
    def score(
        self,
        pairs: Sequence[tuple[str, str]],
        on_result: Callable[[int, Scored], None] | None = None,
    ) -> list[Scored]:
        """Log-likelihood of each continuation given its context, per token.

        Bad requests (empty continuation, longer than the context window) get
        a ``Scored`` with ``error`` set; the others are unaffected.
        """
        encoded: list[tuple[list[int], list[int]] | str] = []
        contexts: dict[str, list[int]] = {}
        for ctx, cont in pairs:
            try:
                encoded.append(self.encode_pair(ctx, cont, contexts))
            except RequestError as e:
                encoded.append(str(e))
        return self.score_tokens(encoded, on_result)

    def score_tokens(
        self,
        encoded: Sequence[tuple[list[int], list[int]] | str],
        on_result: Callable[[int, Scored], None] | None = None,
    ) -> list[Scored]:
        """Score pre-tokenized (context, continuation) pairs; a string entry is an error to
        pass through."""
        out: list[Scored] = [Scored() for _ in encoded]
        reqs: list[TokenRequest] = []
        where: list[int] = []
        for i, e in enumerate(encoded):
            if isinstance(e, str):
                out[i] = Scored(error=e)
            elif not e[1]:
                out[i] = Scored(error="empty continuation")
            elif len(e[0]) + len(e[1]) - 1 > self._m.n_ctx:
                ctx, cont = e
                out[i] = Scored(
                    tokens=list(cont),
                    context_tokens=len(ctx),
                    error=f"{len(ctx) + len(cont)} tokens do not fit the context of "
                    f"{self._m.n_ctx}",
                )
            else:
                ctx, cont = e
                reqs.append(TokenRequest(tuple(ctx) + tuple(cont), len(ctx)))
                where.append(i)
            if on_result is not None and out[i].error:
                on_result(i, out[i])

        def done(batch: list[tuple[int, TokenScore]]) -> None:
            for k, ts in batch:
                i = where[k]
                r = reqs[k]
                out[i] = Scored(
                    tokens=list(r.tokens[r.n_context :]),
                    logprobs=ts.logprobs,
                    greedy=ts.greedy,
                    context_tokens=r.n_context,
                )
                if on_result is not None:
                    on_result(i, out[i])

        (score_invariant if self.invariant else score_tokens)(self._m, reqs, done)
        return out

    # -- generation ------------------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[str],
        max_tokens: int = 32,
        stop: Sequence[str] = ("\n",),
        on_result: Callable[[int, Generated], None] | None = None,
    ) -> list[Generated]:
        """Greedy continuation of every prompt, batched across sequences."""
        out: list[Generated] = [Generated() for _ in prompts]
        toks: list[tuple[int, ...]] = []
        where: list[int] = []
        for i, p in enumerate(prompts):
            t = self.tokenize(p, add_bos=True) or [self._prefix_token()]
            if len(t) + max_tokens > self._m.n_ctx:
                out[i] = Generated(
                    stop_reason="error",
                    prompt_tokens=len(t),
                    error=f"{len(t)} prompt tokens + {max_tokens} new do not fit the context of "
                    f"{self._m.n_ctx}",
                )
                if on_result is not None:
                    on_result(i, out[i])
                continue
            toks.append(tuple(t))
            where.append(i)

        def done(batch: list[tuple[int, Generated]]) -> None:
            for k, g in batch:
                out[where[k]] = g
                if on_result is not None:
                    on_result(where[k], g)

        generate_greedy(self._m, toks, max_tokens, list(stop), done)
        return out

    # -- long texts --------------------------------------------------------------------
    def rolling_loss(
        self,
        text: str,
        window: int | None = None,
        stride: int | None = None,
        on_window: Callable[[int, Scored], None] | None = None,
    ) -> RollingLoss:
        """Per-token log-probabilities of a long text in overlapping windows.

        Every token after the first is scored exactly once, each with up to
        ``window`` tokens of context (strided evaluation as in Hugging Face's
        perplexity guide; ``stride`` defaults to half the window). Each window
        starts with BOS when the model expects one, since models such as Gemma
        degrade badly without it.
        """
        # never past the training context: positions the model never saw make the loss meaningless
        limit = min(self._m.n_ctx, self._m.info.n_ctx_train or self._m.n_ctx)
        window = min(window or limit, limit)
        bos = self._m.info.add_bos and self._m.info.bos >= 0
        body = self.tokenize(text, add_bos=False)
        if bos:
            body = [self._m.info.bos] + body
        span = window - (1 if bos else 0)
        if span < 2:
            raise RequestError(f"window {window} is too small")
        stride = max(1, min(stride or span // 2, span))
        encoded: list[tuple[list[int], list[int]] | str] = []
        prev_end = 1
        begin = 0
        n = len(body)
        while prev_end < n:
            end = min(begin + span, n)
            seg = body[begin:end]
            n_new = end - prev_end
            prefix = [self._m.info.bos] if bos and begin > 0 else []
            ctx = prefix + seg[: len(seg) - n_new]
            encoded.append((ctx, seg[len(seg) - n_new :]))
            prev_end = end
            begin += stride
        scored = self.score_tokens(encoded, on_window)
        lps = [lp for s in scored for lp in s.logprobs]
        return RollingLoss(
            tokens=body[1:],
            logprobs=lps,
            n_bytes=len(text.encode("utf-8")),
            window=window,
            stride=stride,
        )
