"""The bundled reference corpus: present, ASCII, documented."""

from __future__ import annotations

from pathlib import Path

import emergetui

CORPUS = Path(emergetui.__file__).parent / "data" / "corpus"


def test_reference_corpus_is_ascii_and_has_a_notice() -> None:
    texts = sorted(CORPUS.glob("*.txt"))
    assert len(texts) == 1  # the CLI takes the first .txt as the default corpus
    data = texts[0].read_bytes()
    assert len(data) > 15_000
    data.decode("ascii")  # no typographic variants for tokenizers to trip on
    assert b"Four score and seven years ago" in data
    notice = (CORPUS / "NOTICE").read_text(encoding="utf-8")
    assert "public domain" in notice
