"""Evidence extraction: offsets, assertions, measurements, structured context (synthetic notes)."""

from __future__ import annotations

import pytest
from spacy.language import Language

import alia_clin
from alia_clin.context.lexicon import ContextLexicon, load_lexicon_data
from alia_clin.hf.evidence import extract_evidence
from alia_clin.hf.features import FEATURE_NAMES, evidence_features, framingham_counts

NOTE = (
    "Varón de 78 años con HTA, diabetes mellitus tipo 2 y fibrilación auricular.\n"
    "Refiere disnea de moderados esfuerzos y ortopnea de dos almohadas.\n"
    "Exploración: ingurgitación yugular, crepitantes bibasales y edemas maleolares con fóvea.\n"
    "No presenta tos nocturna ni hepatomegalia.\n"
    "NT-proBNP 2.450 pg/ml. Ecocardiograma: FEVI 35 %.\n"
    "Tratamiento: furosemida 40 mg/24 h y bisoprolol 5 mg/24 h.\n"
    "Ingresa por insuficiencia cardiaca descompensada.\n"
)


@pytest.fixture(scope="module")
def nlp() -> Language:
    return alia_clin.load()


@pytest.fixture(scope="module")
def lexicon() -> ContextLexicon:
    return ContextLexicon.from_data(load_lexicon_data("es"))


def _doc(nlp: Language, text: str):  # type: ignore[no-untyped-def]
    with nlp.select_pipes(enable=["alia_sections", "alia_measurements"]):
        return nlp(text)


def test_offsets_point_at_the_evidence(nlp: Language, lexicon: ContextLexicon) -> None:
    items = extract_evidence(_doc(nlp, NOTE), lexicon)
    got = {(e.criterion, NOTE[e.start : e.end], e.assertion) for e in items if e.start is not None}
    expected = {
        ("age", "78 años", "present"),
        ("male_sex", "Varón", "present"),
        ("hypertension", "HTA", "present"),
        ("diabetes", "diabetes mellitus tipo 2", "present"),
        ("atrial_fibrillation", "fibrilación auricular", "present"),
        ("exertional_dyspnea", "disnea de moderados esfuerzos", "present"),
        ("pnd_orthopnea", "ortopnea de dos almohadas", "present"),
        ("jvd", "ingurgitación yugular", "present"),
        ("crackles", "crepitantes bibasales", "present"),
        ("nocturnal_cough", "tos nocturna", "negated"),
        ("hepatomegaly", "hepatomegalia", "negated"),
        ("lvef_reduced", "FEVI 35 %", "present"),
        ("loop_diuretic", "furosemida", "present"),
        ("beta_blocker", "bisoprolol", "present"),
        ("hf_diagnosis", "insuficiencia cardiaca descompensada", "present"),
    }
    assert expected <= got
    ankle = [e for e in items if e.criterion == "ankle_edema"]
    assert ankle and NOTE[ankle[0].start : ankle[0].end].startswith("edemas maleolares")
    peptide = next(e for e in items if e.criterion == "nt_probnp_elevated")
    assert peptide.value == 2450.0 and peptide.unit == "pg/mL"
    assert NOTE[peptide.start : peptide.end].startswith("NT-proBNP")
    lvef = next(e for e in items if e.criterion == "lvef_reduced")
    assert lvef.value == 35.0
    furo = next(e for e in items if e.criterion == "loop_diuretic")
    assert (furo.value, furo.unit) == (40.0, "mg")


def test_no_diagnosis_evidence_when_excluded(nlp: Language, lexicon: ContextLexicon) -> None:
    items = extract_evidence(_doc(nlp, NOTE), lexicon, include_diagnosis=False)
    assert not any(e.criterion == "hf_diagnosis" for e in items)


def test_negated_family_hypothetical_do_not_count(nlp: Language, lexicon: ContextLexicon) -> None:
    neg = "Mujer de 70 años. No refiere ortopnea. Sin crepitantes ni edemas maleolares."
    fam = "Mujer de 70 años. Antecedentes familiares: madre con fibrilación auricular."
    base = "Mujer de 70 años."
    x_base = evidence_features(extract_evidence(_doc(nlp, base), lexicon))
    for text in (neg, fam):
        items = extract_evidence(_doc(nlp, text), lexicon)
        assert [e for e in items if e.criterion != "age"], "the findings are found"
        assert all(e.weight == 0 for e in items if e.criterion != "age")
        assert (evidence_features(items) == x_base).all()
        assert framingham_counts(items) == (0.0, 0.0)


def test_measured_values_and_thresholds(nlp: Language, lexicon: ContextLexicon) -> None:
    text = "Analítica: NT-proBNP 90 pg/ml. FC 130 lpm. FEVI 45 %."
    crits = {e.criterion: e.value for e in extract_evidence(_doc(nlp, text), lexicon)}
    assert crits["natriuretic_peptide_normal"] == 90.0
    assert crits["tachycardia"] == 130.0
    assert crits["lvef_mildly_reduced"] == 45.0


def test_structured_context_adds_evidence(nlp: Language, lexicon: ContextLexicon) -> None:
    doc = _doc(nlp, "Paciente de 50 años, control rutinario.")
    context = {
        "age": 81,
        "sex": "male",
        "observations": [{"code": "33762-6", "value": 1800, "unit": "pg/mL"}],
    }
    items = extract_evidence(doc, lexicon, context=context)
    ctx = {(e.criterion, e.value) for e in items if e.source == "context"}
    assert ctx == {("age", 81.0), ("male_sex", None), ("nt_probnp_elevated", 1800.0)}
    assert all(e.start is None for e in items if e.source == "context")
    assert not any(e.criterion == "age" and e.source == "text" for e in items)
    x = evidence_features(items)
    assert x[FEATURE_NAMES.index("age_65_plus")] == 1.0
    assert x[FEATURE_NAMES.index("peptide_measured")] == 1.0


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("HTA de 15 años de evolución. Varón de 80 años con disnea.", "80 años"),
        ("Exfumador desde hace 20 años. Paciente de 59 años.", "59 años"),
        ("Padre fallecido a los 78 años. Mujer de 46 años.", "46 años"),
        ("Edad: 74. Antecedentes: IAM a los 50 años.", "Edad: 74"),
        ("Antecedentes: HTA, dislipemia. 81 años de edad.", "81 años"),
        ("Home de 67 anys amb HTA.", "67 anys"),
        ("Mujer, 81 años, con HTA.", "81 años"),
        # a duration or the age at an event is not the patient's age
        ("HTA de 15 años de evolución, DM2.", None),
        ("Apendicectomía hace 20 años; infarto a los 54 años; fumó durante > 20 años.", None),
    ],
)
def test_age_is_the_patients_not_a_duration(
    nlp: Language, lexicon: ContextLexicon, text: str, age: str | None
) -> None:
    items = [e for e in extract_evidence(_doc(nlp, text), lexicon) if e.criterion == "age"]
    assert [text[e.start : e.end] for e in items if e.start is not None] == ([age] if age else [])
