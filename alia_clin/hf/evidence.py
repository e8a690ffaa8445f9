"""Heart-failure evidence extraction from a processed ``Doc``, negation-aware.

Reads ``doc.text``, ``doc._.measurements`` (``alia_measurements``), ``doc.spans["sections"]``
(``alia_sections``, optional), ``doc.ents`` with ``span._.assertion`` when an entity stage ran,
and the optional structured context ``doc._.hf_context``. Returns :class:`Evidence` items; writes
nothing to the doc (the ``alia_hf_risk`` stage does).

Sources of evidence, in order of precedence (a later item overlapping an earlier one is
dropped):

1. measurements: NT-proBNP / BNP against the ESC thresholds, LVEF value or qualitative category,
   heart rate > 120/min (tachycardia), BMI ≥ 30 (obesity);
2. explicit HF diagnosis mentions (:mod:`alia_clin.hf.masking`), unless ``include_diagnosis``
   is False (they may overlap other items: "IC con FEVI reducida" is also an LVEF category);
3. the text patterns of :mod:`alia_clin.hf.criteria`;
4. ``doc.ents`` whose text is a terminology term of a criterion's concept (their own assertion
   is kept when ``alia_context`` set one);
5. age (first "<n> años/anys/anos/urte" in the note);
6. structured context (``doc._.hf_context``): age, sex and LOINC-coded observations; these
   items have ``source="context"`` and no offsets.

Assertions: every text item is asserted with the ConText algorithm of
:mod:`alia_clin.context` (the same lexicons as ``alia_context``) over its word range, with the
section-implied values of ``alia_context`` (family history → family, past history →
historical). Measured values are ``present``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import regex
from spacy.tokens import Doc

from ..clinical.terminology import Terminology
from ..context.algorithm import assert_entities
from ..context.lexicon import ContextLexicon
from ..context.sentences import doc_words, split_sentences
from . import criteria as C
from .masking import find_hf_mentions

#: Assertions that let an item count as evidence for the patient (weight 1).
POSITIVE_ASSERTIONS = frozenset({"present", "historical"})
#: Assertions that count half (the clinician was unsure).
HALF_ASSERTIONS = frozenset({"uncertain"})
#: Default section → assertion mapping (the ``alia_context`` default).
SECTION_ASSERTIONS = {"family_history": "family", "past_history": "historical"}

_AGE = regex.compile(
    r"(?<!\d)(\d{1,3})\s*(?:años|anys|anos|urte(?:ko|kin|koa)?)(?!\w)|(?:edad|edat|adina)\s*(?:de|:)?\s*(\d{1,3})(?!\d)",
    regex.IGNORECASE,
)
#: An age said of the patient: "Varón de 74 años", "paciente mujer de 81 años", "dona de 67
#: anys" (before the number), "74 años de edad", "74 urteko gizona" (from the number on).
_PATIENT_BEFORE = regex.compile(
    r"(?:var[oó]n|mujer|hombre|paciente|ni[ñn][oa]|chic[oa]|se[ñn]ora?|ancian[oa]|gestante|lactante|joven"
    r"|adolescente|home|dona|noi|noia|nen|nena|pacient|muller|rapaz|rapaza|neno)"
    r"(?:\s+[^\W\d]+){0,3}?\s+de\s+$",
    regex.IGNORECASE,
)
_PATIENT_FROM = regex.compile(
    r"\d{1,3}\s*(?:años|anys|anos)\s+(?:de\s+edad|d['’]edat|de\s+idade)"
    r"|\d{1,3}\s*urteko\s+(?:gizon|emakume|paziente|haur|neska|mutil)",
    regex.IGNORECASE,
)
#: Words just before a number of years that make it a duration or the age at an event, not
#: the patient's age: "desde hace 10 años", "a los 40 años", "durante 3 años".
_DURATION_BEFORE = regex.compile(
    r"(?<!\w)(?:hace|fa|durante|durant|[uú]ltimos|darrers|cada|tras|despu[eé]s\s+de|a\s+los|als|aos|a|con|en"
    r"|hasta)\s+(?:[<>≤≥~]\s*)?(?:(?:unos|uns|casi|m[aá]s\s+de|menos\s+de|aproximadamente)\s+)?$",
    regex.IGNORECASE,
)
#: Words just after one: "15 años de evolución", "5 años antes", "10 anys d'evolució".
_DURATION_AFTER = regex.compile(
    r"\s*(?:de\s+(?:evoluci[oó]n|duraci[oó]n|seguimiento|antig[uü]edad|tratamiento|diagn[oó]stico)"
    r"|d['’]evoluci[oó]|antes|despu[eé]s|atr[aá]s|m[aá]s\s+tarde|previos|abans|despr[eé]s)(?!\w)",
    regex.IGNORECASE,
)
_DOSE = regex.compile(r"[^\d\n.;]{0,15}?(\d+(?:[.,]\d+)?)\s*mg(?!\w)", regex.IGNORECASE)
_LOINC_KIND = {
    "33762-6": "NT_PROBNP",
    "30934-4": "BNP",
    "10230-1": "LVEF",
    "8806-2": "LVEF",
    "18043-0": "LVEF",
    "8867-4": "HR",
    "39156-5": "BMI",
    "30525-0": "AGE",
}


@dataclass
class Evidence:
    """One evidence item. Offsets index ``doc.text`` (None for structured-context items)."""

    criterion: str
    group: str
    start: int | None
    end: int | None
    assertion: str = "present"
    value: float | None = None
    unit: str | None = None
    concept_id: str | None = None
    source: str = "text"  # text | measurement | entity | context
    loinc: str | None = None  # LOINC code of the measured value (measurement/context items)

    @property
    def weight(self) -> float:
        """How much the item counts: 1 present/historical, 0.5 uncertain, 0 otherwise."""
        if self.assertion in POSITIVE_ASSERTIONS:
            return 1.0
        if self.assertion in HALF_ASSERTIONS:
            return 0.5
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-able dict."""
        return asdict(self)


