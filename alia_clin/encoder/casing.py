"""Case folding of all-capitals text before it reaches the encoder.

Many hospital information systems export notes in capitals ("PACIENTE DE 78 AÑOS CON
DISNEA ..."). A cased encoder fine-tuned on ordinary text reads such a note badly: capital
words split into unusual pieces and every word looks like a name. Measured on the shipped
``alia-clin-es-small`` (CardioCCC dev and MEDDOCAN dev written in capitals): entity strict F1
.748 → .617 and PHI character recall .991 → .940; the same notes in lower case lose far less
(.740 and .976). :func:`fold_capitals` therefore gives the encoder a lower-case copy of the
stretches written in capitals. It never changes the length of the text or the position of a
character, so every offset the encoder returns is an offset into the original note, which the
spaCy Doc, the rules and every writer keep using unchanged.

What is folded (``mode = "capitals"``): each line whose cased letters are at least
``MIN_UPPER_SHARE`` upper case, when the line has at least ``MIN_LETTERS`` cased letters or the
whole note is mostly capitals (``NOTE_UPPER_SHARE``). Ordinary notes keep their short capital
headings ("ANTECEDENTES PERSONALES:") and abbreviations (HTA, FEVI) untouched, so the model
sees exactly what it was trained on there. ``mode = "all"`` folds every note; ``"none"``
turns folding off.

:func:`strip_accents_same_length` gives, the same way, a note as typed without accents; it is
not applied at inference, only to make accent-free training copies (``retrain-head
--accent-copies``; the shipped entity heads).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

MODES = ("none", "capitals", "all")
#: A line is written in capitals when at least this share of its cased letters is upper case.
MIN_UPPER_SHARE = 0.85
#: ... and it has at least this many cased letters (short headings stay as they are),
MIN_LETTERS = 80
#: ... unless the note as a whole has at least this share of upper-case letters.
NOTE_UPPER_SHARE = 0.5


def map_same_length(text: str, convert: Callable[[str], str]) -> str:
    """``convert`` (``str.lower``, ``str.upper``) applied character by character; a character
    that would become several (U+0130 'İ' in lower case, 'ß' in upper case) is kept, so offsets
    never move."""
    out = []
    for ch in text:
        new = convert(ch)
        out.append(new if len(new) == 1 else ch)
    return "".join(out)


def lower_same_length(text: str) -> str:
    """``text`` in lower case without moving any offset (:func:`map_same_length`)."""
    return map_same_length(text, str.lower)


#: Letters an accent-free keyboard still types: kept by :func:`strip_accents_same_length`.
KEPT_LETTERS = frozenset("ñÑçÇ")


def _without_accent(ch: str) -> str:
    """``ch`` without its diacritics when that leaves one character ("á" -> "a", "ü" -> "u"),
    else ``ch``; the letters of :data:`KEPT_LETTERS` are kept."""
    if ch.isascii() or ch in KEPT_LETTERS:
        return ch
    bare = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    return bare if len(bare) == 1 else ch


def strip_accents_same_length(text: str) -> str:
    """``text`` as typed without accents ("cardíaca" -> "cardiaca"; ñ and ç kept), every offset
    unchanged (:func:`map_same_length`). Used for accent-free training copies."""
    return map_same_length(text, _without_accent)


def _cased_counts(text: str) -> tuple[int, int]:
    """(upper-case letters, cased letters) of ``text``."""
    upper = cased = 0
    for ch in text:
        if ch.isupper():
            upper += 1
            cased += 1
        elif ch.islower():
            cased += 1
    return upper, cased


def _mostly_upper(upper: int, cased: int) -> bool:
    """Whether ``cased`` > 0 letters, ``upper`` of them upper case, are written in capitals."""
    return cased > 0 and upper >= MIN_UPPER_SHARE * cased


def written_in_capitals(text: str) -> bool:
    """Whether ``text`` has cased letters and at least ``MIN_UPPER_SHARE`` of them are upper case."""
    return _mostly_upper(*_cased_counts(text))


def capital_lines(text: str) -> list[tuple[int, int]]:
    """Character ranges ``[start, end)`` of the lines of ``text`` written in capitals, in order:
    the lines :func:`fold_capitals` folds in ``"capitals"`` mode (see the module docstring). A
    range includes the line's line break."""
    note_upper, note_cased = _cased_counts(text)
    if note_upper == 0:
        return []
    mostly_capitals = note_upper >= NOTE_UPPER_SHARE * note_cased
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        upper, cased = _cased_counts(line)
        if _mostly_upper(upper, cased) and (mostly_capitals or cased >= MIN_LETTERS):
            out.append((pos, pos + len(line)))
        pos += len(line)
    return out


def fold_capitals(text: str, mode: str = "capitals") -> str:
    """The text the encoder should read for ``text`` (same length, same character positions).

    ``mode``: ``"none"`` (``text`` unchanged), ``"capitals"`` (lines written in capitals in lower
    case, see the module docstring and :func:`capital_lines`) or ``"all"`` (the whole text in
    lower case). Returns ``text`` itself when nothing is folded.
    """
    if mode == "none" or not text:
        return text
    if mode == "all":
        return lower_same_length(text)
    lines = capital_lines(text)
    if not lines:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in lines:
        parts.append(text[pos:start])
        parts.append(lower_same_length(text[start:end]))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
