"""The word/punctuation tokenizer: text preserved exactly, tokens = encoder words."""

from __future__ import annotations

import pytest
import spacy

from alia_clin import TOKENIZER
from alia_clin.text import split_words

CASES = [
    "NºCol:28 28 12345",
    "C/Mayor 12, 3ºB",
    "  inicio con espacios\r\n\r\nfin\t\tcon tab  ",
    "Col·legi Oficial; niño, ç, emoji 👍🏽 y ❤️.",
    "",
    "\n",
    "a.b@example.org http://x.es/a?b=1",
]


@pytest.mark.parametrize("text", CASES)
def test_text_roundtrip_and_word_tokens(text: str) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    doc = nlp(text)
    assert doc.text == text
    words = [(t.idx, t.idx + len(t.text)) for t in doc if not t.is_space]
    assert words == split_words(text)


def test_identifier_boundaries_are_token_boundaries() -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    doc = nlp("NºCol:28 28 12345, tel.612345678")
    assert doc.char_span(6, 17) is not None
    assert doc.char_span(23, 32) is not None
