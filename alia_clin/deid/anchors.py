"""Keyword anchors: find a regex's matches by searching only around literals every match holds.

Most PHI rules are anchored on a keyword ("NHC", "Tel", a month name, "Hospital"…). This
module derives such keywords from a regex's parse tree, with the farthest a keyword may lie
from the match start, and emulates :meth:`re.Pattern.finditer` by running the regex only in the
windows where a match can start. The output is identical to ``finditer`` over the whole text;
only regexes whose literals are rare get an :class:`Anchor` (see :func:`find_anchor`).

The parse tree comes from the private ``re._parser``; if it is unavailable or changes shape,
:func:`find_anchor` returns None and the engine scans the whole note as before.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Any

__all__ = ["LINE", "TOKEN", "Anchor", "NoteIndex", "anchored_finditer", "find_anchor", "scan_cost"]

#: Offset bound meaning "unbounded, but the text before the keyword stays on its line".
LINE = 1 << 40
#: Widths at or above this are unbounded (``re`` reports ``MAXREPEAT``).
_UNBOUNDED = 1 << 30
#: Most literal strings an anchor may hold (expansion of alternations and character sets).
_MAX_STRINGS = 96
#: An anchor is used when its estimated cost is below this fraction of a full scan.
_MAX_COST = 0.6
#: Window assumed for a line-bounded keyword when estimating cost (characters).
_LINE_COST = 120
_TOKEN_COST = 12
#: Most characters one windowed ``match`` call may skip before giving up (per call).
_MAX_WINDOW = 256

#: Per-character frequencies in Spanish clinical text (rounded), to prefer rare keywords.
_CHAR_FREQ: dict[str, float] = {
    " ": 0.14, "a": 0.09, "e": 0.088, "o": 0.064, "i": 0.063, "n": 0.054, "r": 0.049, "s": 0.048,
    "l": 0.041, "c": 0.04, "d": 0.038, "t": 0.038, "m": 0.023, "u": 0.022, "p": 0.019, ".": 0.012,
    "g": 0.01, "ó": 0.009, ",": 0.008, "b": 0.008, "v": 0.0075, "\n": 0.007, ":": 0.007, "f": 0.007,
    "í": 0.0056, "h": 0.005, "y": 0.005, "z": 0.0036, "q": 0.0032, "/": 0.0032, "á": 0.0026,
    "x": 0.0025, "é": 0.0022, "ñ": 0.0019, "j": 0.0017, ")": 0.0014, "(": 0.0014, "-": 0.0012,
    "ú": 0.0007, "º": 0.0004, ";": 0.0004, "@": 0.0003, "k": 0.0002, "\t": 0.0002,
}
_DIGIT_FREQ = 0.003
_UPPER_FREQ = 0.002
_RARE_FREQ = 0.0001
#: Correction for correlated characters: real strings are more frequent than the product.
_CORRELATION = 3.0
#: Cost units: 1.0 = one regex scan over the note. A windowed try costs about this many
#: scan positions; one ``str.find`` pass costs this fraction of a scan.
_TRY_CALL = 15.0
_TRY_POS = 2.0
_FIND_COST = 0.02
_CALL_COST = 0.03
#: A keyword starting a word is first looked up in the note's word list (this cost), then found
#: with ``find`` only when present (notes hold about this many characters).
_LOOKUP_COST = 0.003
_NOTE_CHARS = 3000
#: Frequency of a run of at least two digits (halved per further digit).
_DIGIT_RUN_FREQ = 0.01
#: Window sizes the wrapped regexes are compiled for (a range is tried with the smallest that fits).
_SPANS = (0, 3, 15, 63, _MAX_WINDOW)


class Windows:
    """The regex wrapped per window size of :data:`_SPANS`, compiled on first use.

    ``windows[i].match(text, pos)`` finds the leftmost match starting in ``[pos, pos + n]``
    (group ``_all`` holds it). Compiling the wrappers lazily keeps a rule engine quick to build:
    most anchored regexes only ever need one or two sizes.
    """

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: list[re.Pattern[str] | None] = [None] * len(_SPANS)

    def __len__(self) -> int:
        return len(_SPANS)

    def __getitem__(self, i: int) -> re.Pattern[str]:
        rx = self._compiled[i]
        if rx is None:
            n = _SPANS[i]
            wrapped = rf"(?s:.{{0,{n}}}?)(?P<_all>{self.pattern})" if n else f"(?P<_all>{self.pattern})"
            rx = self._compiled[i] = re.compile(wrapped, self.flags)
        return rx


@dataclass(frozen=True)
class Anchor:
    """Literals every match contains, with the farthest each may start from the match start.

    ``offsets`` maps a keyword to that bound (``LINE``: anywhere earlier on the same line);
    ``windows`` holds the regex wrapped per size ``n`` of :data:`_SPANS`, so that
    ``windows[i].match(text, pos)`` finds the leftmost match starting in ``[pos, pos + n]``
    (group ``_all`` holds it); ``cost`` is the estimate (1.0 = a scan of the whole note).
    """

    offsets: dict[str, int]
    windows: Windows
    cost: float
    plain: tuple[tuple[str, int], ...] = ()
    digits: tuple[tuple[int, int], ...] = ()
    word_keys: frozenset[str] = frozenset()
    word_table: dict[str, tuple[tuple[str, str, bool, int], ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, offsets: dict[str, int], windows: Windows, cost: float) -> Anchor:
        """Return an anchor with its keywords sorted into look-up tables.

        ``plain``: (keyword, bound) found with ``find``; ``digits``: (run length, bound);
        ``word_table``: per lower-cased first two characters, (keyword, lower-cased leading word,
        whether that word must be whole, bound) of keywords that start a word.
        """
        plain: list[tuple[str, int]] = []
        digits: list[tuple[int, int]] = []
        table: dict[str, list[tuple[str, str, bool, int]]] = {}
        for kw, off in offsets.items():
            if kw[0] == DIGITS:
                digits.append((int(kw[1:]), off))
            elif kw[0] == WORD:
                text = kw[1:]
                lead = _LEAD.match(text)
                head = (lead.group() if lead is not None else text).lower()
                table.setdefault(head[:2], []).append((text, head, len(head) < len(text), off))
            else:
                plain.append((kw, off))
        word_table = {k: tuple(v) for k, v in table.items()}
        return cls(offsets, windows, cost, tuple(plain), tuple(digits), frozenset(word_table), word_table)


# --------------------------------------------------------------------------------------------
# Parse-tree analysis
# --------------------------------------------------------------------------------------------


def _char_freq(ch: str) -> float:
    """Return the estimated frequency of one character in clinical text."""
    f = _CHAR_FREQ.get(ch)
    if f is not None:
        return f
    if ch.isdigit():
        return _DIGIT_FREQ
    if ch.isupper():
        return _UPPER_FREQ
    return _RARE_FREQ


#: Cost of a scan that ``re`` can skip through to the characters a match may start with.
_SKIP_BASE = 0.05
_SKIP_TRY = 2.0


def scan_cost(first: Iterable[str] | None) -> float:
    """Return the estimated cost of scanning a note (1.0 = full scan) given a regex's first characters.

    ``first`` holds the characters a match may start with (None: unknown, every position tried).
    """
    if first is None:
        return 1.0
    return min(1.0, _SKIP_BASE + _SKIP_TRY * sum(_char_freq(ch) for ch in set(first)))


@lru_cache(maxsize=65536)
def _string_freq(s: str) -> float:
    """Return the estimated frequency of a literal string (per text position)."""
    f = _CORRELATION ** (len(s) - 1) if s else 1.0
    for ch in s:
        f *= _char_freq(ch)
    return min(f, 1.0)


def _minimal(strings: Iterable[str]) -> set[str]:
    """Drop strings that another string of the set begins (its occurrences cover theirs).

    In sorted order the strings a prefix begins follow it in one block, so one pass comparing
    each string with the last one kept suffices.
    """
    kept: list[str] = []
    for s in sorted(set(strings)):
        if kept and s.startswith(kept[-1]):
            continue
        kept.append(s)
    return set(kept)


class _Tree:
    """Walk ``re._parser`` trees: widths, newline reach, literal prefixes, anchor candidates."""

    def __init__(self, c: Any) -> None:
        """Keep the ``re._constants`` module ``c``."""
        self.c = c

    # -- sets -----------------------------------------------------------------------------

    def _in_has(self, items: Sequence[tuple[Any, Any]], ch: int) -> bool:
        """Return True when the character class ``items`` (an ``IN`` node) matches ``ch``."""
        c = self.c
        negate = False
        hit = False
        for op, av in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                hit = hit or av == ch
            elif op is c.RANGE:
                hit = hit or av[0] <= ch <= av[1]
            elif op is c.CATEGORY:
                hit = hit or self._category_has(av, ch)
            else:
                return True  # unknown: assume it may
        return hit != negate

    def _category_has(self, cat: Any, ch: int) -> bool:
        """Return True when category ``cat`` (``\\d``, ``\\s``, ``\\w``…) matches ``ch``."""
        c = self.c
        s = chr(ch)
        table = {
            c.CATEGORY_DIGIT: s.isdigit(),
            c.CATEGORY_NOT_DIGIT: not s.isdigit(),
            c.CATEGORY_SPACE: s.isspace(),
            c.CATEGORY_NOT_SPACE: not s.isspace(),
            c.CATEGORY_WORD: s.isalnum() or s == "_",
            c.CATEGORY_NOT_WORD: not (s.isalnum() or s == "_"),
        }
        return bool(table.get(cat, True))

    def _in_literals(self, items: Sequence[tuple[Any, Any]]) -> set[str] | None:
        """Return the characters of a small positive character class, else None."""
        c = self.c
        out: set[str] = set()
        for op, av in items:
            if op is c.LITERAL:
                out.add(chr(av))
            elif op is c.RANGE and av[1] - av[0] < 4:
                out.update(chr(x) for x in range(av[0], av[1] + 1))
            else:
                return None
        return out if 0 < len(out) <= 6 else None

    # -- widths ---------------------------------------------------------------------------

    def newline(self, items: Sequence[tuple[Any, Any]], nl: int = 10) -> bool:
        """Return True when ``items`` may consume a newline (or char code ``nl``; unknown: True)."""
        c = self.c
        for op, av in items:
            if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
                continue
            if op is c.LITERAL:
                if av == nl:
                    return True
            elif op is c.NOT_LITERAL:
                if av != nl:
                    return True
            elif op is c.IN:
                if self._in_has(av, nl):
                    return True
            elif op is c.CATEGORY:
                if self._category_has(av, nl):
                    return True
            elif op is c.SUBPATTERN:
                if av[1] & re.DOTALL or self.newline(av[3], nl):
                    return True
            elif op is c.BRANCH:
                if any(self.newline(b, nl) for b in av[1]):
                    return True
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                if self.newline(av[2], nl):
                    return True
            elif op is getattr(c, "ATOMIC_GROUP", None):
                if self.newline(av, nl):
                    return True
            else:
                return True
        return False

    def _blank_class(self, items: Sequence[tuple[Any, Any]]) -> bool:
        """Return True when ``items`` is one character from spaces/tabs only (``[ \\t]``, ``" "``)."""
        c = self.c
        if len(items) != 1:
            return False
        op, av = items[0]
        if op is c.LITERAL:
            return av in (9, 32)
        if op is c.IN:
            return all(sub_op is c.LITERAL and sub_av in (9, 32) for sub_op, sub_av in av)
        return False

    def width(self, items: Sequence[tuple[Any, Any]]) -> int | None:
        """Return the most *compressed* characters ``items`` may consume, ``LINE`` or None.

        Compressed: a run of spaces/tabs counts as one character. A repeat of ``[ \\t]`` then
        counts 1 however long; other unbounded repeats give ``LINE`` when they cannot cross a
        newline, else None (unbounded).
        """
        total = 0
        for op, av in items:
            w = self._node_width(op, av)
            if w is None:
                return None
            total = LINE if LINE in (total, w) else total + w
        return total

    def _node_width(self, op: Any, av: Any) -> int | None:
        """Return the compressed width bound of one node (see :meth:`width`)."""
        c = self.c
        if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
            return 0
        if op in (c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY, c.CATEGORY):
            return 1
        if op is c.SUBPATTERN:
            return self.width(av[3])
        if op is c.BRANCH:
            widths = [self.width(b) for b in av[1]]
            if any(w is None for w in widths):
                return None
            return max(w for w in widths if w is not None) if widths else 0
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            _, hi, body = av
            if self._blank_class(body):
                return 1
            w = self.width(body)
            if w is None:
                return None
            if hi >= _UNBOUNDED:
                return None if self.newline(body) else (0 if w == 0 else LINE)
            return LINE if w == LINE else int(hi) * w
        return None

    # -- literals -------------------------------------------------------------------------

    def prefixes(self, items: Sequence[tuple[Any, Any]]) -> tuple[set[str], bool] | None:
        """Return the literal strings a match of ``items`` starts with, and whether that is all of it.

        None when some match may start without a known literal.
        """
        acc = {""}
        for op, av in items:
            got = self._node_prefixes(op, av)
            if got is None:
                return (acc, False) if acc != {""} else None
            alts, complete = got
            new = {a + b for a in acc for b in alts}
            if len(new) > _MAX_STRINGS:
                return (acc, False) if acc != {""} else None
            acc = new
            if not complete:
                return acc, False
        return acc, True

    def _node_prefixes(self, op: Any, av: Any) -> tuple[set[str], bool] | None:
        """Return the literal prefixes of one node (see :meth:`prefixes`)."""
        c = self.c
        if op is c.LITERAL:
            return {chr(av)}, True
        if op is c.IN:
            chars = self._in_literals(av)
            return (chars, True) if chars is not None else None
        if op is c.SUBPATTERN:
            if av[1] or av[2]:  # inline flags such as (?i:…)
                return None
            return self.prefixes(av[3])
        if op is c.BRANCH:
            out: set[str] = set()
            complete = True
            for branch in av[1]:
                got = self.prefixes(branch)
                if got is None or "" in got[0]:
                    return None
                out |= got[0]
                complete = complete and got[1]
            return (out, complete) if len(out) <= _MAX_STRINGS else None
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            lo, hi, body = av
            got = self.prefixes(body)
            if lo == 0 and hi == 1:
                if got is None or not got[1]:
                    return None
                return got[0] | {""}, True
            if lo >= 1 and got is not None:
                return got[0], got[1] and lo == hi == 1
            return None
        return None

    # -- anchors --------------------------------------------------------------------------

    def _nonword_class(self, op: Any, av: Any) -> bool:
        """Return True when one-character node ``op``/``av`` can only match a non-word character."""
        c = self.c
        if op is c.LITERAL:
            return not _is_word(chr(av))
        if op is c.IN:
            for sub_op, sub_av in av:
                if sub_op is c.LITERAL:
                    if _is_word(chr(sub_av)):
                        return False
                elif sub_op is c.CATEGORY:
                    if sub_av is not c.CATEGORY_SPACE:
                        return False
                else:
                    return False
            return True
        return False

    def _guards_word(self, av: Any) -> bool:
        """Return True when lookbehind ``(?<!…)`` body ``av`` rejects every word character."""
        c = self.c
        direction, body = av
        if direction != -1 or len(body) != 1:
            return False
        op, items = body[0]
        if op is not c.IN:
            return False
        return any(sub_op is c.CATEGORY and sub_av is c.CATEGORY_WORD for sub_op, sub_av in items)

    def after(self, items: Sequence[tuple[Any, Any]], before: bool) -> bool:
        """Return True when, after ``items``, the character before the position is surely not a word one.

        ``before``: the same property at the start of ``items`` (text start counts as non-word).
        """
        state = before
        for op, av in items:
            state = self._after_node(op, av, state)
        return state

    def _after_node(self, op: Any, av: Any, before: bool) -> bool:
        """Return the property of :meth:`after` past one node."""
        c = self.c
        if op is c.ASSERT_NOT:
            return before or self._guards_word(av)
        if op in (c.ASSERT, c.AT):
            return before
        if op in (c.LITERAL, c.IN):
            return self._nonword_class(op, av)
        if op is c.SUBPATTERN:
            return False if (av[1] or av[2]) else self.after(av[3], before)
        if op is c.BRANCH:
            return all(self.after(b, before) for b in av[1])
        if op in (c.MAX_REPEAT, c.MIN_REPEAT):
            lo, _, body = av
            once = self.after(body, before)
            again = self.after(body, once)
            if not (once == again or not again):
                return False
            return once and again if lo >= 1 else before and once and again
        return False

    def candidates(self, items: Any, state: _State, at_word: bool = True) -> list[dict[str, int]]:
        """Return anchor candidates of sequence ``items``; ``state`` describes the text before it.

        Each candidate maps keywords to their farthest offset from the match start (an int,
        :data:`LINE` or :data:`TOKEN`); a keyword known to start a word (non-word character or
        text start before it) carries the :data:`WORD` prefix. ``at_word``: that property at
        the start of ``items``.
        """
        c = self.c
        out: list[dict[str, int]] = []
        seq = list(items)
        word = at_word
        for i, (op, av) in enumerate(seq):
            offset = _offset(state)
            if offset is None:
                break
            if op is c.ASSERT and av[0] == 1:  # lookahead: its content follows this point
                out.extend(self.candidates(av[1], state, word))
            run = self._digit_run(op, av)
            if run:
                out.append({f"{DIGITS}{run:03d}": offset})
            if op not in (c.ASSERT, c.ASSERT_NOT, c.AT):
                got = self.prefixes(seq[i:])
                if got is not None:
                    strings = _minimal(got[0])
                    if strings and "" not in strings:
                        out.append({_mark(s, word): offset for s in strings})
                out.extend(self._inner(op, av, state, word))
            state = self._advance(state, op, av)
            word = self._after_node(op, av, word)
        return out

    def _advance(self, state: _State, op: Any, av: Any) -> _State:
        """Return ``state`` after one more node of the prefix."""
        bound, lineless, spaceless = state
        width = self._node_width(op, av)
        node = [(op, av)]
        lineless = lineless and not self.newline(node)
        spaceless = spaceless and lineless and not self.newline(node, 32) and not self.newline(node, 9)
        if bound is not None and width is not None and width < LINE:
            bound += width
        else:
            bound = None
        return bound, lineless, spaceless

    def _digit_run(self, op: Any, av: Any) -> int:
        """Return ``n`` when the node is ``\\d{n,…}`` (n ≥ 2), else 0."""
        c = self.c
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 2 and len(av[2]) == 1:
            sub_op, sub_av = av[2][0]
            if sub_op is c.IN and len(sub_av) == 1 and sub_av[0] == (c.CATEGORY, c.CATEGORY_DIGIT):
                return min(int(av[0]), 999)
        return 0

    def _inner(self, op: Any, av: Any, state: _State, word: bool) -> list[dict[str, int]]:
        """Return candidates found inside a group, repeat (first pass) or alternation node."""
        c = self.c
        if op is c.SUBPATTERN and not (av[1] or av[2]):
            return self.candidates(av[3], state, word)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            return self.candidates(av[2], state, word)
        if op is c.BRANCH:
            merged: dict[str, int] = {}
            for branch in av[1]:
                best = _cheapest(self.candidates(branch, state, word))
                if best is None:
                    return []
                for kw, off in best.items():
                    merged[kw] = _combine(merged.get(kw, off), off)
            folded = _fold(merged)
            return [folded] if folded is not None else []
        return []


#: Offset bound meaning "unbounded, but no space, tab or newline between match start and keyword".
TOKEN = LINE * 2
#: A prefix's state: bounded compressed width (None: unbounded), no newline in it, no blank in it.
_State = tuple[int | None, bool, bool]
_UNSAFE = -1


def _offset(state: _State) -> int | None:
    """Return the keyword offset bound a prefix state allows (None: no usable bound)."""
    bound, lineless, spaceless = state
    if bound is not None:
        return bound
    if spaceless:
        return TOKEN
    return LINE if lineless else None


def _combine(a: int, b: int) -> int:
    """Return a bound valid for both bounds ``a`` and ``b`` (``_UNSAFE`` when none is)."""
    if a == b:
        return a
    if a < LINE and b < LINE and a >= 0 and b >= 0:
        return max(a, b)
    return _UNSAFE


def _fold(offsets: dict[str, int]) -> dict[str, int] | None:
    """Return ``offsets`` reduced to prefix-free keywords with combined bounds (None if unsafe)."""
    out: dict[str, int] = {}
    keys = sorted(offsets)
    for k in _minimal(keys):
        bound = None
        i = bisect_left(keys, k)  # the keywords ``k`` begins form one block from here
        while i < len(keys) and keys[i].startswith(k):
            off = offsets[keys[i]]
            bound = off if bound is None else _combine(bound, off)
            i += 1
        if bound is None or bound == _UNSAFE:
            return None
        out[k] = bound
    return out


#: Prefix of a keyword that starts a word: found through the note's word list, not ``find``.
WORD = "\x00"
#: Prefix of a digit-run token ``DIGITS + "005"``: a run of at least 5 digits (not a literal).
DIGITS = "\x01"


def _is_word(ch: str) -> bool:
    """Return True for a regex word character (``\\w``)."""
    return ch.isalnum() or ch == "_"


def _mark(s: str, word: bool) -> str:
    """Return keyword ``s`` with the :data:`WORD` prefix when it starts a word and a word char."""
    return WORD + s if word and _is_word(s[0]) else s


def _cost(candidate: dict[str, int]) -> float:
    """Return the estimated cost of searching around ``candidate``'s keywords (1.0 = full scan)."""
    total = _CALL_COST
    for kw, off in candidate.items():
        window = _TOKEN_COST if off == TOKEN else _LINE_COST if off >= LINE else off + 1
        if kw[0] == DIGITS:
            freq = _DIGIT_RUN_FREQ * 0.5 ** (int(kw[1:]) - 2)
        else:
            freq = _string_freq(kw.lstrip(WORD))
        find = _LOOKUP_COST + min(1.0, freq * _NOTE_CHARS) * _FIND_COST if kw[0] == WORD else _FIND_COST
        total += (_TRY_CALL + _TRY_POS * window) * freq + find
    return total


