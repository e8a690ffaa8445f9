"""Glued affixes: entity boundaries that cut a word at a hyphen.

A tagger with one tag per word sees "COVID-19", "ARA-II" or "5-fluorouracilo" as three words
and may stop or start at the hyphen ("COVID", "ARA-", "fluorouracilo"). CardioCCC's gold almost
never does. :func:`complete_glued_affixes` moves such a boundary to the end of the glued word:

* an entity that ends with a hyphen glued to the next word takes that word ("ARA-" → "ARA-II",
  "SARS-CoV-" → "SARS-CoV-2");
* an entity followed by a glued hyphen and a number, then no further word character, takes them
  ("COVID" → "COVID-19", "iSGLT" → "iSGLT-2", "V1" → "V1-3");
* an entity starting with a letter right after a glued number or "anti" prefix and its hyphen,
  with no word character or hyphen before it, takes the prefix ("fluorouracilo" →
  "5-fluorouracilo", "PCSK9" → "anti-PCSK9").

How it was chosen, on CardioCCC train gold (26,022 spans of the 203 training notes): a gold
span followed by a glued "-<digits>" includes it 28 times out of 28, one starting after a glued
"<digits>-" or "anti-" includes the prefix 3 times out of 3, and 1 gold span ends with a hyphen.
Hyphenated lists of names ("bortezomib-ciclofosfamida", two gold entities) are left as they are:
only a number or "anti" is taken across a hyphen, or the rest of a word the entity already cut.

The new span must not reach another entity or a PHI token; otherwise the entity is kept as it
was. Reads and writes only offsets and labels.
"""

from __future__ import annotations

import re
from collections.abc import Set

from spacy.tokens import Doc

#: After an entity ending with "-": the rest of the glued word.
_WORD_REST = re.compile(r"\w+")
#: After an entity ending with a word character: a glued hyphen and a number ending the word.
_NUMBER_SUFFIX = re.compile(r"-\d+(?![\w-])")
#: Before an entity starting with a letter: a glued number or "anti" prefix and its hyphen, with
#: no word character or hyphen before the prefix (searched with ``endpos`` = the entity's start;
#: the look-behind still sees the text before ``pos``).
_PREFIX = re.compile(r"(?<![\w-])(?:\d+|anti)-\Z", re.IGNORECASE)
#: How far back a prefix may start (characters).
_PREFIX_WINDOW = 12


def complete_glued_affixes(doc: Doc, phi_tokens: Set[int] = frozenset()) -> int:
    """Extend the ``doc.ents`` entities whose boundary cuts a word at a hyphen (see the module
    docstring); ``phi_tokens`` are token indices an entity must not take. Returns the number of
    entities changed."""
    ents = list(doc.ents)
    text = doc.text
    changed = 0
    for i, ent in enumerate(ents):
        start, end = _glued_bounds(text, ent.start_char, ent.end_char)
        if (start, end) == (ent.start_char, ent.end_char):
            continue
        span = doc.char_span(start, end, label=ent.label_, kb_id=ent.kb_id_)
        if span is None:
            continue
        prev_end = ents[i - 1].end if i > 0 else 0
        next_start = ents[i + 1].start if i + 1 < len(ents) else len(doc)
        if span.start < prev_end or span.end > next_start:
            continue
        if any(k in phi_tokens for k in range(span.start, span.end)):
            continue
        ents[i] = span
        changed += 1
    if changed:
        doc.ents = ents
    return changed


def _glued_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Character bounds of an entity ``[start, end)`` after taking its glued affixes."""
    if end < len(text) and text[end - 1] == "-" and text[end].isalnum():
        rest = _WORD_REST.match(text, end)
        if rest is not None:
            end = rest.end()
    elif text[end - 1].isalnum():
        suffix = _NUMBER_SUFFIX.match(text, end)
        if suffix is not None:
            end = suffix.end()
    if start > 0 and text[start].isalpha():
        prefix = _PREFIX.search(text, max(0, start - _PREFIX_WINDOW), start)
        if prefix is not None:
            start = prefix.start()
    return start, end
