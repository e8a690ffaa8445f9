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


def test_matches_reference_construction_on_mixed_text() -> None:
    """Fast path (word+gap pairs) equals building the Doc from split_words gaps."""
    from spacy.tokens import Doc

    from alia_clin.pipeline.tokenizer import _add_gap

    text = " \u200bA\u00a0b\t\tc  d\r\n\r\ne\u200d😀 f\u0301 . ,"
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    words: list[str] = []
    spaces: list[bool] = []
    prev = 0
    for start, end in split_words(text):
        if start > prev:
            _add_gap(text[prev:start], words, spaces)
        words.append(text[start:end])
        spaces.append(False)
        prev = end
    if prev < len(text):
        _add_gap(text[prev:], words, spaces)
    ref = Doc(nlp.vocab, words=words, spaces=spaces)
    doc = nlp(text)
    assert [(t.text, t.whitespace_) for t in doc] == [(t.text, t.whitespace_) for t in ref]
    assert doc.text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n Paciente: Ana Gil, 45 años.\r\nNHC 12345; C/Mayor,3 - 2ºB.",
        "col·legi l·l a\u00b7 ·a",  # Catalan middle dot inside and around words
        "ÁÉÍÓÚ ñç Ü _x_ tab\tvt\x0bff\x0c fs\x1c",
        # characters that take the Unicode-aware path: combining mark, emoji with modifier,
        # soft hyphen, superscript digit, control character, zero-width space
        "cafe\u0301 👍🏽 soft\xadhyphen x² bell\x07 zw\u200bsp",
    ],
)
def test_fast_word_split_agrees_with_the_unicode_patterns(text: str) -> None:
    """``word_gaps``/``split_words`` give exactly what the ``regex`` patterns give, on either path."""
    from alia_clin.text import LEADING_GAP_PATTERN, WORD_GAP_PATTERN, WORD_PATTERN, split_words, word_gaps

    lead = LEADING_GAP_PATTERN.match(text)
    assert word_gaps(text) == ((lead.group() if lead else ""), WORD_GAP_PATTERN.findall(text))
    assert split_words(text) == [m.span() for m in WORD_PATTERN.finditer(text)]


def test_fast_path_is_taken_for_plain_spanish_and_not_for_marks() -> None:
    from alia_clin.text import _UNSAFE

    assert _UNSAFE.search("Varón de 67 años, FEVI 35 %; ñ, ç, l·l, Ü.") is None
    assert _UNSAFE.search("cafe\u0301") is not None
    assert _UNSAFE.search("x²") is not None
