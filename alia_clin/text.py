"""The one definition of a "word" shared by the tokenizer and the encoder.

A word is a run of word characters (with combining marks and the Catalan middle dot in
``l·l``) or one visible grapheme (a punctuation mark, a symbol, an emoji). Whitespace and
invisible format characters belong to no word. Offsets are Python string indices.
Using the same split for spaCy tokens and for the encoder's pre-split words makes every
token one encoder word and puts PHI boundaries on token boundaries ("NºCol:28", "C/Mayor").
"""

from __future__ import annotations

import re

import regex

_WORD = r"[\w\p{M}]+(?:\u00b7[\w\p{M}]+)*|(?![\s\p{Cc}\p{Cf}\p{Z}])\X"
_GAP_CHAR = r"(?![\w\p{M}])[\s\p{Cc}\p{Cf}\p{Z}]"
WORD_PATTERN = regex.compile(_WORD)
#: One word and the gap (whitespace, invisible characters) after it: ``findall`` → (word, gap).
WORD_GAP_PATTERN = regex.compile(rf"({_WORD})((?:{_GAP_CHAR})*)")
#: The gap before the first word.
LEADING_GAP_PATTERN = regex.compile(rf"(?:{_GAP_CHAR})*")


# A faster path with the standard ``re`` module for texts made only of characters on which it
# splits exactly like the Unicode-aware patterns above. Which characters qualify is worked out
# at import by classifying each one with both engines: below U+0250 there are no combining marks
# and no multi-character graphemes other than CR LF (whose parts are both gap characters).
_FAST_LIMIT = 0x250


def _fast_safe_chars() -> str:
    """Return the characters below ``_FAST_LIMIT`` that ``re`` classifies like ``regex`` here."""
    word = regex.compile(r"[\w\p{M}]")
    gap = regex.compile(_GAP_CHAR)
    safe = []
    for cp in range(_FAST_LIMIT):
        ch = chr(cp)
        is_word, is_gap = bool(word.fullmatch(ch)), bool(gap.fullmatch(ch))
        if is_word != bool(re.fullmatch(r"\w", ch)) or is_gap != bool(re.fullmatch(r"\s", ch)):
            continue
        if not is_word and not is_gap and not regex.fullmatch(_WORD, ch):
            continue  # neither word, gap nor visible grapheme (e.g. a control character)
        safe.append(ch)
    return "".join(safe)


_UNSAFE = re.compile("[^" + re.escape(_fast_safe_chars()) + "]")
_FAST_WORD = r"\w+(?:\u00b7\w+)*|[^\s\w]"
_FAST_WORD_PATTERN = re.compile(_FAST_WORD)
_FAST_WORD_GAP_PATTERN = re.compile(rf"({_FAST_WORD})(\s*)")
_FAST_LEADING_GAP_PATTERN = re.compile(r"\s*")


def word_gaps(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Return the gap before the first word and the ``(word, gap after it)`` pairs of ``text``.

    The same as ``LEADING_GAP_PATTERN.match`` and ``WORD_GAP_PATTERN.findall``, computed with
    ``re`` (several times faster) when every character of ``text`` allows it.
    """
    if _UNSAFE.search(text) is None:
        lead = _FAST_LEADING_GAP_PATTERN.match(text)
        return (lead.group() if lead else ""), _FAST_WORD_GAP_PATTERN.findall(text)
    lead_u = LEADING_GAP_PATTERN.match(text)
    return (lead_u.group() if lead_u else ""), WORD_GAP_PATTERN.findall(text)


def split_words(text: str) -> list[tuple[int, int]]:
    """Character offsets ``(start, end)`` of the words of ``text``, in order."""
    pattern = _FAST_WORD_PATTERN if _UNSAFE.search(text) is None else WORD_PATTERN
    return [m.span() for m in pattern.finditer(text)]


#: Characters that end a line (those :meth:`str.splitlines` splits on).
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def is_inline_gap(token: str) -> bool:
    """Whether a whitespace token lies inside a line: extra spaces, a tab, a no-break space.

    Term finders skip such tokens inside a multi-word term ("insuficiencia  cardíaca"); a token
    with a line break still separates terms.
    """
    return token.isspace() and _LINE_BREAKS.isdisjoint(token)
