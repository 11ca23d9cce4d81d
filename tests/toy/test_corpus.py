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
    held_sums = {x for x in a.heldout if "+" in x}
    assert held_sums and not {p.line for p in a.task} & held_sums
    assert make_split(CorpusSpec(seed=4, n_task=50, n_heldout=50)).task != a.task
    tok = CharTokenizer.from_vocab(toy_vocab())
    rows, answers = training_tokens(a, tok, 200, 128)
    assert rows.shape == (200, 129) and (rows[:, 0] == tok.bos).all()
    assert answers.shape == (200, 128) and 0.2 < answers.mean() < 0.9
    text = "".join(chr(0) if t == tok.bos else _piece(tok, t) for t in rows.flatten())
    seen = {line for chunk in text.split(chr(0)) for line in chunk.split("\n")[:-1]}
    assert seen and not seen & ({p.line for p in a.task} | held_sums)


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


def test_chain_is_a_fixed_table_of_permutations() -> None:
    from emergetui.toy.chain import Chain

    letters = "abcdefghijklmnopqrstuvwxyz"
    chain = Chain.make(letters, seed=1, exceptions=0.5)
    assert chain == Chain.make(letters, seed=1, exceptions=0.5)
    assert chain != Chain.make(letters, seed=2, exceptions=0.5)
    # every letter has a usual successor (a permutation), followed by the non-exception pairs
    usual = {y: max(letters, key=[chain.next[(x, y)] for x in letters].count) for y in letters}
    assert sorted(usual.values()) == list(letters)
    share = sum(chain.next[(x, y)] == usual[y] for x in letters for y in letters) / 26**2
    assert 0.4 < share < 0.65
    chain = Chain.make("abcdef", seed=1)
    walk = chain.walk("ab", 8)
    assert len(walk) == 8 and chain.line("ab", 8) == "ab" + walk
    full = "ab" + walk
    assert all(chain.next[(full[i], full[i + 1])] == full[i + 2] for i in range(8))


def test_chain_task_and_heldout_come_from_the_split() -> None:
    spec = CorpusSpec(seed=1, n_task=30, n_heldout=80)
    split = make_split(spec)
    assert len(split.chain_starts) == len(set(split.chain_starts)) == 30
    chain_lines = [x for x in split.heldout if x.isalpha()]
    assert chain_lines and all(x == split.chain.line(x[:2], spec.chain_len) for x in chain_lines)
    assert len(split.heldout) == 80


def test_cipher_blocks_share_one_code_and_the_test_code_is_a_permutation() -> None:
    import numpy as np

    from emergetui.toy.cipher import CIPHER_OUT, Code, block

    rng = np.random.default_rng(0)
    lines = block(rng, 4, 6)
    codes: dict[str, str] = {}
    for line in lines:
        pairs = line.split(" ")
        assert len(pairs) == 4 and len({p[0] for p in pairs}) == 4
        for p in pairs:
            assert codes.setdefault(p[0], p[1]) == p[1]
    test = Code.draw_test(rng)
    assert sorted(test.images) == sorted(CIPHER_OUT)
    question, answer = test.question("CAFB")
    assert question + answer == test.line("CAFB") and question.endswith(" B")


def test_cipher_blocks_appear_only_when_asked_for() -> None:
    import itertools

    from emergetui.toy.cipher import is_cipher_line
    from emergetui.toy.corpus import training_lines

    plain_spec = CorpusSpec(seed=2, p_cipher=0.0)
    plain = list(itertools.islice(training_lines(make_split(plain_spec)), 500))
    assert not any(is_cipher_line(x) for x in plain)
    split = make_split(CorpusSpec(seed=2, p_cipher=0.2))
    mixed = list(itertools.islice(training_lines(split), 500))
    assert any(is_cipher_line(x) for x in mixed)
    pairs = zip(mixed, mixed[1:])
    assert all(_same_code(a, b) for a, b in pairs if is_cipher_line(a) and is_cipher_line(b))


def _same_code(a: str, b: str) -> bool:
    """Consecutive cipher lines belong to one block unless a key is coded differently."""
    ca = {p[0]: p[1] for p in a.split(" ")}
    return all(ca.get(p[0], p[1]) == p[1] for p in b.split(" "))


def test_answer_flags_mark_the_predictable_characters() -> None:
    from emergetui.toy.corpus import answer_flags

    assert answer_flags("12+34=460") == [False] * 6 + [True] * 4
    assert answer_flags("qxabcdefgh") == [False] * 2 + [True] * 9
    assert answer_flags("CX AS") == [False, True, True, False, True, True]
    assert answer_flags("CXabcdefgh") == [False] * 2 + [True] * 9  # a chain line, not a cipher one
