"""Context/continuation boundary tokenization on the real Qwen2 vocabulary (BPE, no BOS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emergetui import Engine
from emergetui.engine import RequestError
from tests.conftest import ENGINE_KW


@pytest.fixture(scope="module")
def qwen(qwen_tiny_model: Path) -> Engine:
    eng = Engine.load(qwen_tiny_model, **ENGINE_KW, n_ctx=512)
    yield eng
    eng.close()


def test_metadata_no_bos(qwen: Engine) -> None:
    assert qwen.info.add_bos is False
    assert qwen.info.n_vocab > 150_000


def test_leading_space_belongs_to_continuation(qwen: Engine) -> None:
    ctx, cont = qwen.encode_pair("The capital of France is", " Paris")
    assert ctx == qwen.tokenize("The capital of France is")
    assert cont == qwen.tokenize(" Paris", add_bos=False)
    assert len(cont) == 1  # "ĠParis" is one Qwen2 token
    assert qwen.detokenize(cont) == " Paris"


def test_trailing_space_of_context_moves_to_continuation(qwen: Engine) -> None:
    a = qwen.encode_pair("The capital of France is ", "Paris")
    b = qwen.encode_pair("The capital of France is", " Paris")
    assert a == b


def test_multiple_trailing_whitespace(qwen: Engine) -> None:
    ctx, cont = qwen.encode_pair("Q: 2+2\nA:  ", "4")
    assert qwen.detokenize(ctx) == "Q: 2+2\nA:"
    assert qwen.detokenize(cont) == "  4"


def test_digits_split_and_whole_roundtrip(qwen: Engine) -> None:
    context, continuation = "Q: What is 12 plus 34?\nA:", " 46"
    ctx, cont = qwen.encode_pair(context, continuation)
    assert ctx + cont == qwen.tokenize(context + continuation)
    assert qwen.detokenize(cont) == " 46"
    assert len(cont) == 3  # Qwen2 splits digits: "Ġ", "4", "6"


def test_boundary_merge_keeps_every_character(qwen: Engine) -> None:
    ctx, cont = qwen.encode_pair("hello wor", "ld")
    assert qwen.detokenize(ctx) == "hello wor"
    assert qwen.detokenize(cont) == "ld"


def test_empty_context_uses_prefix_token(qwen: Engine) -> None:
    ctx, cont = qwen.encode_pair("", "Hello")
    assert ctx == [qwen.info.bos if qwen.info.bos >= 0 else qwen.info.eos]
    assert qwen.detokenize(cont) == "Hello"


def test_special_text_is_not_parsed_as_control_token(qwen: Engine) -> None:
    toks = qwen.tokenize("<|im_start|>", add_bos=False)
    assert len(toks) > 1


def test_empty_continuation_is_an_item_error(qwen: Engine) -> None:
    with pytest.raises(RequestError):
        qwen.encode_pair("abc", "")
    out = qwen.score([("abc", ""), ("abc", " d")])
    assert out[0].error == "empty continuation"
    assert out[1].error is None and out[1].n_tokens >= 1


def test_spm_vocab_bos_and_space(tiny_model: Path) -> None:
    with Engine.load(tiny_model, **ENGINE_KW, n_ctx=256) as eng:
        assert eng.info.add_bos is True
        ctx, cont = eng.encode_pair("the", " the")
        assert ctx[0] == eng.info.bos
        assert eng.detokenize(cont) == " the"
        assert eng.detokenize(ctx[1:]) == "the"
