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


def phi_ranges(doc: Doc, *, propagate: bool) -> list[tuple[int, int, str]]:
    """Detected PHI spans of ``doc``, plus (``propagate``) other occurrences of their strings."""
    spans = [(s.start_char, s.end_char, s.label_) for s in doc.spans.get(PHI_KEY, [])]
    if not propagate or not spans:
        return spans
    extra: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for start, end, label in spans:
        value = doc.text[start:end].strip()
        key = value.casefold()
        if len(value) < MIN_PROPAGATE_CHARS or key in seen:
            continue
        seen.add(key)
        pattern = regex.compile(r"(?<!\w)" + regex.escape(value) + r"(?!\w)", regex.IGNORECASE)
        extra.extend((m.start(), m.end(), label) for m in pattern.finditer(doc.text))
        if "NOMBRE" in label:
            for part in regex.findall(r"\w+", value):
                if len(part) >= MIN_PROPAGATE_CHARS and part[0].isupper() and part not in seen:
                    seen.add(part)
                    word = regex.compile(r"(?<!\w)" + regex.escape(part) + r"(?!\w)")
                    extra.extend((m.start(), m.end(), label) for m in word.finditer(doc.text))
    return spans + extra


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
    spans = merge_overlaps(phi_ranges(doc, propagate=policy.propagate_phi))
    language = doc._.language if doc._.language in _LANGUAGES else "es"
    result = anonymize(
        doc.text,
        spans,
        policy.operator,
        secret=policy.secret,
        patient_key=doc._.patient_id,
        language=language,
    )
    return DeidNote(result.text, result.offset_map, tuple((s, e) for s, e, _ in spans))
