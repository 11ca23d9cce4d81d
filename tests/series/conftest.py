"""Two ladders for comparisons: the bundled toy ladder (F32) and an F16 copy of it written
with the ``gguf`` package, plus a one-command batch run of both into one store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emergetui.cli import main
from emergetui.models.gguf_writer import LlamaShape, vocab_from_gguf, write_llama_gguf
from emergetui.models.ladders import get_ladder

RUNGS = "toy-2,toy-4,toy-6"
#: the toy's own addition task (the F16 ladder, not bundled, has no default tasks of its own)
TOY_TASK = Path(__file__).resolve().parents[2] / "emergetui" / "data" / "toy" / "task_addition.json"
LIMIT = 40


def f16_copy(src: Path, dst: Path) -> Path:
    """The same weights with every matrix stored as float16 (another "quant" of one model)."""
    import gguf

    r = gguf.GGUFReader(str(src))

    def get(key: str) -> Any:
        f = r.fields.get(key)
        return None if f is None else f.contents()

    weights = {t.name: np.array(t.data, dtype=np.float32) for t in r.tensors}
    vocab = vocab_from_gguf(src)
    shape = LlamaShape(
        n_vocab=len(vocab.tokens),
        n_embd=int(get("llama.embedding_length")),
        n_layer=int(get("llama.block_count")),
        n_head=int(get("llama.attention.head_count")),
        n_head_kv=int(get("llama.attention.head_count_kv")),
        n_ff=int(get("llama.feed_forward_length")),
        n_ctx=int(get("llama.context_length")),
        rope_base=float(get("llama.rope.freq_base")),
        eps=float(get("llama.attention.layer_norm_rms_epsilon")),
        tied="output.weight" not in weights,
    )
    return write_llama_gguf(dst, shape, vocab, weights, name=f"{src.stem}-f16", f16=True)


@pytest.fixture(scope="session")
def f16_ladder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``toy-f16``: family toy, quant F16, the toy's held-out text, no train_tokens."""
    d = tmp_path_factory.mktemp("toyf16")
    toy = get_ladder("toy", include_user=False)
    rows = []
    for r in toy.rungs:
        assert r.path is not None
        out = f16_copy(r.path, d / f"{r.label}.gguf")
        rows.append(f'  {{ label = "{r.label}", params = {r.params}, path = "{out}" }},')
    p = d / "toy-f16.toml"
    p.write_text(
        '[ladders.toy-f16]\nfamily = "toy"\nquant = "F16"\n'
        f'heldout = "{toy.heldout}"\nrungs = [\n' + "\n".join(rows) + "\n]\n"
    )
    return p


@pytest.fixture(scope="session")
def two_ladder_run(
    tmp_path_factory: pytest.TempPathFactory, f16_ladder: Path
) -> tuple[Path, dict[str, Any]]:
    """``--batch --json --ladder toy --ladder toy-f16.toml``: one command, two series."""
    import contextlib
    import io

    store = tmp_path_factory.mktemp("store") / "results.db"
    argv = ["--batch", "--json", "--ladder", "toy", "--ladder", str(f16_ladder)]
    argv += ["--rungs", RUNGS, "--task", str(TOY_TASK), "--limit", str(LIMIT)]
    argv += ["--threads", "1", "--store", str(store)]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0
    return store, json.loads(buf.getvalue())
