"""The de-identified note text that FHIR resources point into.

Reads ``doc.text``, ``doc.spans["phi"]``, ``doc._.patient_id`` and ``doc._.language``; writes
nothing to the Doc. Returns a :class:`DeidNote`: the de-identified text, the offset map from
original to de-identified offsets, and the original-text PHI ranges (detected spans plus, with
``propagate_phi``, every other whole-word occurrence of a detected PHI string).
"""

from __future__ import annotations

from dataclasses import dataclass

import regex
from spacy.tokens import Doc

from ..deid.anonymize import anonymize
from ..deid.offsets import OffsetMap
from .policy import FhirPolicy

PHI_KEY = "phi"
#: PHI strings shorter than this are not propagated (ages like "71", sex "M" would mask numbers).
MIN_PROPAGATE_CHARS = 3
_LANGUAGES = frozenset({"es", "ca", "eu", "gl"})


@dataclass(frozen=True)
class DeidNote:
    """A de-identified note: ``text``, ``offset_map`` (original → new) and ``phi`` ranges."""

    text: str
    offset_map: OffsetMap
    phi: tuple[tuple[int, int], ...]

    def overlaps_phi(self, start: int, end: int) -> bool:
        """Whether original range ``[start, end)`` overlaps any PHI range."""
        return any(s < end and start < e for s, e in self.phi)

    def to_new(self, start: int, end: int) -> tuple[int, int]:
        """Map an original range to the de-identified text."""
        return self.offset_map.to_new(start, end)


def _occurrences(text: str, labels: dict[str, str], *, ignore_case: bool) -> list[tuple[int, int, str]]:
    """Whole-word occurrences in ``text`` of the keys of ``labels`` (one alternation, longest first)."""
    if not labels:
        return []
    alternation = "|".join(regex.escape(v) for v in sorted(labels, key=lambda v: (-len(v), v)))
    flags = regex.IGNORECASE if ignore_case else 0
    pattern = regex.compile(r"(?<!\w)(?:" + alternation + r")(?!\w)", flags)
    found = []
    for m in pattern.finditer(text):
        key = m.group().casefold() if ignore_case else m.group()
        found.append((m.start(), m.end(), labels.get(key, "PHI")))
    return found


def phi_ranges(doc: Doc, *, propagate: bool, text: str | None = None) -> list[tuple[int, int, str]]:
    """Detected PHI spans of ``doc``, plus (``propagate``) other occurrences of their strings.

    ``text``: ``doc.text`` when the caller already has it (spaCy rebuilds it on every access).
    """
    spans = [(s.start_char, s.end_char, s.label_) for s in doc.spans.get(PHI_KEY, [])]
    if not propagate or not spans:
        return spans
    text = doc.text if text is None else text
    values: dict[str, str] = {}  # casefolded PHI string → label
    parts: dict[str, str] = {}  # capitalized name part → label
    for start, end, label in spans:
        value = text[start:end].strip()
        if len(value) >= MIN_PROPAGATE_CHARS:
            values.setdefault(value.casefold(), label)
        if "NOMBRE" in label:
            for part in regex.findall(r"\w+", value):
                if len(part) >= MIN_PROPAGATE_CHARS and part[0].isupper():
                    parts.setdefault(part, label)
    return spans + _occurrences(text, values, ignore_case=True) + _occurrences(text, parts, ignore_case=False)


def merge_overlaps(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Merge overlapping ranges into their union (label of the longest part), sorted by start.

    Unlike dropping the shorter of two overlapping spans, the union never leaves part of a
    detected PHI span in clear.
    """
    merged: list[tuple[int, int, str, int]] = []
    for start, end, label in sorted(spans):
        if merged and start < merged[-1][1]:
            s0, e0, l0, n0 = merged[-1]
            best = (label, end - start) if end - start > n0 else (l0, n0)
            merged[-1] = (s0, max(e0, end), best[0], best[1])
        else:
            merged.append((start, end, label, end - start))
    return [(s, e, label) for s, e, label, _ in merged]


def deidentify_for_fhir(doc: Doc, policy: FhirPolicy) -> DeidNote:
    """De-identify ``doc`` under ``policy`` (operator, secret, propagation)."""
    text = doc.text
    spans = merge_overlaps(phi_ranges(doc, propagate=policy.propagate_phi, text=text))
    language = doc._.language if doc._.language in _LANGUAGES else "es"
    result = anonymize(
        text,
        spans,
        policy.operator,
        secret=policy.secret,
        patient_key=doc._.patient_id,
        language=language,
    )
    return DeidNote(result.text, result.offset_map, tuple((s, e) for s, e, _ in spans))
