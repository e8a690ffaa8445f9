"""Section-heading detection for clinical notes and case reports (es, ca, eu, gl).

A heading is a known heading phrase (``resources/context/sections.json``, matched on normalized
tokens, longest first) that starts a line (after optional bullets or numbering) or follows a
sentence end, and is followed by ":" (up to ``max_extra_words`` further words may come before
the colon: "Exploración física al ingreso:"), or — at the start of a line — by a line break or
the end of the text, or is written in capitals while the rest of its line is not
("ANTECEDENTES PERSONALES Niega…", "ANTECEDENTES PERSONALES HTA, DM2 y dislipemia"; in a line
written in capitals only the colon, full-stop and line-break forms count). A section
runs from its heading to the next heading. Reads tokens only; writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..encoder.casing import written_in_capitals
from ..errors import AliaClinValueError, ErrorCode
from .sentences import SENTENCE_END, Word, phrase_tokens

_BULLETS = frozenset({"-", "*", "•", "·", ")", "."})


@dataclass(frozen=True)
class Heading:
    """A detected heading: canonical section name and word range ``[start, end)`` (colon included)."""

    name: str
    start: int
    end: int


class SectionMatcher:
    """Compiled heading phrases (see the module docstring)."""

    def __init__(self, data: dict[str, Any], *, max_extra_words: int = 4) -> None:
        sections = data.get("sections")
        if not isinstance(sections, dict):
            raise AliaClinValueError(ErrorCode.E171, reason="'sections' must map names to heading lists")
        self.data = data
        self.max_extra_words = max_extra_words
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for name, headings in sections.items():
            for heading in headings:
                toks = phrase_tokens(heading)
                if toks:
                    self._phrases.setdefault(toks[0], []).append((toks, str(name)))
        for lst in self._phrases.values():
            lst.sort(key=lambda p: -len(p[0]))

    def _line_start(self, text: str, words: Sequence[Word], k: int) -> bool:
        """Whether word ``k`` starts a line (ignoring leading bullets/numbers) or a sentence."""
        if k == 0:
            return True
        gap = text[words[k - 1].end : words[k].start]
        if "\n" in gap or (words[k - 1].norm in SENTENCE_END and bool(gap)):
            return True
        j = k - 1
        while j >= 0 and (words[j].norm in _BULLETS or words[j].norm.isdigit()):
            if j == 0 or "\n" in text[words[j - 1].end : words[j].start]:
                return True
            j -= 1
        return False

    def find(self, text: str, words: Sequence[Word]) -> list[Heading]:
        """Headings of a text, in order."""
        found: list[Heading] = []
        k = 0
        n = len(words)
        while k < n:
            hit = None
            for toks, name in self._phrases.get(words[k].norm, ()):
                m = len(toks)
                if k + m <= n and all(words[k + j].norm == toks[j] for j in range(m)):
                    end = self._heading_end(text, words, k, k + m)
                    if end is not None and self._line_start(text, words, k):
                        hit = Heading(name, k, end)
                        break
            if hit is None:
                k += 1
                continue
            found.append(hit)
            k = hit.end
        return found

    def _heading_end(self, text: str, words: Sequence[Word], start: int, end: int) -> int | None:
        """End of the heading (after its colon), or None when the phrase is not a heading."""
        n = len(words)
        for extra in range(self.max_extra_words + 1):
            j = end + extra
            if j >= n:
                break
            if words[j].norm == ":":
                return j + 1
            if "\n" in text[words[j - 1].end : words[j].start]:
                break
            if not words[j].norm.isalnum():
                break
        if end >= n or "\n" in text[words[end - 1].end : words[end].start]:
            return end if self._line_start(text, words, start) else None
        original = text[words[start].start : words[end - 1].end]
        # in capitals, and the rest of its line is not (in a note written in capitals every
        # phrase is: "... FEVI 35 %. TRATAMIENTO CON FUROSEMIDA" has no heading)
        if sum(c.isalpha() for c in original) >= 3 and original.isupper():
            rest = text[words[end].start :].split("\n", 1)[0][:80]
            if not written_in_capitals(rest):
                return end
        if end < n and words[end].norm == ".":
            return end + 1 if self._line_start(text, words, start) else None
        return None


def load_sections_data() -> dict[str, Any]:
    """Read the packaged section headings."""
    ref = resources.files("alia_clin") / "resources" / "context" / "sections.json"
    data: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data
