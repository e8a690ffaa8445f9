"""Fast rule engine for PHI: the recognizers' regexes run with :mod:`re`, without Presidio.

:class:`RuleEngine` compiles every :class:`~alia_clin.deid.specs.RuleSpec` once and, per
note, runs each regex over the text, applies checksums, looks for context words of all
configured languages in a short window before each match, and resolves overlaps (higher score
wins, then the longer span, then the earlier one).

Speed: case-insensitive patterns are lower-cased once and run without ``re.IGNORECASE`` over the
lower-cased note (same offsets), which is several times faster in :mod:`re`; a note whose
lower-casing changes its length (rare characters such as "İ") falls back to ``IGNORECASE``.
Most regexes hold a rare keyword ("NHC", a month, "Hospital", a run of 8 digits…): those run only
in small windows around the keyword's occurrences (:mod:`alia_clin.deid.anchors`, same matches
as scanning the note); a regex with a ``starts`` regex (a cheap scan for where its matches may
begin, shared by several regexes) is tried only at those positions; the others scan the note,
skipping ahead to their possible first characters when a leading look-behind can be checked apart.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .anchors import Anchor, NoteIndex, anchored_finditer, find_anchor, scan_cost
from .reading import reading_copy
from .specs import CONTEXT_BOOST, RuleSpec, build_specs, value_groups, value_spans

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

    groups: tuple[str, ...]
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


@dataclass(frozen=True)
class _Runner:
    """One distinct regex, run once per note for every pattern that shares it.

    ``on_lower`` regexes run over the lower-cased note; ``fallback`` is the original pattern with
    ``IGNORECASE`` for notes whose lower-casing changes length. ``left_check`` asks the engine to
    check a left word boundary, ``behind`` a hoisted look-behind, at each match start.
    ``requires``: lower-case literals, one of which must occur in the lower-cased note.
    ``anchor``: when set, the regex runs only around its keywords (see :mod:`.anchors`) and its
    matches hold the whole match in group ``_all``. ``starts``: when set, ``regex`` (same case
    handling) is tried only where ``starts`` matches (``starts_fallback`` for ``fallback``).
    """

    regex: re.Pattern[str]
    left_check: bool
    behind: re.Pattern[str] | None
    on_lower: bool
    fallback: re.Pattern[str]
    requires: tuple[str, ...]
    anchor: Anchor | None = None
    starts: re.Pattern[str] | None = None
    starts_fallback: re.Pattern[str] | None = None
    gate_words: frozenset[str] = frozenset()
    gate_before: re.Pattern[str] | None = None


#: What lower-casing must keep: ``(?P<name>`` / ``(?P=name)`` group syntax and escapes
#: (``\\W``, ``\\S``, ``\\D`` …).
_KEEP_CASE = re.compile(r"\(\?P[<=][^>)]*|\\.")


def _lower_pattern(pattern: str) -> str:
    """Return ``pattern`` lower-cased except its group names and escapes.

    Literals then match a lower-cased text, while ``\\W`` (non-word) stays ``\\W`` instead of
    becoming ``\\w``.
    """
    out, last = [], 0
    for m in _KEEP_CASE.finditer(pattern):
        out.append(pattern[last : m.start()].lower())
        out.append(m.group(0))
        last = m.end()
    out.append(pattern[last:].lower())
    return "".join(out)


_LEFT_BOUNDARY = "(?<![\\w])"
_LITERAL_BRANCH = re.compile(r"\(\?:[a-záéíóúàèòüïñç]")
#: Characters frequent in notes: a regex whose first character may be one of them gains nothing
#: from dropping its leading look-behind (``re`` would stop at almost every position anyway).
_COMMON_CHARS = frozenset("aeiouáéíóúsnrlcdtmp ,.\n")


def _strip_left_boundary(pattern: str) -> tuple[str, bool]:
    """Drop a leading ``(?<![\\w])`` before a literal alternation so ``re`` can skip ahead fast.

    Returns the pattern and whether the engine must check the left word boundary itself.
    """
    rest = pattern[len(_LEFT_BOUNDARY):]
    if pattern.startswith(_LEFT_BOUNDARY) and _LITERAL_BRANCH.match(rest):
        return rest, True
    return pattern, False


def _split_lookbehinds(pattern: str) -> tuple[str, str]:
    """Split ``pattern`` into its leading look-behind assertions and the rest (text, unparsed)."""
    i = 0
    while pattern.startswith(("(?<!", "(?<="), i):
        depth, j, in_class = 0, i, False
        while j < len(pattern):
            ch = pattern[j]
            if ch == "\\":
                j += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        else:
            return "", pattern
        i = j + 1
    return pattern[:i], pattern[i:]


def _first_chars(pattern: str, flags: int) -> frozenset[str] | None:
    """Return the characters a match of ``pattern`` may start with, or None when unknown/broad."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern, flags)
    except Exception:  # private API: fall back to "unknown"
        return None

    def first(items: Any) -> set[str] | None:
        if not items:
            return None
        op, av = items[0]
        if op is c.LITERAL:
            return {chr(av)}
        if op is c.SUBPATTERN:
            return first(av[-1])
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            return first(av[2])
        if op is c.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                chars = first(branch)
                if chars is None:
                    return None
                out |= chars
            return out
        if op is c.IN:
            out = set()
            for sub_op, sub_av in av:
                if sub_op is c.LITERAL:
                    out.add(chr(sub_av))
                elif sub_op is c.RANGE and sub_av[1] - sub_av[0] < 64:
                    out.update(chr(x) for x in range(sub_av[0], sub_av[1] + 1))
                elif sub_op is c.CATEGORY and sub_av is c.CATEGORY_DIGIT:
                    out.update("0123456789")
                else:
                    return None
            return out
        if op is c.CATEGORY and av is c.CATEGORY_DIGIT:
            return set("0123456789")
        return None

    chars = first(list(tree))
    return frozenset(chars) if chars is not None else None


