"""Offset mapping between an original note and its de-identified text.

De-identification never rewrites ``doc.text``: the anonymized text is computed from the PHI
spans, and an :class:`OffsetMap` translates character offsets between the two texts so that
entities found on one side can be shown or exported on the other.

The map is built from the list of replacements ``(orig_start, orig_end, new_start, new_end)``
(sorted, non-overlapping, each replacing a non-empty original span; the replacement text may be
empty, e.g. for ``redact``). Every lookup is a binary search (``bisect``), O(log n).

Mapping rules (both directions):

* an offset outside every replaced span moves by the cumulative length change of the
  replacements before it, so text outside PHI maps exactly;
* a span that starts or ends inside a replaced span is widened to cover that whole
  replacement: a span fully inside a PHI span maps to the whole replacement;
* when the replacement text is empty (redaction), a span that touches the removed text on the
  de-identified side maps to original offsets that exclude the removed PHI.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import AliaClinValueError, ErrorCode

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class _Columns:
    """Column arrays of the replacements plus the cumulative length change after each one."""

    orig_starts: tuple[int, ...]
    orig_ends: tuple[int, ...]
    new_starts: tuple[int, ...]
    new_ends: tuple[int, ...]
    delta_after: tuple[int, ...]


def _build_columns(replacements: Iterable[tuple[int, int, int, int]], orig_length: int) -> _Columns:
    """Validate the replacements and return them as columns.

    Reads 4-tuples of ints; raises ``E050`` when one is malformed, unsorted, overlapping, out of
    ``[0, orig_length]`` or inconsistent with the length changes of the ones before it.
    """
    cols: tuple[list[int], list[int], list[int], list[int], list[int]] = ([], [], [], [], [])
    delta = 0
    prev_end = 0
    for index, rep in enumerate(replacements):
        if len(rep) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in rep):
            raise AliaClinValueError(ErrorCode.E050, index=index, reason="is not four integers")
        o_start, o_end, n_start, n_end = rep
        if not prev_end <= o_start < o_end <= orig_length:
            raise AliaClinValueError(
                ErrorCode.E050, index=index, reason="is empty, unsorted, overlapping or out of range"
            )
        if n_start != o_start + delta or n_end < n_start:
            raise AliaClinValueError(
                ErrorCode.E050, index=index, reason="has new offsets inconsistent with the previous ones"
            )
        delta += (n_end - n_start) - (o_end - o_start)
        for col, value in zip(cols, (o_start, o_end, n_start, n_end, delta), strict=True):
            col.append(value)
        prev_end = o_end
    return _Columns(*(tuple(c) for c in cols))


class OffsetMap:
    """Two-way character offset map between an original text and its de-identified version.

    Build it with the replacements ``(orig_start, orig_end, new_start, new_end)`` and the
    length of the original text. Instances are immutable.
    """

    __slots__ = ("_cols", "_new_length", "_orig_length")

    def __init__(self, replacements: Iterable[tuple[int, int, int, int]], orig_length: int) -> None:
        """Read the replacements and the original text length; raise ``E050`` if they are invalid."""
        if isinstance(orig_length, bool) or not isinstance(orig_length, int) or orig_length < 0:
            raise AliaClinValueError(ErrorCode.E050, index=-1, reason="has a negative or non-integer length")
        self._cols = _build_columns(replacements, orig_length)
        self._orig_length = orig_length
        self._new_length = orig_length + (self._cols.delta_after[-1] if self._cols.delta_after else 0)

    @property
    def orig_length(self) -> int:
        """Return the length of the original text."""
        return self._orig_length

    @property
    def new_length(self) -> int:
        """Return the length of the de-identified text."""
        return self._new_length

    @property
    def replacements(self) -> list[tuple[int, int, int, int]]:
        """Return the replacements as ``(orig_start, orig_end, new_start, new_end)`` tuples."""
        c = self._cols
        return list(zip(c.orig_starts, c.orig_ends, c.new_starts, c.new_ends, strict=True))

    def __len__(self) -> int:
        """Return the number of replacements."""
        return len(self._cols.orig_starts)

    def __eq__(self, other: object) -> bool:
        """Return True when ``other`` is an OffsetMap with the same replacements and lengths."""
        if not isinstance(other, OffsetMap):
            return NotImplemented
        return self._orig_length == other._orig_length and self._cols == other._cols

    def __hash__(self) -> int:
        """Return a hash consistent with ``__eq__``."""
        return hash((self._orig_length, self._cols))

    def __repr__(self) -> str:
        """Return a short description with lengths and the replacement count (no text)."""
        return (
            f"OffsetMap(replacements={len(self)}, orig_length={self._orig_length}, "
            f"new_length={self._new_length})"
        )

    # -- lookups ---------------------------------------------------------------------------

    def to_new(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the original text to the de-identified text.

        Reads ``0 <= start <= end <= orig_length`` (else ``E003``); returns ``(new_start, new_end)``.
        """
        _check_span(start, end, self._orig_length)
        return self._start_to_new(start), self._end_to_new(end)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the de-identified text back to the original text.

        Reads ``0 <= start <= end <= new_length`` (else ``E003``); returns ``(orig_start, orig_end)``.
        """
        _check_span(start, end, self._new_length)
        o_start, o_end = self._start_to_original(start), self._end_to_original(end)
        return min(o_start, o_end), o_end

    def offset_to_new(self, offset: int) -> int:
        """Map one original offset (a position between characters) to the de-identified text.

        Reads ``0 <= offset <= orig_length`` (else ``E014``); an offset strictly inside a
        replaced span maps to the start of its replacement.
        """
        _check_offset(offset, self._orig_length)
        return self._start_to_new(offset)

    def offset_to_original(self, offset: int) -> int:
        """Map one de-identified offset back to the original text.

        Reads ``0 <= offset <= new_length`` (else ``E014``); an offset strictly inside a
        replacement maps to the start of the original PHI span.
        """
        _check_offset(offset, self._new_length)
        return self._start_to_original(offset)

    def _start_to_new(self, pos: int) -> int:
        """Map a span start: inside a replaced span → its new start, else shift by the deltas before."""
        c = self._cols
        i = bisect_right(c.orig_starts, pos) - 1
        if i < 0:
            return pos
        if pos < c.orig_ends[i]:
            return c.new_starts[i]
        return pos + c.delta_after[i]

    def _end_to_new(self, pos: int) -> int:
        """Map a span end: inside ``(orig_start, orig_end]`` → its new end, else shift."""
        c = self._cols
        i = bisect_left(c.orig_starts, pos) - 1
        if i < 0:
            return pos
        if pos <= c.orig_ends[i]:
            return c.new_ends[i]
        return pos + c.delta_after[i]

    def _start_to_original(self, pos: int) -> int:
        """Inverse of :meth:`_start_to_new`; a position at an empty replacement maps after it."""
        c = self._cols
        i = bisect_right(c.new_starts, pos) - 1
        if i < 0:
            return pos
        if pos < c.new_ends[i]:
            return c.orig_starts[i]
        return pos - c.delta_after[i]

    def _end_to_original(self, pos: int) -> int:
        """Inverse of :meth:`_end_to_new`; a position at an empty replacement maps before it."""
        c = self._cols
        i = bisect_left(c.new_starts, pos) - 1
        if i < 0:
            return pos
        if pos <= c.new_ends[i]:
            return c.orig_ends[i]
        return pos - c.delta_after[i]

    # -- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, int | list[int]]:
        """Return a JSON- and msgpack-serializable dict (ints and lists of ints only)."""
        c = self._cols
        return {
            "version": _FORMAT_VERSION,
            "orig_length": self._orig_length,
            "orig_starts": list(c.orig_starts),
            "orig_ends": list(c.orig_ends),
            "new_starts": list(c.new_starts),
            "new_ends": list(c.new_ends),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> OffsetMap:
        """Rebuild a map from :meth:`to_dict` output; raise ``E050`` when the dict is malformed."""
        try:
            columns = [list(data[k]) for k in ("orig_starts", "orig_ends", "new_starts", "new_ends")]  # type: ignore[call-overload]
            orig_length = data["orig_length"]
        except (KeyError, TypeError) as exc:
            raise AliaClinValueError(ErrorCode.E050, index=-1, reason="dict lacks a required key") from exc
        if data.get("version", _FORMAT_VERSION) != _FORMAT_VERSION or not isinstance(orig_length, int):
            raise AliaClinValueError(ErrorCode.E050, index=-1, reason="dict has an unknown version or length")
        if len({len(col) for col in columns}) > 1:
            raise AliaClinValueError(ErrorCode.E050, index=-1, reason="dict has columns of unequal length")
        return cls(zip(*columns, strict=True), orig_length)


def identity_map(length: int) -> OffsetMap:
    """Return the map of a text of ``length`` characters that has no replacements."""
    return OffsetMap((), length)


def _check_span(start: int, end: int, length: int) -> None:
    """Raise ``E003`` unless ``0 <= start <= end <= length`` (all ints)."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end))
    if not ints or not 0 <= start <= end <= length:
        raise AliaClinValueError(ErrorCode.E003, start=start, end=end, length=length)


def _check_offset(offset: int, length: int) -> None:
    """Raise ``E014`` unless ``0 <= offset <= length`` (an int)."""
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= length:
        raise AliaClinValueError(ErrorCode.E014, offset=offset, length=length)
