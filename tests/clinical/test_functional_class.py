"""The NYHA functional class as a measurement: forms, ranges, the "/IV" top, what is left alone,
and its FHIR Observation. All sentences are synthetic."""

from __future__ import annotations

import pytest

from alia_clin.clinical.measurements import extract_measurements
from alia_clin.fhir.validate import validate_resource

CASES = [
    # (text, span, class, top of a range)
    ("Disnea de esfuerzo en clase funcional II de la NYHA.", "clase funcional II de la NYHA", 2, None),
    ("Clase funcional I/IV de la NYHA.", "Clase funcional I/IV de la NYHA", 1, None),
    ("Situación funcional: clase funcional NYHA III.", "clase funcional NYHA III", 3, None),
    ("Disnea de reposo (NYHA IV).", "NYHA IV", 4, None),
    ("Basalmente NYHA I-II/IV, sin ingresos.", "NYHA I-II/IV", 1, 2),
    ("Disnea de esfuerzo NYHA II-III de un mes.", "NYHA II-III", 2, 3),
    ("Clase funcional III/IV NYHA, candidato a trasplante.", "Clase funcional III/IV NYHA", 3, None),
    ("(IV/IV NYHA) secundaria a valvulopatía", "IV/IV NYHA", 4, None),
    ("buena clase funcional (NYHA: I-II) y palpitaciones", "NYHA: I-II", 1, 2),
    ("En CF III de la NYHA, INTERMACS 6.", "CF III de la NYHA", 3, None),
    ("FEVI 30 %, CF NYHA II, QRS 160 ms.", "CF NYHA II", 2, None),
    ("clase funcional (CF) III de la NYHA.", "clase funcional (CF) III de la NYHA", 3, None),
    ("clase funcional de la NYHA II-III. Valorada por IC.", "clase funcional de la NYHA II-III", 2, 3),
    ("Clase funcional habitual I de la New York Heart Association (NYHA).",
     "Clase funcional habitual I de la New York Heart Association (NYHA)", 1, None),
    ("clase funcional II de la New York Heart\nAssociation (NYHA) estable",
     "clase funcional II de la New York Heart\nAssociation (NYHA)", 2, None),
    ("clase funcional II-III de la New York Heart Association (NHYA)",
     "clase funcional II-III de la New York Heart Association (NHYA)", 2, 3),
    ("Disnea de moderados esfuerzos (NHYA II).", "NHYA II", 2, None),
    ("con NYHA basal I/IV, sin nuevos episodios", "NYHA basal I/IV", 1, None),
    ("Clase funcional II habitual de la NYHA.", "Clase funcional II habitual de la NYHA", 2, None),
    ("insuficiencia cardiaca en estadio II de la NYHA", "estadio II de la NYHA", 2, None),
    ("Grado Funcional NYHA I/IV. Recibía tratamiento.", "Grado Funcional NYHA I/IV", 1, None),
    ("Classe funcional II de la NYHA, sense edemes.", "Classe funcional II de la NYHA", 2, None),
    ("NYHA klase funtzionala III du.", "NYHA klase funtzionala III", 3, None),
    ("clase funcional III da NYHA", "clase funcional III da NYHA", 3, None),
]


@pytest.mark.parametrize(("text", "span", "value", "high"), CASES)
def test_nyha_class(text: str, span: str, value: int, high: int | None) -> None:
    found = [m for m in extract_measurements(text) if m.kind == "NYHA"]
    assert len(found) == 1
    m = found[0]
    assert text[m.start : m.end] == span
    assert (m.value, m.value_high) == (value, high)
    assert m.loinc == "88020-3" and m.unit_ucum is None


NOT_NYHA = [
    "Clase funcional II de la CCS.",  # the Canadian angina class
    "Clase funcional II.",  # no scale named
    "Insuficiencia cardiaca estadio C de la ACC/AHA.",
    "Killip II al ingreso.",
    "Se siguen los criterios de la NYHA.",
    "NYHA III-II",  # a range must go up
    "Clase IIb de la NYHA.",  # not a class of the scale
]


@pytest.mark.parametrize("text", NOT_NYHA)
def test_no_nyha_class(text: str) -> None:
    assert not [m for m in extract_measurements(text) if m.kind == "NYHA"]


def test_nyha_beside_other_readings() -> None:
    text = "Clase funcional II de la NYHA, FEVI 35 %, NT-proBNP 2.300 pg/ml."
    assert [m.kind for m in extract_measurements(text)] == ["NYHA", "LVEF", "NT_PROBNP"]


def test_nyha_observation_is_coded_and_valid() -> None:
    import alia_clin
    from alia_clin.fhir.bundle import doc_to_bundle, resources_by_type

    nlp = alia_clin.build_rules_pipeline()
    doc = nlp("Varón con insuficiencia cardiaca en clase funcional III de la NYHA; antes NYHA I-II/IV.")
    observations = [
        o for o in resources_by_type(doc_to_bundle(doc))["Observation"]
        if o["code"]["coding"][0]["code"] == "88020-3"
    ]
    assert len(observations) == 2
    single, ranged = observations
    assert single["category"][0]["coding"][0]["code"] == "exam"
    assert single["valueCodeableConcept"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "420913000",
        "display": "New York Heart Association Classification - Class III",
    }
    assert ranged["valueCodeableConcept"] == {"text": "NYHA I-II"}
    for resource in observations:
        validate_resource(resource)
