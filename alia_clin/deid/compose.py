"""Decomposed accents (Unicode NFD): a composed copy of a note and its offsets in the original.

Some sources write "ñ" as "n" + U+0303 and "á" as "a" + U+0301 (text copied from macOS or from
some PDF extractions). A combining mark is not a regex word character, so the PHI rules would
read "Begoña" as "Begon" and leak the rest of the name. :func:`compose` returns the note with
each base character and the combining marks after it composed (NFC, one cluster at a time), and
for each character of that copy the start and end offsets of its cluster in the original, so
spans found in the copy map back to whole clusters of the note (never splitting an accent from
its letter). Notes that are already composed (nearly all) are returned as ``None``, at the cost
of one :func:`unicodedata.is_normalized` check.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Composed:
    """``text`` composed; ``starts[k]`` / ``ends[k]``: the original offsets of character ``k``'s cluster."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the original offsets of the composed span ``[start, end)`` (``start < end``)."""
        return self.starts[start], self.ends[end - 1]


def compose(text: str) -> Composed | None:
    """Return ``text`` composed with its offset map, or ``None`` when it is already composed (NFC)."""
    if unicodedata.is_normalized("NFC", text):
        return None
    combining = unicodedata.combining
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and combining(text[j]):
            j += 1
        cluster = unicodedata.normalize("NFC", text[i:j])
        parts.append(cluster)
        starts.extend([i] * len(cluster))
        ends.extend([j] * len(cluster))
        i = j
    return Composed("".join(parts), tuple(starts), tuple(ends))
