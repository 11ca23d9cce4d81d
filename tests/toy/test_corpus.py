"""The corpus and its tokenization: what the trainer sees is what llama.cpp sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui.engine import Engine
from emergetui.models.gguf_writer import LlamaShape, random_llama_weights, write_llama_gguf
from emergetui.toy.corpus import (
    CharTokenizer,
    CorpusSpec,
    Problem,
    make_split,
    toy_vocab,
    training_tokens,
)


def test_line_format_is_little_endian_and_padded() -> None:
    p = Problem(347, 9285, 4)
    assert p.question == "7430+5829"
    assert p.answer == "23690"  # 09632 reversed
    assert p.line == "7430+5829=23690"
    assert int(p.answer[::-1]) == 347 + 9285


def test_split_is_seeded_and_disjoint_from_training() -> None:
    spec = CorpusSpec(seed=3, n_task=50, n_heldout=50)
    a, b = make_split(spec), make_split(spec)
    assert a.task == b.task and a.heldout == b.heldout
    assert not set(a.task) & set(a.heldout)
    assert make_split(CorpusSpec(seed=4, n_task=50, n_heldout=50)).task != a.task
    tok = CharTokenizer.from_vocab(toy_vocab())
    rows = training_tokens(a, tok, 200, 128)
    assert rows.shape == (200, 129) and (rows[:, 0] == tok.bos).all()
    text = "".join(chr(0) if t == tok.bos else _piece(tok, t) for t in rows.flatten())
    seen = {line for chunk in text.split(chr(0)) for line in chunk.split("\n")[:-1]}
    assert seen and not seen & {p.line for p in a.task + a.heldout}


def _piece(tok: CharTokenizer, t: int) -> str:
    inv = {v: k for k, v in tok.ids.items()}
    return inv[int(t)]


@pytest.fixture(scope="module")
def random_toy_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = toy_vocab()
    shape = LlamaShape(
        n_vocab=vocab.size, n_embd=16, n_layer=1, n_head=2, n_head_kv=2, n_ff=32, n_ctx=256
    )
    path = tmp_path_factory.mktemp("toy") / "random.gguf"
    return write_llama_gguf(path, shape, vocab, random_llama_weights(shape))


@pytest.mark.parametrize(
    "text",
    ["7430+5829=23690", "12+34=46\n5+5=01\n", "hello world, 1 2 3!\n", "=\n\n+", " leading space"],
)
def test_trainer_tokenizes_like_llama_cpp(random_toy_gguf: Path, text: str) -> None:
    tok = CharTokenizer.from_vocab(toy_vocab())
    with Engine.load(random_toy_gguf, n_gpu_layers=0, n_ctx=256) as eng:
        assert eng.tokenize(text, add_bos=True) == tok.encode(text, add_bos=True)
        assert eng.detokenize(eng.tokenize(text, add_bos=False)) == text


def test_any_text_tokenizes(random_toy_gguf: Path) -> None:
    """Byte tokens keep llama.cpp from aborting on characters the corpus never uses."""
    with Engine.load(random_toy_gguf, n_gpu_layers=0, n_ctx=256) as eng:
        assert len(eng.tokenize("Grüße — ☃", add_bos=False)) > 0


def test_facts_are_a_fixed_table_in_training_and_heldout() -> None:
    from emergetui.toy.corpus import Facts, heldout_lines

    spec = CorpusSpec(seed=1, n_task=20, n_heldout=60, n_facts=50)
    facts = Facts.make(spec)
    again = Facts.make(spec)
    assert (facts.keys, facts.values) == (again.keys, again.values)
    assert len(set(facts.keys)) == 50 and all(len(v) == 3 for v in facts.values)
    table = {facts.line(i) for i in range(50)}
    split = make_split(spec)
    held = heldout_lines(split)
    fact_lines = [x for x in held if x[0].isalpha()]
    assert fact_lines and set(fact_lines) <= table
    assert len(held) == 60 + len(fact_lines)
