"""The one definition of a "word" shared by the tokenizer and the encoder.

A word is a run of word characters (with combining marks and the Catalan middle dot in
``l·l``) or one visible grapheme (a punctuation mark, a symbol, an emoji). Whitespace and
invisible format characters belong to no word. Offsets are Python string indices.
Using the same split for spaCy tokens and for the encoder's pre-split words makes every
token one encoder word and puts PHI boundaries on token boundaries ("NºCol:28", "C/Mayor").
"""

from __future__ import annotations

import regex

_WORD = r"[\w\p{M}]+(?:\u00b7[\w\p{M}]+)*|(?![\s\p{Cc}\p{Cf}\p{Z}])\X"
_GAP_CHAR = r"(?![\w\p{M}])[\s\p{Cc}\p{Cf}\p{Z}]"
WORD_PATTERN = regex.compile(_WORD)
#: One word and the gap (whitespace, invisible characters) after it: ``findall`` → (word, gap).
WORD_GAP_PATTERN = regex.compile(rf"({_WORD})((?:{_GAP_CHAR})*)")
#: The gap before the first word.
LEADING_GAP_PATTERN = regex.compile(rf"(?:{_GAP_CHAR})*")


def split_words(text: str) -> list[tuple[int, int]]:
    """Character offsets ``(start, end)`` of the words of ``text``, in order."""
    return [m.span() for m in WORD_PATTERN.finditer(text)]
