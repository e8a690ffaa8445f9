"""Presidio recognizers: construction per language, checksums, and an offline AnalyzerEngine."""

from __future__ import annotations

import pytest
from presidio_analyzer import AnalyzerEngine, PatternRecognizer

from alia_clin.deid.recognizers import (
    SUPPORTED_LANGUAGES,
    AliaPatternRecognizer,
    build_recognizers,
    build_specs,
)
from alia_clin.errors import AliaClinValueError

REQUIRED = {
    "FECHAS", "CORREO_ELECTRONICO", "NUMERO_TELEFONO", "NUMERO_FAX", "ID_SUJETO_ASISTENCIA",
    "ID_ASEGURAMIENTO", "ID_CONTACTO_ASISTENCIAL", "ID_TITULACION_PERSONAL_SANITARIO",
    "EDAD_SUJETO_ASISTENCIA", "SEXO_SUJETO_ASISTENCIA", "CALLE", "TERRITORIO", "HOSPITAL",
    "CENTRO_SALUD", "URL_WEB", "DIREC_PROT_INTERNET", "PAIS",
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_build_recognizers_per_language(language: str) -> None:
    recognizers = build_recognizers(language)
    assert all(isinstance(r, PatternRecognizer) for r in recognizers)
    assert {r.supported_language for r in recognizers} == {language}
    assert {e for r in recognizers for e in r.supported_entities} >= REQUIRED
    phone = next(r for r in recognizers if r.name == "PhoneRecognizer")
    assert phone.context  # language-specific context words


def test_context_words_differ_by_language() -> None:
    es = next(r for r in build_recognizers("es") if r.name == "SexRecognizer")
    eu = next(r for r in build_recognizers("eu") if r.name == "SexRecognizer")
    assert "sexo" in es.context and "sexua" in eu.context


def test_unknown_language() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E005\]"):
        build_recognizers("fr")
    with pytest.raises(AliaClinValueError):
        build_specs(("en",))


def test_validate_result_uses_checksums() -> None:
    dni = next(r for r in build_recognizers("es") if r.name == "DniRecognizer")
    assert isinstance(dni, AliaPatternRecognizer)
    assert dni.validate_result("12345678Z") is True
    assert dni.validate_result("12345678A") is False
    results = dni.analyze("DNI 12345678Z y 87654321A", entities=["ID_SUJETO_ASISTENCIA"])
    assert [(r.start, r.end, r.score) for r in results] == [(4, 13, 1.0)]


def test_group_span_is_reported() -> None:
    rec = next(r for r in build_recognizers("ca") if r.name == "MedicalRecordRecognizer")
    text = "NHC: 445566."
    [res] = rec.analyze(text, entities=[])
    assert text[res.start:res.end] == "445566"


def test_each_value_group_is_a_result() -> None:
    """A pattern with value groups v, v2 … gives one result per group that took part."""
    rec = next(r for r in build_recognizers("es") if r.name == "PatientNameRecognizer")
    text = "Apellidos:\tGil\tSanz\nPaciente: Ruiz Peral, Marta\n"
    found = sorted(text[r.start:r.end] for r in rec.analyze(text, entities=[]))
    assert found == ["Gil", "Marta", "Ruiz Peral", "Sanz"]


def test_presidio_analyzer_offline(offline_analyzer: AnalyzerEngine) -> None:
    text = "NHC: 7700123. Varón de 47 años. Ingreso: 12/05/2019. Correo: luis.p@ejemplo.es. Tel: 655 443 221."
    results = offline_analyzer.analyze(text, language="es")
    found = {(r.entity_type, text[r.start:r.end]) for r in results if r.score >= 0.5}
    assert ("ID_SUJETO_ASISTENCIA", "7700123") in found
    assert ("EDAD_SUJETO_ASISTENCIA", "47 años") in found
    assert ("FECHAS", "12/05/2019") in found
    assert ("CORREO_ELECTRONICO", "luis.p@ejemplo.es") in found
    # phones start below 0.5 and rely on context words; the blank pipeline has no lemmas
    assert ("NUMERO_TELEFONO", "655 443 221") in {(r.entity_type, text[r.start:r.end]) for r in results}
    assert ("SEXO_SUJETO_ASISTENCIA", "Varón") in found
