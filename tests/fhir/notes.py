"""Synthetic notes for the FHIR tests, turned into Docs by hand (no pipeline needed).

Every note here is invented for these tests. Entities, assertions, codings, PHI spans and the
heart-failure extensions are set directly, so the tests do not depend on which entity stage
the default pipeline ships.
"""

from __future__ import annotations

from typing import Any

import spacy
from spacy.tokens import Doc, Span

from alia_clin.clinical.measurements import extract_measurements
from alia_clin.extensions import install_extensions
from alia_clin.pipeline.codes import _install_extensions as install_codings
from alia_clin.pipeline.context import install_context_extensions

install_extensions()
install_codings()
install_context_extensions()

SNOMED = "http://snomed.info/sct"
CIE = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
LOINC = "http://loinc.org"

CARDIO = (
    "Paciente: Lucía Ferrer Gil. NHC: 7712345.\n"
    "Mujer de 74 años con insuficiencia cardiaca. Niega dolor torácico. Posible neumonía.\n"
    "Antecedentes familiares de diabetes. Edemas maleolares.\n"
    "FEVI 35 %. NT-proBNP 2.300 pg/mL. TA 130/80 mmHg.\n"
    "Tratamiento: furosemida. Se realizó ecocardiograma. Revisión por la Dra. Ferrer.\n"
)
#: (surface, label, assertion, codings)
CARDIO_ENTS: list[tuple[str, str, str | None, list[tuple[str, str, str]]]] = [
    (
        "insuficiencia cardiaca",
        "ENFERMEDAD",
        "present",
        [(SNOMED, "84114007", "Insuficiencia cardiaca"), (CIE, "I50.9", "Insuficiencia cardiaca")],
    ),
    ("dolor torácico", "SINTOMA", "negated", [(SNOMED, "29857009", "Dolor torácico")]),
    ("neumonía", "ENFERMEDAD", "uncertain", [(SNOMED, "233604007", "Neumonía")]),
    ("diabetes", "ENFERMEDAD", "family", [(SNOMED, "73211009", "Diabetes mellitus")]),
    ("furosemida", "FARMACO", None, [(ATC, "C03CA01", "furosemida")]),
    ("ecocardiograma", "PROCEDIMIENTO", "present", [(SNOMED, "40701008", "Ecocardiografía")]),
]
CARDIO_PHI = [
    ("Lucía Ferrer Gil", "NOMBRE_SUJETO_ASISTENCIA"),
    ("7712345", "ID_SUJETO_ASISTENCIA"),
    ("74 años", "EDAD_SUJETO_ASISTENCIA"),
]

CATALAN = (
    "Pacient: Jordi Vives Puig. NHC 5566778.\n"
    "Home de 80 anys amb hipertensió arterial. No refereix dispnea. No hi ha diabetis.\n"
    "Pes 70 kg.\n"
)
CATALAN_ENTS = [
    ("hipertensió arterial", "ENFERMEDAD", "historical", [(SNOMED, "38341003", "Hipertensió arterial")]),
    ("dispnea", "SINTOMA", "negated", [(SNOMED, "267036007", "Dispnea")]),
    ("diabetis", "ENFERMEDAD", "negated", [(SNOMED, "73211009", "Diabetis mellitus")]),
]
CATALAN_PHI = [
    ("Jordi Vives Puig", "NOMBRE_SUJETO_ASISTENCIA"),
    ("5566778", "ID_SUJETO_ASISTENCIA"),
    ("80 anys", "EDAD_SUJETO_ASISTENCIA"),
]

_NLP: dict[str, Any] = {}


def _nlp(lang: str) -> Any:
    if lang not in _NLP:
        _NLP[lang] = spacy.blank(lang)
    return _NLP[lang]


def _span(doc: Doc, surface: str, label: str, occurrence: int = 0) -> Span:
    start = -1
    for _ in range(occurrence + 1):
        start = doc.text.index(surface, start + 1)
    span = doc.char_span(start, start + len(surface), label=label, alignment_mode="expand")
    assert span is not None
    return span


def make_doc(
    text: str,
    ents: list[tuple[str, str, str | None, list[tuple[str, str, str]]]],
    phi: list[tuple[str, str]],
    *,
    lang: str = "es",
    note_id: str | None = "note-1",
    patient_id: str | None = "7712345",
    note_date: str | None = "2024-03-11",
) -> Doc:
    """A Doc with PHI spans, coded entities with assertions and rule measurements."""
    doc = _nlp(lang)(text)
    doc.spans["phi"] = [_span(doc, s, label) for s, label in phi]
    spans = []
    for surface, label, assertion, codings in ents:
        span = _span(doc, surface, label)
        first = codings[0]
        prefix = {SNOMED: "snomed", ATC: "atc"}[first[0]]
        span = Span(doc, span.start, span.end, label=label, kb_id=f"{prefix}:{first[1]}")
        spans.append((span, assertion, codings))
    doc.ents = [s for s, _, _ in spans]
    by_start = {e.start_char: e for e in doc.ents}
    for span, assertion, codings in spans:
        ent = by_start[span.start_char]
        ent._.assertion = assertion
        ent._.codings = {
            "concept_id": "c",
            "score": 1.0,
            "codings": [{"system": s, "code": c, "display": d} for s, c, d in codings],
        }
    doc._.measurements = [m.to_dict() for m in extract_measurements(text)]
    doc._.note_id = note_id
    doc._.patient_id = patient_id
    doc._.language = lang
    doc._.note_date = note_date
    return doc


def cardio_doc(**kwargs: Any) -> Doc:
    """The cardiology note with heart-failure risk and evidence set by hand."""
    doc = make_doc(CARDIO, CARDIO_ENTS, CARDIO_PHI, **kwargs)
    lvef = next(m for m in doc._.measurements if m["kind"] == "LVEF")
    hf = doc.text.index("insuficiencia cardiaca")
    edema = doc.text.index("Edemas maleolares")
    doc._.hf_risk = {
        "probability": 0.82,
        "level": "high",
        "thresholds": {"moderate": 0.3, "high": 0.6},
        "model": "alia_hf_risk",
        "version": "0.1.0",
        "setting": "inpatient",
    }
    doc._.hf_evidence = [
        {
            "criterion": "lvef_reduced",
            "group": "imaging",
            "start": lvef["start"],
            "end": lvef["end"],
            "assertion": "present",
            "value": 35.0,
            "unit": "%",
            "contribution": 1.4,
            "codings": [{"system": LOINC, "code": "10230-1", "display": "LVEF"}],
        },
        {
            "criterion": "hf_diagnosis",
            "group": "diagnosis",
            "start": hf,
            "end": hf + len("insuficiencia cardiaca"),
            "assertion": "present",
            "value": None,
            "unit": None,
            "contribution": 1.1,
            "codings": [{"system": SNOMED, "code": "84114007", "display": "Heart failure"}],
        },
        {
            "criterion": "peripheral_edema",
            "group": "signs",
            "start": edema,
            "end": edema + len("Edemas maleolares"),
            "assertion": "present",
            "value": None,
            "unit": None,
            "contribution": 0.4,
            "codings": [{"system": SNOMED, "code": "271808008", "display": "Peripheral edema"}],
        },
    ]
    return doc


def catalan_doc(**kwargs: Any) -> Doc:
    """A Catalan note without heart-failure risk."""
    kwargs.setdefault("patient_id", "5566778")
    kwargs.setdefault("note_id", "note-ca")
    return make_doc(CATALAN, CATALAN_ENTS, CATALAN_PHI, lang="ca", **kwargs)
