"""Anonymize a note given its PHI spans: tag, mask, redact or realistic surrogates.

The original text is never mutated: :func:`anonymize` returns a new string together with an
:class:`~alia_clin.deid.offsets.OffsetMap` between the two texts and the list of replacements
(offsets and labels only; the original PHI text is not stored).

Operators
    ``tag``        ``[LABEL]`` (e.g. ``[NOMBRE_SUJETO_ASISTENCIA]``), any label.
    ``mask``       every character replaced by ``mask_char`` except line breaks (``\\n``, ``\\r``),
                   which are kept so the line layout (and CRLF pairs) of the note survives. Spaces
                   and tabs are masked so word boundaries inside a name are not revealed. The text
                   length, hence every offset, is unchanged.
    ``redact``     the span is removed (empty replacement).
    ``surrogate``  a realistic, deterministic value (see :mod:`alia_clin.deid.surrogates`);
                   needs a ``secret`` (``E013``). Labels with no surrogate generator (e.g.
                   ``OTROS_SUJETO_ASISTENCIA`` or unknown labels) fall back to ``tag``. With
                   ``patient_key=None`` an empty key is used: surrogates then stay consistent only
                   between calls with the same secret and no key, so pass a per-patient key (e.g.
                   a hashed patient id) to keep them consistent across a patient's notes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from ..errors import AliaClinValueError, ErrorCode
from .offsets import OffsetMap
from .surrogates import SUPPORTED_LANGUAGES, SurrogateGenerator

OPERATORS: tuple[str, ...] = ("tag", "mask", "redact", "surrogate")
KEPT_BY_MASK = frozenset("\r\n")

Span = tuple[int, int, str]


@dataclass(frozen=True)
class Replacement:
    """One replaced PHI span: original and new offsets (end exclusive) and its label."""

    orig_start: int
    orig_end: int
    new_start: int
    new_end: int
    label: str


@dataclass(frozen=True)
class AnonymizedText:
    """The anonymized text, the offset map to/from the original, and the replacements."""

    text: str
    offset_map: OffsetMap
    replacements: list[Replacement] = field(hash=False)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON/msgpack-serializable dict (text, offset map, replacements as lists)."""
        return {
            "text": self.text,
            "offset_map": self.offset_map.to_dict(),
            "replacements": [
                [r.orig_start, r.orig_end, r.new_start, r.new_end, r.label] for r in self.replacements
            ],
        }


def _check_span_values(span: object, length: int) -> Span:
    """Return ``span`` as an ``(int, int, str)`` tuple; raise E051 (malformed/empty) or E003 (range)."""
    if not isinstance(span, Sequence) or isinstance(span, str) or len(span) != 3:
        raise AliaClinValueError(ErrorCode.E051, start="?", end="?", label="?", reason="not a triple")
    start, end, label = span
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise AliaClinValueError(ErrorCode.E051, start="?", end="?", label="?", reason="offsets are not ints")
    if not isinstance(label, str) or not label:
        raise AliaClinValueError(ErrorCode.E051, start=start, end=end, label="?", reason="label is not a str")
    if not 0 <= start <= end <= length:
        raise AliaClinValueError(ErrorCode.E003, start=start, end=end, length=length)
    if start == end:
        raise AliaClinValueError(ErrorCode.E051, start=start, end=end, label=label, reason="span is empty")
    return start, end, label


def validate_spans(spans: Sequence[Span], length: int) -> list[Span]:
    """Return the spans sorted by offsets after checking them against a text of ``length`` chars.

    Raises ``E051`` for a malformed or empty span, ``E003`` for one out of range and ``E004``
    for two overlapping spans (adjacent spans are fine). Use :func:`resolve_overlaps` first to
    drop overlaps.
    """
    checked = sorted(_check_span_values(span, length) for span in spans)
    for (s1, e1, _), (s2, e2, _) in pairwise(checked):
        if s2 < e1:
            raise AliaClinValueError(ErrorCode.E004, start1=s1, end1=e1, start2=s2, end2=e2)
    return checked


