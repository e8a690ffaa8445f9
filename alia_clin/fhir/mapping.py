"""Map the facts of one processed Doc onto FHIR resource dicts (R4 or R5 wire format).

Reads ``doc.ents`` and ``doc.spans["nested_entities"]`` (labels, ``span.kb_id_``,
``span._.codings``, ``span._.assertion``), ``doc._.measurements``, ``doc._.hf_risk``,
``doc._.hf_evidence`` and ``doc._.note_date``; writes nothing. Every extracted resource carries
the ``derivation-reference`` extension (reference to the DocumentReference,
``offset``/``length`` in code points of its de-identified text) and the alia_clin assertion
extension.

Mapping decisions (DESIGN.md, FHIR mapping table):

=============================== ============================================================
ENFERMEDAD / DISEASE             Condition; verificationStatus confirmed (present, historical),
                                 refuted (negated), unconfirmed (uncertain, hypothetical).
                                 clinicalStatus: active when present; for *historical* mentions
                                 ("antecedentes de …") the note does not say whether the
                                 condition is still active, so R5 gets ``unknown`` and R4 (whose
                                 value set has no ``unknown``) leaves clinicalStatus out (allowed
                                 without the problem-list category); refuted and unconfirmed
                                 conditions carry no clinicalStatus in R4 and ``unknown`` in R5
                                 (where it is mandatory). ``evidence`` → the DocumentReference.
SINTOMA / SYMPTOM                Observation (status final), code = SNOMED CT finding,
                                 interpretation POS / NEG (negated) / IND (uncertain,
                                 hypothetical), ``derivedFrom`` → the DocumentReference.
*family* (any label)             FamilyMemberHistory (relationship FAMMEMB: the member is not
                                 extracted), one condition with the entity's codes.
measurement                      Observation: LOINC code, UCUM ``valueQuantity`` (comparator
                                 kept), ``valueRange`` for ranges, components for blood pressure
                                 (each a ``valueRange`` for a range of home readings),
                                 ``valueCodeableConcept`` for qualitative readings; the NYHA
                                 class (LOINC 88020-3, category exam) as a SNOMED CT finding.
FARMACO / MEDICATION             MedicationStatement: ATC. R4 status active / not-taken
                                 (negated) / unknown (uncertain, hypothetical) / completed
                                 (historical); R5 status recorded + adherence
                                 taking / not-taking / unknown / stopped. A nested drug
                                 whose container is a condition or a finding ("alergia a
                                 ibuprofeno") names a substance, not a medication taken:
                                 no resource.
PROCEDIMIENTO / PROCEDURE        Procedure: SNOMED CT; status completed / not-done (negated) /
                                 preparation (hypothetical) / unknown (uncertain);
                                 ``report`` → the DocumentReference.
``doc._.hf_risk``               RiskAssessment: outcome heart failure (SNOMED CT 84114007),
                                 probabilityDecimal, qualitativeRisk (risk-probability
                                 low/moderate/high), method = model name and version, ``basis``
                                 → the resources built from ``doc._.hf_evidence`` (matched by
                                 offsets; an evidence item with no matching resource becomes its
                                 own Observation).
=============================== ============================================================

Entity text goes into ``code.text`` only with ``include_span_text`` and when the entity overlaps
no PHI range; an uncoded entity that overlaps PHI is not emitted (nothing safe to say).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacy.tokens import Doc, Span

from ..entities import container_of, entity_spans, nested_entities
from .ids import (
    ASSERTION_EXTENSION,
    CONDITION_CLINICAL,
    CONDITION_VER,
    DERIVATION_REFERENCE,
    LOINC,
    MED_ADHERENCE,
    OBS_CATEGORY,
    OBS_INTERPRETATION,
    RISK_PROBABILITY,
    SNOMED,
    UCUM,
    V3_ROLE_CODE,
    stable_uuid,
    urn,
)
from .policy import RESOURCE_KEY_SYSTEM, FhirPolicy
from .text import DeidNote

CONDITION_LABELS = frozenset({"ENFERMEDAD", "DISEASE", "MORFOLOGIA_NEOPLASIA"})
SYMPTOM_LABELS = frozenset({"SINTOMA", "SYMPTOM"})
DRUG_LABELS = frozenset({"FARMACO", "MEDICATION"})
PROCEDURE_LABELS = frozenset({"PROCEDIMIENTO", "PROCEDURE"})
HEART_FAILURE = {"system": SNOMED, "code": "84114007", "display": "Heart failure"}
#: Measurement kinds → observation-category code.
VITAL_SIGNS = frozenset(
    {"BP", "SBP", "DBP", "HR", "RESP_RATE", "SPO2", "WEIGHT", "HEIGHT", "BMI", "TEMPERATURE"}
)
IMAGING = frozenset({"LVEF"})
#: Kinds a clinician grades at the examination (category ``exam``).
EXAM = frozenset({"NYHA"})
#: NYHA functional class → SNOMED CT finding ("New York Heart Association Classification - Class I" …).
NYHA_CLASSES = {
    1: ("420300004", "New York Heart Association Classification - Class I"),
    2: ("421704003", "New York Heart Association Classification - Class II"),
    3: ("420913000", "New York Heart Association Classification - Class III"),
    4: ("422293003", "New York Heart Association Classification - Class IV"),
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
#: Readable names of measurement kinds (Observation.code.text).
KIND_NAMES = {
    "LVEF": "Left ventricular ejection fraction",
    "NT_PROBNP": "NT-proBNP",
    "BNP": "BNP",
    "BP": "Blood pressure panel",
    "SBP": "Systolic blood pressure",
    "DBP": "Diastolic blood pressure",
    "HR": "Heart rate",
    "SPO2": "Oxygen saturation (pulse oximetry)",
    "WEIGHT": "Body weight",
    "HEIGHT": "Body height",
    "BMI": "Body mass index",
    "CREATININE": "Creatinine",
    "EGFR": "Glomerular filtration rate (estimated)",
    "SODIUM": "Sodium",
    "POTASSIUM": "Potassium",
    "HEMOGLOBIN": "Hemoglobin",
    "HBA1C": "Hemoglobin A1c",
    "TEMPERATURE": "Body temperature",
    "RESP_RATE": "Respiratory rate",
    "NYHA": "NYHA functional class",
}
_INTERPRETATION = {
    "present": ("POS", "Positive"),
    "historical": ("POS", "Positive"),
    "negated": ("NEG", "Negative"),
    "uncertain": ("IND", "Indeterminate"),
    "hypothetical": ("IND", "Indeterminate"),
}
_RISK_LEVELS = {"low": "Low likelihood", "moderate": "Moderate likelihood", "high": "High likelihood"}


@dataclass
class Context:
    """What every builder needs: version, policy, keys, the de-identified note and references."""

    version: str
    policy: FhirPolicy
    note_key: str
    deid: DeidNote
    patient_ref: str
    document_ref: str
    note_date: str | None


@dataclass
class Built:
    """An emitted resource with the original character range it came from (None: none)."""

    resource: dict[str, Any]
    span: tuple[int, int] | None = None


def _assertion(span: Span) -> str:
    value = span._.assertion if span.has_extension("assertion") else None
    return str(value) if value else "present"


def _codings(span: Span) -> list[dict[str, str]]:
    data = span._.codings if span.has_extension("codings") else None
    if isinstance(data, dict):
        items = data.get("codings") or []
    elif isinstance(data, list):
        items = data
    else:
        items = []
    out = []
    for c in items:
        if isinstance(c, dict) and c.get("system") and c.get("code"):
            coding = {"system": str(c["system"]), "code": str(c["code"])}
            if c.get("display"):
                coding["display"] = str(c["display"])
            out.append(coding)
    if not out and span.kb_id_ and ":" in span.kb_id_:
        prefix, code = span.kb_id_.split(":", 1)
        system = {"snomed": SNOMED, "atc": "http://www.whocc.no/atc", "loinc": LOINC}.get(prefix)
        if system:
            out.append({"system": system, "code": code})
    return out


def _concept(
    ctx: Context, codings: list[dict[str, str]], start: int, end: int, text: str | None
) -> dict | None:
    concept: dict[str, Any] = {}
    if codings:
        concept["coding"] = codings
    if text is not None and ctx.policy.include_span_text and not ctx.deid.overlaps_phi(start, end):
        concept["text"] = text
    return concept or None


def derivation_extension(ctx: Context, start: int, end: int) -> dict[str, Any]:
    """The ``derivation-reference`` extension of an original range (mapped into the deid text)."""
    new_start, new_end = ctx.deid.to_new(start, end)
    return {
        "url": DERIVATION_REFERENCE,
        "extension": [
            {"url": "reference", "valueReference": {"reference": ctx.document_ref}},
            {"url": "path", "valueString": "DocumentReference.content.attachment"},
            {"url": "offset", "valueInteger": new_start},
            {"url": "length", "valueInteger": new_end - new_start},
        ],
    }


def _entity_base(ctx: Context, rtype: str, ent: Span, assertion: str | None) -> dict[str, Any]:
    """:func:`_base` for a resource derived from one entity span (keyed by offsets and label)."""
    key = f"{ent.start_char}:{ent.end_char}:{ent.label_}"
    return _base(ctx, rtype, key, ent.start_char, ent.end_char, assertion)


def _base(ctx: Context, rtype: str, key: str, start: int, end: int, assertion: str | None) -> dict[str, Any]:
    rid = stable_uuid(ctx.note_key, rtype, key)
    ext = [derivation_extension(ctx, start, end)]
    if assertion:
        ext.append({"url": ASSERTION_EXTENSION, "valueCode": assertion})
    return {
        "resourceType": rtype,
        "id": rid,
        "extension": ext,
        "identifier": [{"system": RESOURCE_KEY_SYSTEM, "value": rid}],
    }


def _cc(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


# -- entities ---------------------------------------------------------------------------------
def condition(ctx: Context, ent: Span, assertion: str, concept: dict[str, Any]) -> dict[str, Any]:
    """A Condition for a diagnosis mention (see the module table)."""
    res = _entity_base(ctx, "Condition", ent, assertion)
    ver = {"negated": "refuted", "uncertain": "unconfirmed", "hypothetical": "unconfirmed"}.get(
        assertion, "confirmed"
    )
    if ver == "confirmed" and assertion == "present":
        res["clinicalStatus"] = _cc(CONDITION_CLINICAL, "active", "Active")
    elif ctx.version == "R5":
        res["clinicalStatus"] = _cc(CONDITION_CLINICAL, "unknown", "Unknown")
    res["verificationStatus"] = _cc(CONDITION_VER, ver, ver.capitalize())
    res["code"] = concept
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["recordedDate"] = ctx.note_date
    if ctx.version == "R4":
        res["evidence"] = [{"detail": [{"reference": ctx.document_ref}]}]
    else:
        res["evidence"] = [{"reference": {"reference": ctx.document_ref}}]
    return res


def symptom_observation(ctx: Context, ent: Span, assertion: str, concept: dict[str, Any]) -> dict[str, Any]:
    """An Observation for a symptom mention, negation as interpretation NEG."""
    res = _entity_base(ctx, "Observation", ent, assertion)
    res["status"] = "final"
    res["category"] = [_cc(OBS_CATEGORY, "exam", "Exam")]
    res["code"] = concept
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["effectiveDateTime"] = ctx.note_date
    code, display = _INTERPRETATION.get(assertion, ("POS", "Positive"))
    res["interpretation"] = [_cc(OBS_INTERPRETATION, code, display)]
    res["derivedFrom"] = [{"reference": ctx.document_ref}]
    return res


def family_history(ctx: Context, ent: Span, concept: dict[str, Any]) -> dict[str, Any]:
    """A FamilyMemberHistory for a family mention (the relative is not extracted: FAMMEMB)."""
    res = _entity_base(ctx, "FamilyMemberHistory", ent, "family")
    res["status"] = "partial"
    res["patient"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["date"] = ctx.note_date
    res["relationship"] = _cc(V3_ROLE_CODE, "FAMMEMB", "family member")
    res["condition"] = [{"code": concept}]
    return res


def medication_statement(ctx: Context, ent: Span, assertion: str, concept: dict[str, Any]) -> dict[str, Any]:
    """A MedicationStatement for a drug mention (ATC)."""
    res = _entity_base(ctx, "MedicationStatement", ent, assertion)
    if ctx.version == "R4":
        res["status"] = {
            "negated": "not-taken",
            "uncertain": "unknown",
            "hypothetical": "unknown",
            "historical": "completed",
        }.get(assertion, "active")
        res["medicationCodeableConcept"] = concept
    else:
        res["status"] = "recorded"
        res["medication"] = {"concept": concept}
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["dateAsserted"] = ctx.note_date
    res["derivedFrom"] = [{"reference": ctx.document_ref}]
    if ctx.version == "R5":
        code, display = {
            "negated": ("not-taking", "Not Taking"),
            "uncertain": ("unknown", "Unknown"),
            "hypothetical": ("unknown", "Unknown"),
            "historical": ("stopped", "Stopped"),
        }.get(assertion, ("taking", "Taking"))
        res["adherence"] = {"code": _cc(MED_ADHERENCE, code, display)}
    return res


def procedure(ctx: Context, ent: Span, assertion: str, concept: dict[str, Any]) -> dict[str, Any]:
    """A Procedure for a procedure mention (SNOMED CT)."""
    res = _entity_base(ctx, "Procedure", ent, assertion)
    res["status"] = {"negated": "not-done", "hypothetical": "preparation", "uncertain": "unknown"}.get(
        assertion, "completed"
    )
    res["code"] = concept
    res["subject"] = {"reference": ctx.patient_ref}
    res["report"] = [{"reference": ctx.document_ref}]
    return res


def entity_resources(ctx: Context, doc: Doc) -> list[Built]:
    """One resource per mappable entity of ``doc.ents`` and the nested group (see the module table)."""
    out: list[Built] = []
    nested = {(s.start, s.end, s.label_) for s in nested_entities(doc)}
    for ent in entity_spans(doc):
        label = ent.label_.upper()
        if label not in CONDITION_LABELS | SYMPTOM_LABELS | DRUG_LABELS | PROCEDURE_LABELS:
            continue
        if label in DRUG_LABELS and (ent.start, ent.end, ent.label_) in nested:
            container = container_of(ent, list(doc.ents))
            if container is not None and container.label_.upper() in CONDITION_LABELS | SYMPTOM_LABELS:
                continue
        assertion = _assertion(ent)
        concept = _concept(ctx, _codings(ent), ent.start_char, ent.end_char, ent.text)
        if concept is None:
            continue
        if assertion == "family" and label in CONDITION_LABELS | SYMPTOM_LABELS:
            res = family_history(ctx, ent, concept)
        elif label in CONDITION_LABELS:
            res = condition(ctx, ent, assertion, concept)
        elif label in SYMPTOM_LABELS:
            res = symptom_observation(ctx, ent, assertion, concept)
        elif label in DRUG_LABELS:
            res = medication_statement(ctx, ent, assertion, concept)
        else:
            res = procedure(ctx, ent, assertion, concept)
        out.append(Built(res, (ent.start_char, ent.end_char)))
    return out


# -- measurements -----------------------------------------------------------------------------
def _quantity(value: float, unit: str | None, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if comparator in ("<", "<=", ">=", ">"):
        q["comparator"] = comparator
    if unit:
        q["unit"] = unit
        q["system"] = UCUM
        q["code"] = unit
    return q


def _simple_quantity(value: float, unit: str | None) -> dict[str, Any]:
    return _quantity(value, unit, None)


def _component(c: dict[str, Any]) -> dict[str, Any]:
    """One component (systolic, diastolic): a quantity, or a range of readings."""
    out: dict[str, Any] = {"code": {"coding": [{"system": LOINC, "code": str(c["code"])}]}}
    unit = c.get("unit_ucum")
    if c.get("value_high") is not None:
        out["valueRange"] = {
            "low": _simple_quantity(float(c["value"]), unit),
            "high": _simple_quantity(float(c["value_high"]), unit),
        }
    else:
        out["valueQuantity"] = _quantity(float(c["value"]), unit)
    return out


def _nyha_value(low: int, high: int | None) -> dict[str, Any]:
    """The NYHA class as a SNOMED CT finding; a range ("II-III") as text only (no code says it)."""
    if high is None and low in NYHA_CLASSES:
        code, display = NYHA_CLASSES[low]
        coding = {"system": SNOMED, "code": code, "display": display}
        return {"coding": [coding], "text": f"NYHA {_ROMAN[low]}"}
    top = f"-{_ROMAN.get(high, str(high))}" if high is not None else ""
    return {"text": f"NYHA {_ROMAN.get(low, str(low))}{top}"}


def measurement_observation(ctx: Context, m: dict[str, Any]) -> dict[str, Any] | None:
    """An Observation for one ``doc._.measurements`` item (LOINC + UCUM), None if it has no value."""
    start, end, kind = int(m["start"]), int(m["end"]), str(m.get("kind") or "")
    loinc = m.get("loinc")
    if not loinc:
        return None
    res = _base(ctx, "Observation", f"measurement:{start}:{end}:{kind}", start, end, None)
    category = (
        "vital-signs"
        if kind in VITAL_SIGNS
        else "imaging" if kind in IMAGING else "exam" if kind in EXAM else "laboratory"
    )
    res["status"] = "final"
    res["category"] = [_cc(OBS_CATEGORY, category, category.replace("-", " ").title())]
    res["code"] = {"coding": [{"system": LOINC, "code": str(loinc)}], "text": KIND_NAMES.get(kind, kind)}
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["effectiveDateTime"] = ctx.note_date
    components = m.get("components") or []
    value, high, unit = m.get("value"), m.get("value_high"), m.get("unit_ucum")
    if components:
        res["component"] = [_component(c) for c in components]
    elif kind == "NYHA" and value is not None:
        res["valueCodeableConcept"] = _nyha_value(int(value), int(high) if high is not None else None)
    elif value is not None and high is not None:
        res["valueRange"] = {
            "low": _simple_quantity(float(value), unit),
            "high": _simple_quantity(float(high), unit),
        }
    elif value is not None:
        res["valueQuantity"] = _quantity(float(value), unit, m.get("comparator"))
    elif m.get("qualitative"):
        res["valueCodeableConcept"] = {"text": str(m["qualitative"])}
    else:
        return None
    if m.get("qualitative") and "valueCodeableConcept" not in res:
        res["note"] = [{"text": f"qualitative: {m['qualitative']}"}]
    res["derivedFrom"] = [{"reference": ctx.document_ref}]
    return res


def measurement_resources(ctx: Context, doc: Doc) -> list[Built]:
    """One Observation per usable measurement of ``doc._.measurements``."""
    out = []
    for m in (doc._.measurements if doc.has_extension("measurements") else None) or []:
        res = measurement_observation(ctx, m)
        if res is not None:
            out.append(Built(res, (int(m["start"]), int(m["end"]))))
    return out


# -- heart-failure risk -----------------------------------------------------------------------
def _evidence_observation(ctx: Context, item: dict[str, Any]) -> dict[str, Any]:
    start, end = int(item["start"]), int(item["end"])
    assertion = str(item.get("assertion") or "present")
    res = _base(
        ctx, "Observation", f"hf-evidence:{start}:{end}:{item.get('criterion')}", start, end, assertion
    )
    res["status"] = "final"
    codings = [
        {k: str(c[k]) for k in ("system", "code", "display") if c.get(k)}
        for c in item.get("codings") or []
        if isinstance(c, dict) and c.get("system") and c.get("code")
    ]
    concept: dict[str, Any] = {"text": str(item.get("criterion"))}
    if codings:
        concept["coding"] = codings
    res["code"] = concept
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["effectiveDateTime"] = ctx.note_date
    if item.get("value") is not None:
        res["valueQuantity"] = _quantity(float(item["value"]), item.get("unit"))
    code, display = _INTERPRETATION.get(assertion, ("POS", "Positive"))
    res["interpretation"] = [_cc(OBS_INTERPRETATION, code, display)]
    res["derivedFrom"] = [{"reference": ctx.document_ref}]
    return res


def risk_resources(ctx: Context, doc: Doc, built: list[Built]) -> list[Built]:
    """The RiskAssessment of ``doc._.hf_risk`` plus Observations for unmatched evidence."""
    risk = doc._.hf_risk if doc.has_extension("hf_risk") else None
    if not isinstance(risk, dict) or risk.get("probability") is None:
        return []
    by_span = {b.span: b for b in built if b.span is not None}
    extra: list[Built] = []
    basis: list[str] = []
    for item in (doc._.hf_evidence if doc.has_extension("hf_evidence") else None) or []:
        span = (int(item["start"]), int(item["end"]))
        target = by_span.get(span) or next(
            (b for b in built if b.span and b.span[0] < span[1] and span[0] < b.span[1]), None
        )
        if target is None:
            target = Built(_evidence_observation(ctx, item), span)
            extra.append(target)
            by_span[span] = target
        ref = urn(target.resource["id"])
        if ref not in basis:
            basis.append(ref)
    model = str(risk.get("model") or "alia_hf_risk")
    version = str(risk.get("version") or "")
    res: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": stable_uuid(ctx.note_key, "RiskAssessment", model, version),
    }
    res["identifier"] = [{"system": RESOURCE_KEY_SYSTEM, "value": res["id"]}]
    res["status"] = "final"
    res["method"] = {
        "coding": [{"system": "urn:alia-clin:model", "code": model}],
        "text": f"{model} {version}".strip(),
    }
    res["code"] = {"coding": [HEART_FAILURE], "text": "Heart failure risk"}
    res["subject"] = {"reference": ctx.patient_ref}
    if ctx.note_date:
        res["occurrenceDateTime"] = ctx.note_date
    if basis:
        res["basis"] = [{"reference": r} for r in basis]
    prediction: dict[str, Any] = {
        "outcome": {"coding": [HEART_FAILURE]},
        "probabilityDecimal": round(float(risk["probability"]), 6),
    }
    level = str(risk.get("level") or "")
    if level in _RISK_LEVELS:
        prediction["qualitativeRisk"] = _cc(RISK_PROBABILITY, level, _RISK_LEVELS[level])
    rationale = _rationale(risk)
    if rationale:
        prediction["rationale"] = rationale
    res["prediction"] = [prediction]
    return [*extra, Built(res, None)]


def _rationale(risk: dict[str, Any]) -> str:
    parts: list[str] = []
    thresholds = risk.get("thresholds")
    if isinstance(thresholds, dict) and thresholds:
        parts.append("thresholds " + ", ".join(f"{k} {float(v):g}" for k, v in sorted(thresholds.items())))
    if risk.get("setting"):
        applied = risk.get("applied")
        extra = f" ({applied} model)" if applied and applied != risk["setting"] else ""
        parts.append(f"setting {risk['setting']}{extra}")
    return "; ".join(parts)