def _shortened(candidate: dict[str, int]) -> dict[str, int]:
    """Return ``candidate`` with keywords cut to the prefix length that costs least.

    A keyword's prefix occurs wherever the keyword does, so any cut stays a valid anchor; fewer,
    shorter keywords mean fewer ``find`` passes but more windows to try.
    """
    best, best_cost = candidate, _cost(candidate)
    for n in range(2, max(map(len, candidate)) + 1):
        cut: dict[str, int] = {}
        for kw, off in candidate.items():
            key = kw if kw[0] == DIGITS else kw[: n + 1] if kw[0] == WORD else kw[:n]
            cut[key] = _combine(cut.get(key, off), off)
        merged = _fold(cut)
        if merged is None:
            continue
        cost = _cost(merged)
        if cost < best_cost:
            best, best_cost = merged, cost
    return best


def _cheapest(candidates: Sequence[dict[str, int]]) -> dict[str, int] | None:
    """Return the candidate of lowest estimated cost (keywords shortened), or None."""
    return min((_shortened(c) for c in candidates), key=_cost) if candidates else None


def _has_backreference(items: Any, c: Any) -> bool:
    """Return True when a parsed pattern refers back to a group (``\\1``, ``(?P=name)``, ``(?(1)…)``)."""
    for op, av in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS):
            return True
        children: list[Any] = []
        if op is c.SUBPATTERN:
            children = [av[3]]
        elif op is c.BRANCH:
            children = list(av[1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            children = [av[2]]
        elif op in (c.ASSERT, c.ASSERT_NOT):
            children = [av[1]]
        elif op is getattr(c, "ATOMIC_GROUP", None):
            children = [av]
        if any(_has_backreference(child, c) for child in children):
            return True
    return False


def find_anchor(pattern: str, flags: int) -> Anchor | None:
    """Return the cheapest keyword anchor of ``pattern`` (case-sensitive, as compiled), or None.

    None when ``pattern`` may match the empty string, uses ``IGNORECASE``/``VERBOSE`` flags or
    unknown constructs, or when no anchor is estimated much cheaper than scanning the note.
    """
    if flags & (re.IGNORECASE | re.VERBOSE):
        return None
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser  # type: ignore[attr-defined]

        tree = _parser.parse(pattern, flags)
        if tree.getwidth()[0] == 0 or "_all" in re.compile(pattern, flags).groupindex:
            return None
        if _has_backreference(tree, c):  # wrapping in group ``_all`` would renumber groups
            return None
        best = _cheapest(_Tree(c).candidates(tree, (0, True, True), False))
        if best is None or _cost(best) >= _MAX_COST:
            return None
        windows = Windows(pattern, flags)
        windows[0]  # the wrapping must compile (e.g. no global inline flags): checked once here
    except Exception:  # private API changed: scan the whole note instead
        return None
    return Anchor.build(best, windows, _cost(best))


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------


_BLANK_RUNS = re.compile(r"[ \t]{2,}")
_WORDS = re.compile(r"\w+")
_FIRST_TWO = itemgetter(slice(0, 2))
_DIGIT_RUNS = re.compile(r"\d{2,}")
_LEAD = re.compile(r"\w+")


class NoteIndex:
    """Per-note lookups shared by every anchored regex: keyword offsets, words, digit and blank runs.

    ``subject`` is the text the regexes run over (the note or its lower-cased form).
    """

    __slots__ = (
        "_digits", "_heads", "_hits", "_lower", "_run_ends", "_run_starts", "_set", "_words",
        "lowered", "subject",
    )

    def __init__(self, subject: str, lower: NoteIndex | None = None, *, lowered: bool = False) -> None:
        """Index ``subject`` lazily.

        ``lower``: the index of ``subject.lower()`` when it has the same length; word and digit
        look-ups then go through it (built once). ``lowered``: ``subject`` is already lower-case.
        """
        self.subject = subject
        self.lowered = lowered
        self._lower = lower
        self._hits: dict[str, list[int]] = {}
        self._run_starts: list[int] | None = None
        self._run_ends: list[int] = []
        self._words: list[str] | None = None
        self._set: frozenset[str] = frozenset()
        self._heads: frozenset[str] = frozenset()
        self._digits: list[tuple[int, int]] | None = None

    def digit_runs(self) -> list[tuple[int, int]]:
        """Return the ``(start, end)`` of every run of at least two digits."""
        if self._lower is not None:  # same digits at the same offsets
            return self._lower.digit_runs()
        runs = self._digits
        if runs is None:
            runs = self._digits = [m.span() for m in _DIGIT_RUNS.finditer(self.subject)]
        return runs

    def _word_index(self) -> tuple[list[str], frozenset[str], frozenset[str]]:
        """Return the note's lower-cased words sorted, as a set, and their first two characters."""
        if self._lower is not None:
            return self._lower._word_index()
        if self._words is None:
            found = set(_WORDS.findall(self.subject))
            if not self.lowered:
                found = {w.lower() for w in found}
            self._words = sorted(found)
            self._set = frozenset(found)
            self._heads = frozenset(map(_FIRST_TWO, found))
        return self._words, self._set, self._heads

    def word_set(self) -> frozenset[str]:
        """Return the set of the note's words (runs of ``\\w``, lower-cased), computed once."""
        return self._word_index()[1]

    def word_hits(self, anchor: Anchor) -> list[tuple[str, int]]:
        """Return (keyword, bound) of ``anchor``'s word keywords that some word of the note may start."""
        words, found, heads = self._word_index()
        out: list[tuple[str, int]] = []
        for key in anchor.word_keys & heads:
            for text, head, whole, off in anchor.word_table[key]:
                if whole:
                    if head in found:
                        out.append((text, off))
                    continue
                i = bisect_left(words, head)
                if i < len(words) and words[i].startswith(head):
                    out.append((text, off))
        return out

    def positions(self, keyword: str) -> list[int]:
        """Return every start offset of ``keyword`` (overlapping occurrences too), cached."""
        hits = self._hits.get(keyword)
        if hits is None:
            hits = []
            find = self.subject.find
            i = find(keyword)
            while i >= 0:
                hits.append(i)
                i = find(keyword, i + 1)
            self._hits[keyword] = hits
        return hits

    def back(self, k: int, n: int) -> int:
        """Return the least start ``s`` with at most ``n`` compressed characters in ``subject[s:k]``.

        A run of spaces/tabs counts as one character (see :meth:`_Tree.width`).
        """
        if self._run_starts is None:
            self._run_starts, self._run_ends = [], []
            for m in _BLANK_RUNS.finditer(self.subject):
                self._run_starts.append(m.start())
                self._run_ends.append(m.end())
        starts, ends = self._run_starts, self._run_ends
        j = bisect_left(starts, k) - 1  # last run starting before k
        s = k
        while n > 0 and s > 0:
            if j >= 0 and ends[j] >= s:  # s - 1 lies in run j: the rest of it counts as one
                s = starts[j]
                n -= 1
                j -= 1
                continue
            floor = ends[j] if j >= 0 else 0
            step = n if n < s - floor else s - floor
            s -= step
            n -= step
        return s


def _token_start(rfind: Callable[[str, int, int], int], k: int) -> int:
    """Return the offset after the last space, tab or newline before ``k`` (0 when none)."""
    return max(rfind(" ", 0, k), rfind("\t", 0, k), rfind("\n", 0, k)) + 1


def _windows(anchor: Anchor, index: NoteIndex) -> list[list[int]]:
    """Return the sorted, merged ``[lo, hi]`` ranges where a match of ``anchor``'s regex may start."""
    spans: list[tuple[int, int]] = []
    subject = index.subject
    rfind = subject.rfind
    back = index.back
    keywords = anchor.plain
    if anchor.word_keys:
        keywords = (*keywords, *index.word_hits(anchor))
    for kw, off in keywords:
        hits = index.positions(kw)
        if not hits:
            continue
        if off == 0:
            spans.extend((k, k) for k in hits)
        elif off == TOKEN:
            spans.extend((_token_start(rfind, k), k) for k in hits)
        elif off >= LINE:
            spans.extend((rfind("\n", 0, k) + 1, k) for k in hits)
        else:
            spans.extend((back(k, off), k) for k in hits)
    for n, off in anchor.digits:
        runs = [(a, b - n) for a, b in index.digit_runs() if b - a >= n]
        if off == 0:
            spans.extend(runs)
        elif off == TOKEN:
            spans.extend((_token_start(rfind, a), h) for a, h in runs)
        elif off >= LINE:
            spans.extend((rfind("\n", 0, a) + 1, h) for a, h in runs)
        else:
            spans.extend((back(a, off), h) for a, h in runs)
    if not spans:
        return []
    spans.sort()
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return merged


def anchored_finditer(anchor: Anchor, index: NoteIndex) -> list[re.Match[str]]:
    """Return the matches ``finditer`` would give over ``index.subject``, searching only where one can start.

    Each returned match holds the regex's match in group ``_all`` (its groups keep their names).
    """
    subject = index.subject
    out: list[re.Match[str]] = []
    ranges = _windows(anchor, index)
    if not ranges:
        return out
    windows = anchor.windows
    pos = 0
    known: re.Match[str] | None = None  # leftmost match at or after some earlier query point
    for lo, hi in ranges:
        q = lo if lo > pos else pos
        while q <= hi:
            if known is not None and q <= known.start("_all"):
                m = known
            else:
                size = hi - q
                i = 0
                while i < 4 and _SPANS[i] < size:
                    i += 1
                found = windows[i].match(subject, q)
                if found is None:
                    q += _SPANS[i] + 1
                    continue
                m = known = found
            start = m.start("_all")
            if start > hi:
                break
            out.append(m)
            known = None
            pos = q = m.end()
    return out
