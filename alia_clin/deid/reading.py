"""The copy of a note the PHI rules read: accents composed, odd spaces and invisible characters
plain, with the offsets of each of its characters in the note.

Notes carry characters the rules' regexes do not expect, and each of them made names leak:

* decomposed accents (Unicode NFD: "n" + U+0303, as some macOS or PDF sources write them): a
  combining mark is not a regex word character, so "Begoña Muñoz" was read as the name "Begon";
* spaces other than " " and tab: the no-break space of word processors and HTML (U+00A0), thin,
  narrow and other typographic spaces (U+2000-U+200A, U+202F, U+205F, U+3000, U+1680): the
  patterns separate words with ``[ \\t]``, so "Dr.\\u00a0José Gómez" or "600\\u202f111\\u202f222"
  were not matched; they are read as " " (line and paragraph separators U+2028/U+2029 as "\\n");
* invisible format characters inside words: soft hyphen (U+00AD), zero-width space and joiners
  (U+200B-U+200D), word joiner (U+2060), a byte-order mark (U+FEFF): they are read as nothing.

:func:`reading_copy` returns that copy and, for each of its characters, the start and end offsets
in the note of the cluster it comes from (a base character with the combining marks and
invisible characters after it), so a span found in the copy maps back to whole clusters of the
note and never splits an accent from its letter. A note with none of these characters (nearly
all) gives ``None``, after one regex scan and one :func:`unicodedata.is_normalized` check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Space characters read as " " (same length).
SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
#: Line and paragraph separators, read as "\n".
LINE_BREAKS = "\u2028\u2029"
#: Invisible format characters, read as nothing.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

_ODD = re.compile(f"[{SPACES}{LINE_BREAKS}{INVISIBLE}]")
_PLAIN: dict[int, str | None] = {ord(c): " " for c in SPACES}
_PLAIN.update({ord(c): "\n" for c in LINE_BREAKS})
_PLAIN.update({ord(c): None for c in INVISIBLE})


@dataclass(frozen=True)
class ReadingCopy:
    """``text`` as the rules read it; ``starts[k]`` / ``ends[k]``: the note offsets of the cluster of
    character ``k``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Return the note offsets of the copy's span ``[start, end)`` (``start < end``)."""
        return self.starts[start], self.ends[end - 1]


def reading_copy(text: str) -> ReadingCopy | None:
    """Return the copy of ``text`` the rules read, with its offset map; ``None`` when it is ``text``."""
    if _ODD.search(text) is None and unicodedata.is_normalized("NFC", text):
        return None
    combining = unicodedata.combining
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and (combining(text[j]) or text[j] in INVISIBLE):
            j += 1
        cluster = unicodedata.normalize("NFC", text[i:j].translate(_PLAIN))
        parts.append(cluster)
        starts.extend([i] * len(cluster))
        ends.extend([j] * len(cluster))
        i = j
    return ReadingCopy("".join(parts), tuple(starts), tuple(ends))
