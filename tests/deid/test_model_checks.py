"""Checks on PHI candidates. The model layer's sex candidates: a clinical abbreviation is no sex;
sex words and codes, and the other words MEDDOCAN counts as PHI, stay. Model candidates made of
clinical words only are dropped; candidates of any source inside a clinical eponym are dropped.
All notes are synthetic."""

from __future__ import annotations

import pytest

from alia_clin.deid.model_checks import (
    clinical_words_only,
    eponym_spans,
    inside_eponym,
    inside_reading,
    measurement_values,
    plausible_model_span,
    word_label_number,
)
from alia_clin.deid.rules import PhiMatch
from alia_clin.pipeline.deid import (
    MODEL_SOURCE,
    _outside_eponyms,
    _outside_readings,
    _plausible_model_candidates,
)

SEX = "SEXO_SUJETO_ASISTENCIA"


@pytest.mark.parametrize("word", ["VI", "HVI", "QRS", "FEVI", "ECG"])
def test_clinical_abbreviations_are_no_sex(word: str) -> None:
    assert not plausible_model_span(SEX, word, clinical_words=False)
    assert plausible_model_span("HOSPITAL", word, clinical_words=False)  # only the sex label is checked
    assert plausible_model_span(SEX, word, sex_words=False, clinical_words=False)


KEPT = ["H", "M", "F", "VARÓN", "MUJER", "NIÑA", "Varón", "mujeres", "blanca", "NEGRA", "Recién", "gizona",
        "HOME"]


@pytest.mark.parametrize("word", KEPT)
def test_sex_words_codes_and_other_words_stay(word: str) -> None:
    assert plausible_model_span(SEX, word)


def test_only_model_candidates_are_checked() -> None:
    text = "VI dilatado. Varón de 70 años."
    model_vi = PhiMatch(0, 2, SEX, 0.9, MODEL_SOURCE)
    rule_vi = PhiMatch(0, 2, SEX, 0.9, "SexRecognizer")
    model_sex = PhiMatch(13, 18, SEX, 0.9, MODEL_SOURCE)
    assert _plausible_model_candidates([model_vi, rule_vi, model_sex], text) == [rule_vi, model_sex]


CLINICAL = ["Vena", "Aurícula izquierda", "insulina glargina", "salbutamol si precisa",
            "ácido acetilsalicílico", "Cardiopatía", "Hilios", "dilatado", "Buen", "UCIC", "de",
            "amlodipino/", "Válvula"]


@pytest.mark.parametrize("text", CLINICAL)
def test_clinical_words_are_no_phi(text: str) -> None:
    assert clinical_words_only(text)
    assert not plausible_model_span("FAMILIARES_SUJETO_ASISTENCIA", text)
    assert plausible_model_span("FAMILIARES_SUJETO_ASISTENCIA", text, clinical_words=False)


# names (also those that are clinical words: "Dolores"), relatives, numbers, places, ages, races
PHI = ["Dolores", "Rosa", "familiar", "tres", "Juan Vena", "Madrid", "Hospital de la Vega", "padre",
       "65 años", "Clínica Universitaria", "Insulina 3", "blanca", "síndrome de Down", "Pilar", "A", "De"]


@pytest.mark.parametrize("text", PHI)
def test_phi_words_stay(text: str) -> None:
    assert not clinical_words_only(text)


NOTE = ("Clase funcional II de la New York Heart Association (NYHA). Glasgow 15, Killip III. "
        "Bence-Jones negativo. Remitida por la Dra. Ross desde Glasgow Street.")


@pytest.mark.parametrize(("piece", "inside"), [
    ("New York", True), ("New York Heart Association", True), ("Heart Association", True), ("NYHA", True),
    ("(NYHA)", True), ("Glasgow 15", True), ("Killip III", True), ("Bence", True), ("Jones", True),
    ("Ross", False), ("la New York", False), ("15", False), ("Glasgow Street", False),
])
def test_eponyms(piece: str, inside: bool) -> None:
    start = NOTE.index(piece)
    assert inside_eponym(start, start + len(piece), NOTE, eponym_spans(NOTE)) is inside


def test_eponyms_drop_candidates_of_every_source() -> None:
    start = NOTE.index("New York")
    rule = PhiMatch(start, start + 8, "TERRITORIO", 0.6, "TerritoryRecognizer")
    model = PhiMatch(start, start + 26, "INSTITUCION", 0.9, MODEL_SOURCE)
    ross = NOTE.index("Ross")
    name = PhiMatch(ross, ross + 4, "NOMBRE_PERSONAL_SANITARIO", 0.9, MODEL_SOURCE)
    assert _outside_eponyms([rule, model, name], NOTE) == [name]


@pytest.mark.parametrize("text", ["/", "-", " , "])
def test_punctuation_is_no_phi(text: str) -> None:
    assert not plausible_model_span("NOMBRE_PERSONAL_SANITARIO", text)
    assert plausible_model_span("NOMBRE_PERSONAL_SANITARIO", text, clinical_words=False)


def test_clinical_word_check_reads_model_candidates_only() -> None:
    text = "Vena cava inferior dilatada. Padre: Juan Vena."
    model_vena = PhiMatch(0, 4, "FAMILIARES_SUJETO_ASISTENCIA", 0.9, MODEL_SOURCE)
    rule_vena = PhiMatch(0, 4, "FAMILIARES_SUJETO_ASISTENCIA", 0.9, "KinRecognizer")
    model_name = PhiMatch(36, 45, "FAMILIARES_SUJETO_ASISTENCIA", 0.9, MODEL_SOURCE)
    kept = _plausible_model_candidates([model_vena, rule_vena, model_name], text)
    assert kept == [rule_vena, model_name]
    off = _plausible_model_candidates([model_vena], text, clinical_words=False)
    assert off == [model_vena]


READINGS = "TA 145/90, FC 88 lpm. NHC 4455667. NT-proBNP 12626. Ingreso el 03/02/2024 en el box 88."


@pytest.mark.parametrize(("piece", "inside"), [
    ("88", True), ("145/90", True), ("12626", True), ("4455667", False), ("03/02/2024", False),
])
def test_numbers_inside_readings(piece: str, inside: bool) -> None:
    start = READINGS.index(piece)
    assert inside_reading(start, start + len(piece), measurement_values(READINGS)) is inside


@pytest.mark.parametrize(("label", "piece", "number"), [
    ("HOSPITAL", "88", True), ("NOMBRE_PERSONAL_SANITARIO", "145/90", True), ("TERRITORIO", "12626", False),
    ("ID_SUJETO_ASISTENCIA", "4455667", False), ("HOSPITAL", "NHC 4455667", False),
])
def test_numbers_labelled_as_words(label: str, piece: str, number: bool) -> None:
    start = READINGS.index(piece)
    assert word_label_number(label, start, start + len(piece), READINGS) is number


def test_readings_drop_word_labelled_numbers_of_every_source_only() -> None:
    fc = READINGS.index("88")
    box = READINGS.rindex("88")
    bnp = READINGS.index("12626")
    heart_rate = PhiMatch(fc, fc + 2, "HOSPITAL", 0.8, MODEL_SOURCE)
    rule_rate = PhiMatch(fc, fc + 2, "INSTITUCION", 0.6, "InstitutionRecognizer")
    room = PhiMatch(box, box + 2, "HOSPITAL", 0.8, MODEL_SOURCE)  # no reading there: kept
    postal = PhiMatch(bnp, bnp + 5, "TERRITORIO", 0.6, "TerritoryRecognizer")  # numeric label: kept
    assert _outside_readings([heart_rate, rule_rate, room, postal], READINGS) == [room, postal]
