"""Section-heading detection for clinical notes and case reports (es, ca, eu, gl).

A heading is a known heading phrase (``resources/context/sections.json``, matched on normalized
tokens, longest first) that starts a line (after optional bullets or numbering) or follows a
sentence end, and is followed by ":" (up to ``max_extra_words`` further words may come before
the colon: "Exploración física al ingreso:", and a short bracket: "Factores de riesgo
cardiovascular (FRCV):"), or — at the start of a line — by a line break or the end of the text
(again after up to ``max_extra_words`` words when the phrase starts the line: "Evolución
clínica"), or is written in capitals while the rest of its line is not ("ANTECEDENTES
PERSONALES Niega…", "ANTECEDENTES PERSONALES HTA, DM2 y dislipemia"; in a line written in
capitals only the colon, full-stop and line-break forms count). A section runs from its heading
to the next heading. Reads tokens only; writes nothing.

More keys of the data refine that:

* ``line_start_only``: phrases that are headings only at the start of a line, not after a
  sentence end inside one ("Ingresa por síncope. Historia cardiológica: IAM en 2010. …").
* ``subheadings`` (section → phrases): inside that section those phrases are not headings.
  In a physical examination "AP:" is *auscultación pulmonar*, not *antecedentes personales*,
  and "AC:" *auscultación cardíaca*; their findings stay in the examination.
* ``vetoes`` (phrase → words): the phrase is not a heading when the first word after it (and
  its colon) is one of the words: "AP: murmullo vesicular conservado" is an auscultation,
  "AP: adenocarcinoma …" a pathology result (*anatomía patológica*).
* ``openers``: a list of ``{"section", "inside", "phrases"}``. Inside one of the ``inside``
  sections, a sentence or line that opens with one of the phrases starts an implicit
  ``section`` with an empty heading. A case report's current episode often follows its
  past history without a heading ("Antecedentes personales: HTA, DM2. Acude a urgencias por
  disnea"), and would otherwise be read as past history. A phrase may start with ``*`` (one
  to ten words before it, none ending a sentence, the first being one of ``subjects``):
  "Varón de 61 años que acude por…". Only present tenses are listed: "acudió" and "ingresó"
  narrate the history itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..encoder.casing import written_in_capitals
from ..errors import AliaClinValueError, ErrorCode
from .sentences import SENTENCE_END, Word, normalize, phrase_tokens

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
        self._subheadings: dict[str, set[tuple[str, ...]]] = {
            str(name): {phrase_tokens(p) for p in phrases}
            for name, phrases in _mapping(data, "subheadings").items()
        }
        self._openers = [_Opener.read(o) for o in _list(data, "openers")]
        self._line_start_only = {phrase_tokens(str(p)) for p in _list(data, "line_start_only")}
        self._vetoes = {
            phrase_tokens(str(p)): frozenset(normalize(str(w)) for w in words)
            for p, words in _mapping(data, "vetoes").items()
        }

    def _starts_line(self, text: str, words: Sequence[Word], k: int) -> bool:
        """Whether word ``k`` starts a line, after optional bullets or numbering."""
        j = k
        while j > 0 and "\n" not in text[words[j - 1].end : words[j].start]:
            if not (words[j - 1].norm in _BULLETS or words[j - 1].norm.isdigit()):
                return False
            j -= 1
        return True

    def _line_start(self, text: str, words: Sequence[Word], k: int) -> bool:
        """Whether word ``k`` starts a line (ignoring leading bullets/numbers) or a sentence."""
        if k > 0 and words[k - 1].norm in SENTENCE_END and text[words[k - 1].end : words[k].start]:
            return True
        return self._starts_line(text, words, k)

    def find(self, text: str, words: Sequence[Word]) -> list[Heading]:
        """Headings of a text, in order (implicit ones have an empty word range)."""
        found: list[Heading] = []
        k = 0
        n = len(words)
        while k < n:
            current = found[-1].name if found else None
            within = self._subheadings.get(current, set()) if current else set()
            hit = None
            for toks, name in self._phrases.get(words[k].norm, ()):
                if toks in within or not _tokens_at(words, k, toks):
                    continue
                end = self._heading_end(text, words, k, k + len(toks))
                if end is None or not self._line_start(text, words, k):
                    continue
                if toks in self._line_start_only and not self._starts_line(text, words, k):
                    continue
                if end < n and words[end].norm in self._vetoes.get(toks, ()):
                    continue
                hit = Heading(name, k, end)
                break
            if hit is None and current is not None and self._line_start(text, words, k):
                opened = next((o.section for o in self._openers if o.opens(current, words, k)), None)
                if opened is not None:
                    found.append(Heading(opened, k, k))
            if hit is None:
                k += 1
                continue
            found.append(hit)
            k = hit.end
        return found

    def _heading_end(self, text: str, words: Sequence[Word], start: int, end: int) -> int | None:
        """End of the heading (after its colon), or None when the phrase is not a heading."""
        n = len(words)
        j = end - 1
        for extra in range(self.max_extra_words + 1):
            j += 1
            if j < n and words[j].norm == "(" and (close := _closing_bracket(text, words, j)) is not None:
                j = close + 1  # an abbreviation or a remark: "Factores de riesgo cardiovascular (FRCV):"
            if j >= n:
                # the phrase and a few more words make up the last line ("EVOLUCIÓN CLÍNICA")
                if extra and self._starts_line(text, words, start):
                    return j
                break
            if words[j].norm == ":":
                return j + 1
            if "\n" in text[words[j - 1].end : words[j].start]:
                if extra and self._starts_line(text, words, start):
                    return j  # a line of its own: "Evolución clínica", "Antecedentes cardiológicos"
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


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise AliaClinValueError(ErrorCode.E171, reason=f"'{key}' must map section names to phrase lists")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise AliaClinValueError(ErrorCode.E171, reason=f"'{key}' must be a list")
    return value


@dataclass(frozen=True)
class _Opener:
    """Phrases that open an implicit section inside others (see the module docstring)."""

    section: str
    inside: frozenset[str]
    phrases: tuple[tuple[str, ...], ...]
    after_subject: tuple[tuple[str, ...], ...]
    subjects: frozenset[str]

    @classmethod
    def read(cls, entry: Any) -> _Opener:
        if not isinstance(entry, dict) or not {"section", "inside", "phrases"} <= set(entry):
            reason = "each opener needs 'section', 'inside', 'phrases'"
            raise AliaClinValueError(ErrorCode.E171, reason=reason)
        phrases = [str(p) for p in entry["phrases"]]
        return cls(
            section=str(entry["section"]),
            inside=frozenset(str(x) for x in entry["inside"]),
            phrases=tuple(phrase_tokens(p) for p in phrases if not p.startswith("*")),
            after_subject=tuple(phrase_tokens(p[1:]) for p in phrases if p.startswith("*")),
            subjects=frozenset(normalize(str(x)) for x in entry.get("subjects", ())),
        )

    def opens(self, current: str, words: Sequence[Word], k: int) -> bool:
        """Whether the sentence starting at word ``k`` opens this section inside ``current``."""
        if current not in self.inside:
            return False
        if any(_tokens_at(words, k, p) for p in self.phrases):
            return True
        if words[k].norm not in self.subjects:
            return False
        for j in range(k + 1, min(k + 11, len(words))):
            if words[j].norm in SENTENCE_END:
                return False
            if any(_tokens_at(words, j, p) for p in self.after_subject):
                return True
        return False


def _closing_bracket(text: str, words: Sequence[Word], k: int, reach: int = 4) -> int | None:
    """Index of the ")" closing the "(" at word ``k`` within ``reach`` words on its line, or None."""
    for j in range(k + 1, min(k + reach + 2, len(words))):
        if "\n" in text[words[j - 1].end : words[j].start] or words[j].norm == "(":
            return None
        if words[j].norm == ")":
            return j
    return None


def _tokens_at(words: Sequence[Word], k: int, toks: tuple[str, ...]) -> bool:
    return k + len(toks) <= len(words) and all(words[k + j].norm == t for j, t in enumerate(toks))


def load_sections_data() -> dict[str, Any]:
    """Read the packaged section headings."""
    ref = resources.files("alia_clin") / "resources" / "context" / "sections.json"
    data: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data
