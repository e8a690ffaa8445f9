"""Token normalization and a rule-based sentence splitter for context rules.

Reads a ``Doc`` (any tokenizer; alia_clin's gives no sentence boundaries) and returns *words*
(non-whitespace tokens with a normalized form) and sentence ranges over them. Nothing is
written to the ``Doc``; no parser is required.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from spacy.tokens import Doc

from ..text import split_words

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
#: Words ending in "." that do not end a sentence (normalized, without the dot).
ABBREVIATIONS = frozenset(
    {
        "dr",
        "dra",
        "sr",
        "sra",
        "srta",
        "etc",
        "aprox",
        "p",
        "ej",
        "pag",
        "fig",
        "vs",
        "núm",
        "num",
        "art",
        "mg",
        "ml",
        "cm",
        "mm",
        "kg",
        "h",
        "min",
        "seg",
        "dl",
        "tto",
        "ttos",
        "hta",
        "dm",
        "cr",
        "hb",
        "sat",
    }
)
SENTENCE_END = frozenset({".", "?", "!", "…"})


def normalize(text: str) -> str:
    """Lowercase, fold accents (keeping ñ/ç base letters) and unify apostrophes."""
    text = text.translate(_APOSTROPHES).lower()
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """Normalized tokens of a lexicon phrase, split like alia_clin's tokenizer splits text."""
    norm = normalize(phrase)
    return tuple(norm[s:e] for s, e in split_words(norm))


@dataclass(frozen=True)
class Word:
    """One non-whitespace token: its index in the doc, character offsets and normal form."""

    i: int
    start: int
    end: int
    norm: str
    is_upper_start: bool
    #: Lowercased text with its accents (for accent-sensitive phrases such as "si" vs "sí").
    lower: str = ""


def doc_words(doc: Doc) -> list[Word]:
    """The non-whitespace tokens of ``doc`` as :class:`Word` s, in order."""
    words: list[Word] = []
    for tok in doc:
        if tok.is_space or not tok.text.strip():
            continue
        text = tok.text
        words.append(
            Word(tok.i, tok.idx, tok.idx + len(text), normalize(text), text[:1].isupper(), text.lower())
        )
    return words


def split_sentences(text: str, words: list[Word]) -> list[tuple[int, int]]:
    """Sentence ranges ``[start, end)`` over ``words``.

    A sentence ends after ".", "?", "!" or "…" followed by whitespace (not after a known
    abbreviation or a single letter followed by a lowercase word), after a "." glued between a
    word and a capitalised word ("fiebre.Tos"; not after an abbreviation or a single letter:
    "E.Coli"), and at every line break.
    """
    sentences: list[tuple[int, int]] = []
    start = 0
    for k, w in enumerate(words):
        if k + 1 >= len(words):
            break
        nxt = words[k + 1]
        gap = text[w.end : nxt.start]
        boundary = "\n" in gap or "\r" in gap
        if not boundary and w.norm in SENTENCE_END and gap:
            prev = words[k - 1].norm if k > 0 else ""
            abbrev = w.norm == "." and (prev in ABBREVIATIONS or (len(prev) == 1 and prev.isalpha()))
            boundary = not abbrev or nxt.is_upper_start
            if abbrev and nxt.is_upper_start and prev in ABBREVIATIONS and prev in {"dr", "dra", "sr", "sra"}:
                boundary = False
        elif not boundary and w.norm == "." and not gap and k > 0:
            # "fiebre.Tos": a full stop glued to a capitalised word after a word (not an
            # abbreviation, a single letter or a number: "E.coli", "Dr.Pérez", "3.5")
            prev = words[k - 1].norm
            boundary = (
                nxt.is_upper_start
                and len(nxt.norm) > 1
                and nxt.norm.isalpha()
                and len(prev) > 1
                and prev.isalpha()
                and prev not in ABBREVIATIONS
            )
        if boundary:
            sentences.append((start, k + 1))
            start = k + 1
    if start < len(words):
        sentences.append((start, len(words)))
    return sentences