def resolve_overlaps(spans: Sequence[Span]) -> list[Span]:
    """Return non-overlapping spans sorted by start: of overlapping spans the longest wins.

    Ties go to the earlier start, then to the label that sorts first, so the result is
    deterministic. Spans are not range-checked here (:func:`anonymize` does that).
    """
    kept_starts: list[int] = []
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        i = bisect_left(kept_starts, span[0])
        overlaps_next = i < len(kept) and kept[i][0] < span[1]
        overlaps_prev = i > 0 and kept[i - 1][1] > span[0]
        if not (overlaps_next or overlaps_prev):
            kept_starts.insert(i, span[0])
            kept.insert(i, span)
    return kept


def _mask(value: str, mask_char: str) -> str:
    """Return ``value`` with every character but line breaks replaced by ``mask_char``."""
    return "".join(ch if ch in KEPT_BY_MASK else mask_char for ch in value)


def _check_options(operator: str, language: str, mask_char: str, secret: str | bytes | None) -> None:
    """Raise E002 (operator), E005 (language), E052 (mask char) or E013 (missing secret)."""
    if operator not in OPERATORS:
        raise AliaClinValueError(ErrorCode.E002, operator=operator, choices=", ".join(OPERATORS))
    if language not in SUPPORTED_LANGUAGES:
        raise AliaClinValueError(ErrorCode.E005, language=language, choices=", ".join(SUPPORTED_LANGUAGES))
    if operator == "mask" and (not isinstance(mask_char, str) or len(mask_char) != 1 or mask_char.isspace()):
        raise AliaClinValueError(ErrorCode.E052, length=len(mask_char) if isinstance(mask_char, str) else -1)
    if operator == "surrogate" and not secret:
        raise AliaClinValueError(ErrorCode.E013)


def anonymize(
    text: str,
    spans: Sequence[Span],
    operator: str = "tag",
    *,
    secret: str | bytes | None = None,
    patient_key: str | None = None,
    language: str = "es",
    mask_char: str = "*",
) -> AnonymizedText:
    """Return ``text`` with every PHI span replaced according to ``operator``.

    Reads the note text, the PHI spans ``(start, end, label)`` (any order; validated with
    :func:`validate_spans`), the operator (one of :data:`OPERATORS`) and, for ``surrogate``,
    the secret, the patient key and the note language. Returns an :class:`AnonymizedText`.
    """
    _check_options(operator, language, mask_char, secret)
    checked = validate_spans(spans, len(text))
    generator = None
    if operator == "surrogate":
        assert secret is not None  # checked above
        originals = [text[start:end] for start, end, _ in checked]
        generator = SurrogateGenerator(secret, patient_key or "", language, avoid=originals)
    pieces: list[str] = []
    replacements: list[Replacement] = []
    pos = new_pos = 0
    for start, end, label in checked:
        pieces.append(text[pos:start])
        new_pos += start - pos
        new = _replacement_text(operator, text[start:end], label, generator, mask_char)
        pieces.append(new)
        replacements.append(Replacement(start, end, new_pos, new_pos + len(new), label))
        new_pos += len(new)
        pos = end
    pieces.append(text[pos:])
    positions = [(r.orig_start, r.orig_end, r.new_start, r.new_end) for r in replacements]
    offset_map = OffsetMap(positions, len(text))
    return AnonymizedText("".join(pieces), offset_map, replacements)


def _replacement_text(
    operator: str, original: str, label: str, generator: SurrogateGenerator | None, mask_char: str
) -> str:
    """Return the text that replaces ``original`` (annotated ``label``) under ``operator``."""
    if operator == "mask":
        return _mask(original, mask_char)
    if operator == "redact":
        return ""
    if operator == "surrogate" and generator is not None:
        surrogate = generator.surrogate(label, original)
        if surrogate is not None:
            return surrogate
    return f"[{label}]"
