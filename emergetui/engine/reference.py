"""The naive scoring path: one request at a time, logits at every position.

Kept only as the yardstick for tests and the benchmark: it is what the packed
scorer must agree with (within float tolerance) and what it must beat.
"""

from __future__ import annotations

import numpy as np

from emergetui.engine.engine import Engine
from emergetui.engine.types import Scored


def logits_all(engine: Engine, tokens: list[int]) -> np.ndarray:
    """Full (len(tokens) × n_vocab) logits of one sequence, decoded alone in sequence 0."""
    m = engine.native
    if len(tokens) > m.n_ctx:
        raise ValueError("sequence longer than the context")
    m.ensure_cells(len(tokens))
    m.clear()
    rows: list[np.ndarray] = []
    b = m.batch
    step = min(m.n_batch, m.max_outputs)  # llama.cpp aborts past its output-row reservation
    for start in range(0, len(tokens), step):
        chunk = tokens[start : start + step]
        n = len(chunk)
        b.token[:n] = chunk
        b.pos[:n] = np.arange(start, start + n)
        b.n_seq[:n] = 1
        b.seq[:n, 0] = 0
        b.logits[:n] = 1
        m.decode(n)
        rows.append(np.array(m.output_rows(n), dtype=np.float64))
    m.clear()
    return np.concatenate(rows, axis=0)


def score_naive(engine: Engine, pairs: list[tuple[str, str]]) -> list[Scored]:
    """Score each (context, continuation) alone with full logits and a float64 log-softmax."""
    out: list[Scored] = []
    for ctx, cont in pairs:
        c, t = engine.encode_pair(ctx, cont)
        out.append(score_tokens_naive(engine, c, t))
    return out


def score_tokens_naive(engine: Engine, ctx: list[int], cont: list[int]) -> Scored:
    toks = list(ctx) + list(cont)
    logits = logits_all(engine, toks[:-1])
    lps: list[float] = []
    greedy: list[bool] = []
    for j in range(len(ctx) - 1, len(toks) - 1):
        row = logits[j]
        mx = row.max()
        lse = mx + np.log(np.exp(row - mx).sum())
        lps.append(float(row[toks[j + 1]] - lse))
        greedy.append(int(row.argmax()) == toks[j + 1])
    return Scored(tokens=list(cont), logprobs=lps, greedy=greedy, context_tokens=len(ctx))


def generate_naive(engine: Engine, prompt: str, max_tokens: int) -> list[int]:
    """Greedy tokens by recomputing the whole sequence each step (no stop strings, no EOS
    handling)."""
    toks = engine.tokenize(prompt, add_bos=True)
    out: list[int] = []
    for _ in range(max_tokens):
        logits = logits_all(engine, toks + out)
        out.append(int(logits[-1].argmax()))
    return out