def _hoist_lookbehinds(pattern: str, flags: int) -> tuple[str, re.Pattern[str] | None]:
    """Move leading look-behinds out of ``pattern`` when its first character is rare.

    ``re`` can then skip ahead to candidate positions; the engine checks the returned
    look-behind regex at each match start itself (same matches as the original pattern).
    """
    behind, rest = _split_lookbehinds(pattern)
    if not behind or not rest:
        return pattern, None
    chars = _first_chars(rest, flags)
    if chars is None or chars & _COMMON_CHARS:
        return pattern, None
    return rest, re.compile(behind, flags)


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


#: What makes two patterns share one runner: regex, flags, requires, starts, gate words, gate-before.
_RunKey = tuple[str, int, tuple[str, ...], str, tuple[str, ...], str]

_LAST_WORD = re.compile(r"\w+\Z")


def word_gate(index: NoteIndex, words: frozenset[str], before: re.Pattern[str] | None) -> list[int]:
    """Return the sorted start offsets of ``words`` as whole words in the lower-cased note of
    ``index``, and of the word just before one of them (spaces/tabs between) that ``before``
    matches whole.
    """
    subject = index.subject
    n = len(subject)
    present = index.word_set()
    out: set[int] = set()
    for word in words & present:
        size = len(word)
        for k in index.positions(word):
            end = k + size
            if (k and _is_word_char(subject[k - 1])) or (end < n and _is_word_char(subject[end])):
                continue
            out.add(k)
            if before is None:
                continue
            j = k
            while j and subject[j - 1] in " \t":
                j -= 1
            if j == k:
                continue
            prev = _LAST_WORD.search(subject, max(0, j - 40), j)
            if prev is not None and before.fullmatch(prev.group()):
                out.add(prev.start())
    return sorted(out)