def _overlaps(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def _lvef_criterion(value: float | None, qualitative: str | None) -> str | None:
    if value is not None:
        if value <= C.LVEF_REDUCED_MAX:
            return "lvef_reduced"
        if value < C.LVEF_PRESERVED_MIN:
            return "lvef_mildly_reduced"
        return "lvef_preserved"
    if qualitative in ("severely_reduced", "moderately_reduced", "reduced"):
        return "lvef_reduced"
    if qualitative == "mildly_reduced":
        return "lvef_mildly_reduced"
    if qualitative == "preserved":
        return "lvef_preserved"
    return None


def _from_measurement(kind: str, value: float | None, qualitative: str | None) -> str | None:
    """The criterion a measured value supports, or None."""
    if kind == "NT_PROBNP" and value is not None:
        return "nt_probnp_elevated" if value >= C.NT_PROBNP_THRESHOLD else "natriuretic_peptide_normal"
    if kind == "BNP" and value is not None:
        return "bnp_elevated" if value >= C.BNP_THRESHOLD else "natriuretic_peptide_normal"
    if kind == "LVEF":
        return _lvef_criterion(value, qualitative)
    if kind == "HR" and value is not None and value > C.TACHYCARDIA_MIN:
        return "tachycardia"
    if kind == "BMI" and value is not None and value >= C.OBESITY_BMI_MIN:
        return "obesity"
    return None


def _measurement_items(doc: Doc) -> list[Evidence]:
    items = []
    for m in doc._.measurements or []:
        kind = m.get("kind")
        value = m.get("value")
        if kind == "LVEF" and value is not None and m.get("value_high") is not None:
            value = (float(value) + float(m["value_high"])) / 2
        crit = _from_measurement(str(kind), None if value is None else float(value), m.get("qualitative"))
        if crit is None:
            continue
        items.append(
            Evidence(
                crit,
                C.BY_ID[crit].group,
                int(m["start"]),
                int(m["end"]),
                value=None if value is None else float(value),
                unit=m.get("unit_ucum"),
                concept_id=None,
                source="measurement",
                loinc=m.get("loinc"),
            )
        )
    return items


def _text_items(text: str, include_diagnosis: bool, taken: list[tuple[int, int]]) -> list[Evidence]:
    cands: list[tuple[int, int, str, str | None]] = []
    items: list[Evidence] = []
    if include_diagnosis:
        # Diagnosis mentions neither block nor are blocked by other evidence ("IC con FEVI
        # reducida" is both a diagnosis and an LVEF category).
        for m in find_hf_mentions(text):
            found = Terminology.load().lookup(text[m.start : m.end], "disorder", fuzzy=False, limit=1)
            hf_cid = found[0].concept_id if found and found[0].concept_id.startswith("HF") else "HF"
            items.append(Evidence("hf_diagnosis", "diagnosis", m.start, m.end, concept_id=hf_cid))
    for cc in C.compiled_criteria():
        for pattern, cid in cc.patterns:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    cands.append((m.start(), m.end(), cc.criterion.id, cid))
    # Longest first, then earliest.
    cands.sort(key=lambda c: (-(c[1] - c[0]), c[0], c[2]))
    for start, end, crit, cid in cands:
        if _overlaps((start, end), taken):
            continue
        taken.append((start, end))
        value: float | None = None
        unit: str | None = None
        if C.BY_ID[crit].group == "medication":
            dose = _DOSE.match(text, end, min(len(text), end + 40))
            if dose is not None:
                value, unit = float(dose.group(1).replace(",", ".")), "mg"
        items.append(Evidence(crit, C.BY_ID[crit].group, start, end, value=value, unit=unit, concept_id=cid))
    items.sort(key=lambda e: (e.start or 0, e.end or 0))
    return items


def _concept_criteria() -> dict[str, str]:
    out: dict[str, str] = {}
    for crit in C.CRITERIA:
        for cid in crit.concepts:
            out.setdefault(cid, crit.id)
    return out


def _entity_items(doc: Doc, taken: list[tuple[int, int]], include_diagnosis: bool) -> list[Evidence]:
    by_concept = _concept_criteria()
    terms = Terminology.load()
    items = []
    for ent in doc.ents:
        span = (ent.start_char, ent.end_char)
        if _overlaps(span, taken):
            continue
        found = terms.lookup(ent.text, fuzzy=False, limit=1)
        if not found or found[0].concept_id not in by_concept:
            continue
        crit = by_concept[found[0].concept_id]
        if crit in C.DERIVED or (crit == "hf_diagnosis" and not include_diagnosis):
            continue
        taken.append(span)
        assertion = getattr(ent._, "assertion", None) if ent.has_extension("assertion") else None
        items.append(
            Evidence(
                crit,
                C.BY_ID[crit].group,
                span[0],
                span[1],
                assertion=assertion or "present",
                concept_id=found[0].concept_id,
                source="entity",
            )
        )
    return items


def _age_item(text: str, taken: list[tuple[int, int]]) -> Evidence | None:
    """The patient's age from the first 600 characters: an age said of the patient ("Edad: 74",
    "Varón de 74 años") first, else the first number of years that is not a duration ("HTA de 15 años de
    evolución", "desde hace 10 años") or the age at an event ("a los 40 años")."""
    end = min(len(text), 600)
    first: Evidence | None = None
    for m in _AGE.finditer(text, 0, end):
        age = float(m.group(1) or m.group(2))
        if not 0 < age < 120 or _overlaps((m.start(), m.end()), taken):
            continue
        item = Evidence("age", "risk_factor", m.start(), m.end(), value=age, unit="a", source="text")
        head = text[max(0, m.start() - 40) : m.start()]
        if m.group(2) or _PATIENT_BEFORE.search(head) or _PATIENT_FROM.match(text, m.start(), end):
            return item
        duration = _DURATION_BEFORE.search(head) or _DURATION_AFTER.match(text, m.end(), end)
        if first is None and not duration:
            first = item
    return first


def assert_char_spans(
    doc: Doc,
    spans: Sequence[tuple[int, int]],
    lexicon: ContextLexicon,
    *,
    max_scope: int = 5,
    section_assertions: Mapping[str, str] | None = None,
    sections_key: str = "sections",
) -> list[str]:
    """ConText assertions for character spans of ``doc`` (one per span, in order).

    Uses :func:`alia_clin.context.algorithm.assert_entities` exactly as ``alia_context`` does
    for entities, with section-implied values when ``doc.spans[sections_key]`` exists.
    """
    if not spans:
        return []
    words = doc_words(doc)
    ends = [w.end for w in words]
    starts = [w.start for w in words]
    ranges: list[tuple[int, int]] = []
    for s, e in spans:
        lo = bisect.bisect_right(ends, s)  # first word ending after s
        hi = bisect.bisect_left(starts, e)  # words starting before e
        ranges.append((lo, hi) if lo < hi else (0, 0))
    mapping = SECTION_ASSERTIONS if section_assertions is None else section_assertions
    implied: list[str | None] = [None] * len(spans)
    if doc.spans.get(sections_key):
        for n, (s, _e) in enumerate(spans):
            for section in doc.spans[sections_key]:
                if section.start_char <= s < section.end_char:
                    implied[n] = mapping.get(section.label_)
                    break
    return assert_entities(
        lexicon, words, split_sentences(doc.text, words), ranges, max_scope=max_scope, implied=implied
    )


def _context_items(context: Mapping[str, Any]) -> list[Evidence]:
    """Evidence from structured context: ``age``, ``sex`` and ``observations``."""
    items: list[Evidence] = []
    age = context.get("age")
    if isinstance(age, (int, float)) and not math.isnan(float(age)):
        items.append(Evidence("age", "risk_factor", None, None, value=float(age), unit="a", source="context"))
    sex = str(context.get("sex") or "").lower()
    if sex in ("male", "m", "hombre", "varon", "varón"):
        items.append(Evidence("male_sex", "risk_factor", None, None, source="context"))
    for obs in context.get("observations") or []:
        kind = _LOINC_KIND.get(str(obs.get("code", "")))
        value = obs.get("value")
        if kind is None or not isinstance(value, (int, float)):
            continue
        if kind == "AGE":
            items.append(
                Evidence("age", "risk_factor", None, None, value=float(value), unit="a", source="context")
            )
            continue
        crit = _from_measurement(kind, float(value), None)
        if crit is not None:
            items.append(
                Evidence(
                    crit,
                    C.BY_ID[crit].group,
                    None,
                    None,
                    value=float(value),
                    unit=obs.get("unit"),
                    source="context",
                    loinc=str(obs.get("code")),
                )
            )
    return items


def extract_evidence(
    doc: Doc,
    lexicon: ContextLexicon,
    *,
    include_diagnosis: bool = True,
    context: Mapping[str, Any] | None = None,
    max_scope: int = 5,
) -> list[Evidence]:
    """Every evidence item of ``doc`` (see the module docstring), ordered by offset.

    ``context`` defaults to ``doc._.hf_context`` when that extension is set.
    """
    text = doc.text
    taken: list[tuple[int, int]] = []
    measured = _measurement_items(doc)
    taken.extend((e.start, e.end) for e in measured if e.start is not None and e.end is not None)
    textual = _text_items(text, include_diagnosis, taken)
    textual.extend(_entity_items(doc, taken, include_diagnosis))
    assertions = assert_char_spans(
        doc, [(e.start or 0, e.end or 0) for e in textual], lexicon, max_scope=max_scope
    )
    for item, assertion in zip(textual, assertions, strict=True):
        if item.source != "entity" or item.assertion == "present":
            item.assertion = assertion
    items = measured + textual
    if context is None and Doc.has_extension("hf_context"):
        context = doc._.hf_context
    ctx_items = _context_items(context) if context else []
    if not any(e.criterion == "age" for e in ctx_items):
        age = _age_item(text, taken)
        if age is not None:
            items.append(age)
    items.extend(ctx_items)
    items.sort(key=lambda e: (e.start if e.start is not None else len(text) + 1, e.criterion))
    return items
