"""Fast rule engine for PHI: the recognizers' regexes run with :mod:`re`, without Presidio.

:class:`RuleEngine` compiles every :class:`~alia_clin.deid.specs.RuleSpec` once and, per
note, runs each regex over the text, applies checksums, looks for context words of all
configured languages in a short window before each match, and resolves overlaps (higher score
wins, then the longer span, then the earlier one).

Speed: case-insensitive patterns are lower-cased once and run without ``re.IGNORECASE`` over the
lower-cased note (same offsets), which is several times faster in :mod:`re`; a note whose
lower-casing changes its length (rare characters such as "İ") falls back to ``IGNORECASE``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from .specs import CONTEXT_BOOST, RuleSpec, build_specs

__all__ = ["PhiMatch", "RuleEngine", "resolve_overlaps"]


@dataclass(frozen=True)
class PhiMatch:
    """One PHI span: character offsets ``[start, end)``, MEDDOCAN ``label``, ``score``, ``source``."""

    start: int
    end: int
    label: str
    score: float
    source: str


@dataclass(frozen=True)
class _Compiled:
    """One compiled pattern with what the engine needs from its spec.

    ``on_lower`` patterns run over the lower-cased note; ``fallback`` is the same pattern with
    ``IGNORECASE`` for notes whose lower-casing changes length.
    """

    regex: re.Pattern[str]
    left_check: bool
    on_lower: bool
    fallback: re.Pattern[str]
    has_group: bool
    score: float
    label: str
    source: str
    context: re.Pattern[str] | None
    window: int
    requires_context: bool
    exclude: re.Pattern[str] | None
    exclude_window: int
    validator: Callable[[str], bool] | None
    invalidator: Callable[[str], bool] | None


_GROUP_SYNTAX = re.compile(r"\(\?P[<=]")


def _lower_pattern(pattern: str) -> str:
    """Return ``pattern`` lower-cased except its ``(?P<name>`` / ``(?P=name)`` group syntax.

    The rules use only lower-case escapes (``\\d``, ``\\w``, ``\\s``), so lower-casing keeps
    their meaning while making literals match a lower-cased text.
    """
    pieces = _GROUP_SYNTAX.split(pattern)
    marks = _GROUP_SYNTAX.findall(pattern)
    out = [pieces[0].lower()]
    for mark, piece in zip(marks, pieces[1:], strict=True):
        out.append(mark + piece.lower())
    return "".join(out)


_LEFT_BOUNDARY = "(?<![\\w])"
_LITERAL_BRANCH = re.compile(r"\(\?:[a-záéíóúàèòüïñç]")


def _strip_left_boundary(pattern: str) -> tuple[str, bool]:
    """Drop a leading ``(?<![\\w])`` before a literal alternation so ``re`` can skip ahead fast.

    Returns the pattern and whether the engine must check the left word boundary itself.
    """
    rest = pattern[len(_LEFT_BOUNDARY):]
    if pattern.startswith(_LEFT_BOUNDARY) and _LITERAL_BRANCH.match(rest):
        return rest, True
    return pattern, False


def _context_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    """Compile lower-case context ``words`` into one whole-word alternation (None if empty).

    It is searched in the lower-cased note.
    """
    if not words:
        return None
    alt = "|".join(re.escape(w.lower()) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alt})(?!\w)")


def _is_word_char(ch: str) -> bool:
    """Return True when ``ch`` is a regex word character (``\\w``)."""
    return ch.isalnum() or ch == "_"


def resolve_overlaps(matches: Sequence[PhiMatch]) -> list[PhiMatch]:
    """Keep non-overlapping matches: higher score first, then longer, then earlier. Sorted by start."""
    ordered = sorted(matches, key=lambda m: (-m.score, m.start - m.end, m.start))
    starts: list[int] = []
    kept: list[PhiMatch] = []
    for m in ordered:
        i = bisect_left(starts, m.start)
        if i > 0 and kept[i - 1].end > m.start:
            continue
        if i < len(kept) and kept[i].start < m.end:
            continue
        starts.insert(i, m.start)
        kept.insert(i, m)
    return kept


class RuleEngine:
    """Run the PHI rules over plain text.

    ``languages`` selects whose context words are used (patterns already cover es/ca/eu/gl);
    ``min_score`` drops weaker matches; ``labels`` restricts the MEDDOCAN labels produced.
    """

    def __init__(
        self,
        languages: Sequence[str] = ("es", "ca", "eu", "gl"),
        *,
        min_score: float = 0.5,
        labels: Collection[str] | None = None,
    ) -> None:
        """Compile the rules of ``build_specs(languages)``; raises ``E005`` on an unknown language."""
        self.languages = tuple(languages)
        self.min_score = min_score
        self.labels = frozenset(labels) if labels is not None else None
        specs = [s for s in build_specs(self.languages) if self.labels is None or s.label in self.labels]
        self._compiled = [c for spec in specs for c in self._compile(spec)]

    def _compile(self, spec: RuleSpec) -> list[_Compiled]:
        """Compile the patterns of one spec (context alternation shared by its patterns)."""
        context = _context_regex(spec.context_for(self.languages))
        exclude = _context_regex(spec.exclude_for(self.languages))
        out = []
        for p in spec.patterns:
            fallback = re.compile(p.regex, p.flags)
            on_lower = bool(p.flags & re.IGNORECASE)
            fast, left_check = _strip_left_boundary(_lower_pattern(p.regex)) if on_lower else (p.regex, False)
            rx = re.compile(fast, p.flags & ~re.IGNORECASE) if on_lower else fallback
            out.append(_Compiled(
                rx, left_check, on_lower, fallback, "v" in rx.groupindex, p.score, spec.label, spec.name,
                context, spec.window, spec.requires_context, exclude, spec.exclude_window,
                spec.validator, spec.invalidator,
            ))
        return out

    @property
    def sources(self) -> list[str]:
        """Return the names of the compiled recognizers (one per rule, in order)."""
        return list(dict.fromkeys(c.source for c in self._compiled))

    def analyze(self, text: str) -> list[PhiMatch]:
        """Read one note and return its PHI matches, non-overlapping, sorted by start offset."""
        found: list[PhiMatch] = []
        min_score = self.min_score
        lower = text.lower()
        same_length = len(lower) == len(text)
        for c in self._compiled:
            left_check = False
            if not c.on_lower:
                matches = c.regex.finditer(text)
            elif same_length:
                matches = c.regex.finditer(lower)
                left_check = c.left_check
            else:
                matches = c.fallback.finditer(text)
            for m in matches:
                if left_check and m.start() > 0 and _is_word_char(lower[m.start() - 1]):
                    continue
                start, end = m.span("v") if c.has_group else m.span()
                if start >= end:
                    continue
                score = self._score(c, text, lower if same_length else text.lower(), start, end)
                if score >= min_score:
                    found.append(PhiMatch(start, end, c.label, score, c.source))
        return resolve_overlaps(found)

    @staticmethod
    def _score(c: _Compiled, text: str, lower: str, start: int, end: int) -> float:
        """Score one candidate: checksum, invalidator, then context boost; 0.0 means rejected.

        ``text`` gives the value to the checksum; context words are searched in ``lower``.
        """
        score = c.score
        if c.validator is not None:
            if not c.validator(text[start:end]):
                return 0.0
            score = 1.0
        if c.invalidator is not None and c.invalidator(text[start:end]):
            return 0.0
        if c.exclude is not None and c.exclude.search(lower, max(0, start - c.exclude_window), start):
            return 0.0
        if c.context is not None and (score < 1.0 or c.requires_context):
            if c.context.search(lower, max(0, start - c.window), start):
                score = min(1.0, score + CONTEXT_BOOST)
            elif c.requires_context:
                return 0.0
        return score