def gated_finditer(regex: re.Pattern[str], subject: str, starts: Sequence[int]) -> list[re.Match[str]]:
    """Return the matches of ``regex`` in ``subject`` trying only the sorted positions ``starts``.

    Same matches as ``regex.finditer(subject)`` when every such match starts at one of
    ``starts`` (non-overlapping, leftmost first; look-behinds still see the text before).
    """
    out: list[re.Match[str]] = []
    done = 0
    match = regex.match
    for pos in starts:
        if pos < done:
            continue
        m = match(subject, pos)
        if m is not None:
            out.append(m)
            done = m.end() if m.end() > pos else pos + 1
    return out


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
        self._runs: list[tuple[_Runner, list[_Compiled]]] = []
        index: dict[_RunKey, int] = {}
        for spec in specs:
            self._compile(spec, index)

    def _compile(self, spec: RuleSpec, index: dict[_RunKey, int]) -> None:
        """Compile the patterns of one spec; identical regexes share one :class:`_Runner`."""
        context = _context_regex(spec.context_for(self.languages))
        exclude = _context_regex(spec.exclude_for(self.languages))
        for p in spec.patterns:
            compiled = _Compiled(
                value_groups(re.compile(p.regex, p.flags)), p.score, spec.label, spec.name,
                context, spec.window, spec.requires_context, exclude, spec.exclude_window,
                spec.validator, spec.invalidator,
            )
            key = (p.regex, p.flags, tuple(sorted(p.requires)), p.starts, p.gate_words, p.gate_before)
            if key in index:
                self._runs[index[key]][1].append(compiled)
                continue
            index[key] = len(self._runs)
            run = self._runner(p.regex, p.flags, p.requires, p.starts)
            if p.starts and p.gate_words:
                run = replace(
                    run,
                    gate_words=frozenset(p.gate_words),
                    gate_before=re.compile(p.gate_before) if p.gate_before else None,
                )
            self._runs.append((run, [compiled]))

    @staticmethod
    def _runner(pattern: str, flags: int, requires: tuple[str, ...], starts: str = "") -> _Runner:
        """Compile one regex for the fast path (lower-cased, look-behinds hoisted when useful)."""
        fallback = re.compile(pattern, flags)
        on_lower = bool(flags & re.IGNORECASE)
        fast_flags = flags & ~re.IGNORECASE
        lowered = _lower_pattern(pattern) if on_lower else pattern
        requires = tuple(w.lower() for w in requires)
        if starts:
            gate = _lower_pattern(starts) if on_lower else starts
            return _Runner(
                re.compile(lowered, fast_flags), False, None, on_lower, fallback, requires,
                starts=re.compile(gate, fast_flags), starts_fallback=re.compile(starts, flags),
            )
        fast, left_check = _strip_left_boundary(lowered) if on_lower else (pattern, False)
        behind = None
        if not left_check:
            fast, behind = _hoist_lookbehinds(fast, fast_flags)
        anchor = find_anchor(lowered, fast_flags)
        if anchor is not None and anchor.cost < scan_cost(_first_chars(fast, fast_flags)):
            return _Runner(re.compile(lowered, fast_flags), False, None, on_lower, fallback, requires, anchor)
        rx = re.compile(fast, fast_flags)
        return _Runner(rx, left_check, behind, on_lower, fallback, requires)

    @property
    def sources(self) -> list[str]:
        """Return the names of the compiled recognizers (one per rule, in order)."""
        return list(dict.fromkeys(c.source for _, members in self._runs for c in members))

    @staticmethod
    def _matches(run: _Runner, text: str, lower: str, same_length: bool) -> list[re.Match[str]]:
        """Return the matches of one runner in a note (same matches as the original pattern).

        Not for anchored runners (see :meth:`analyze`).
        """
        if run.on_lower and not same_length:
            return list(run.fallback.finditer(text))
        subject = lower if run.on_lower else text
        if run.left_check:
            return [m for m in run.regex.finditer(subject)
                    if not (m.start() > 0 and _is_word_char(subject[m.start() - 1]))]
        behind = run.behind
        if behind is None:
            return list(run.regex.finditer(subject))
        out: list[re.Match[str]] = []
        search, check = run.regex.search, behind.match
        pos, size = 0, len(subject)
        while pos <= size:
            m = search(subject, pos)
            if m is None:
                break
            start, end = m.span()
            if check(subject, start) is None:
                pos = start + 1
                continue
            out.append(m)
            pos = end if end > start else end + 1
        return out

    def analyze(self, text: str) -> list[PhiMatch]:
        """Read one note and return its PHI matches, non-overlapping, sorted by start offset.

        A note with decomposed accents ("n" + U+0303), no-break or other typographic spaces, or
        invisible characters (soft hyphen, zero-width space) is read through its plain copy and
        its matches mapped back to whole character clusters of the note (see :mod:`.reading`).
        """
        copy = reading_copy(text)
        if copy is None:
            return self._analyze(text)
        mapped = []
        for m in self._analyze(copy.text):
            start, end = copy.span(m.start, m.end)
            mapped.append(replace(m, start=start, end=end))
        return resolve_overlaps(mapped)

    def _analyze(self, text: str) -> list[PhiMatch]:
        """Return the PHI matches of a plain note (see :meth:`analyze`), scored, overlaps resolved."""
        found: list[PhiMatch] = []
        min_score = self.min_score
        lower = text.lower()
        same_length = len(lower) == len(text)
        context_text = lower if same_length else text.lower()
        lower_index = NoteIndex(lower, lowered=True)
        text_index = NoteIndex(text, lower_index if same_length else None)
        gates: dict[tuple[str, int], list[int]] = {}  # start positions per distinct ``starts`` regex
        for run, members in self._runs:
            if run.requires and not any(word in lower for word in run.requires):
                continue
            whole: int | str = 0
            if run.starts is not None:
                matches = self._gated(run, text, lower, same_length, gates, lower_index)
            elif run.anchor is not None and (same_length or not run.on_lower):
                matches = anchored_finditer(run.anchor, lower_index if run.on_lower else text_index)
                whole = "_all"
            else:
                matches = self._matches(run, text, lower, same_length)
            if not matches:
                continue
            for c in members:
                for m in matches:
                    for start, end in value_spans(m, c.groups, whole):
                        score = self._score(c, text, context_text, start, end)
                        if score >= min_score:
                            found.append(PhiMatch(start, end, c.label, score, c.source))
        return resolve_overlaps(found)

    @staticmethod
    def _gated(
        run: _Runner,
        text: str,
        lower: str,
        same_length: bool,
        gates: dict[Any, list[int]],
        lower_index: NoteIndex,
    ) -> list[re.Match[str]]:
        """Return the matches of a runner with a ``starts`` regex, scanning with it once per note.

        With ``gate_words`` and a lower-casing that keeps offsets, the start positions come from
        the note's word index instead (see :func:`word_gate`).
        """
        assert run.starts is not None and run.starts_fallback is not None
        if run.on_lower and not same_length:
            regex, gate, subject = run.fallback, run.starts_fallback, text
        else:
            regex, gate, subject = run.regex, run.starts, lower if run.on_lower else text
        if run.gate_words and same_length:
            wkey = (run.gate_words, run.gate_before)
            positions = gates.get(wkey)
            if positions is None:
                positions = gates[wkey] = word_gate(lower_index, run.gate_words, run.gate_before)
            return gated_finditer(regex, subject, positions)
        key = (gate.pattern, gate.flags)
        positions = gates.get(key)
        if positions is None:
            positions = gates[key] = [m.start() for m in gate.finditer(subject)]
        return gated_finditer(regex, subject, positions)

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
