"""Facility names (HOSPITAL, CENTRO_SALUD, INSTITUCION) in the rules layer: synthetic notes.

Every facility, person and street below is invented for these tests (places are real towns,
which the boundaries depend on). A positive row gives the exact spans expected with their
labels; a negative row gives text in which no facility span may be found.
"""

from __future__ import annotations

import pytest

from alia_clin.deid.facilities import facility_name_regex, facility_rules
from alia_clin.deid.rules import RuleEngine

FACILITY_LABELS = {"HOSPITAL", "CENTRO_SALUD", "INSTITUCION"}


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine(labels={*FACILITY_LABELS, "CALLE", "TERRITORIO", "PAIS", "NOMBRE_PERSONAL_SANITARIO",
                              "FECHAS", "CORREO_ELECTRONICO"})


def found(engine: RuleEngine, text: str, labels: set[str] | None = None) -> list[tuple[str, str]]:
    """Return ``(label, covered text)`` of the spans found in ``text`` (only ``labels`` if given)."""
    return [(m.label, text[m.start:m.end]) for m in engine.analyze(text)
            if labels is None or m.label in labels]


POSITIVE = [
    # es: head, descriptors, saints and titles, quoted and day-month names
    ("Ingresó en el Hospital Universitario Virgen de la Alameda por disnea.",
     [("HOSPITAL", "Hospital Universitario Virgen de la Alameda")]),
    ("Remitido por: Dr. Pau Mir. Servicio de Urología. Hospital Dr. Cebrián Lobo. "
     "Avda. del Parque 3, 28001 Madrid",
     [("HOSPITAL", "Hospital Dr. Cebrián Lobo")]),
    ("Valorado en el Hospital Universitario \"Santa Olalla\" el mismo día.",
     [("HOSPITAL", "Hospital Universitario \"Santa Olalla\"")]),
    ("Trasladado al Hospital Universitario 14 de Marzo para cirugía.",
     [("HOSPITAL", "Hospital Universitario 14 de Marzo")]),
    ("Derivado al Complejo Hospitalario y Universitario de Soria para estudio.",
     [("HOSPITAL", "Complejo Hospitalario y Universitario de Soria")]),
    ("Seguimiento en el Hospital Universitario Príncipe de Asturias desde 2010.",
     [("HOSPITAL", "Hospital Universitario Príncipe de Asturias")]),
    ("Consulta en el Centro de Salud Valle del Tormes por fiebre.",
     [("CENTRO_SALUD", "Centro de Salud Valle del Tormes")]),
    # institutions: universities, health services, penitentiary, companies
    # a faculty and its university are two institutions
    ("Estudio de la Facultad de Medicina de la Universidad de Teruel.",
     [("INSTITUCION", "Facultad de Medicina"), ("INSTITUCION", "Universidad de Teruel")]),
    ("Ingresado en el Centro Penitenciario de Villaseca desde 2015.",
     [("INSTITUCION", "Centro Penitenciario de Villaseca")]),
    ("Tarjeta sanitaria del Servicio Castellano-Manchego de Salud.",
     [("INSTITUCION", "Servicio Castellano-Manchego de Salud")]),
    ("Se implantó un stent (Boston Scientific, Natick, EE. UU.).", [("INSTITUCION", "Boston Scientific")]),
    ("Financiado por la Fundación Mirador del Ebro.", [("INSTITUCION", "Fundación Mirador del Ebro")]),
    # ca
    ("Remès a l'Hospital Universitari Joan Fortuny per a estudi.",
     [("HOSPITAL", "Hospital Universitari Joan Fortuny")]),
    ("Visitat al CAP Sant Andreu Nord el dia següent.", [("CENTRO_SALUD", "CAP Sant Andreu Nord")]),
    ("Visitat al Centre d'Atenció Primària Sant Andreu Nord ahir.",
     [("CENTRO_SALUD", "Centre d'Atenció Primària Sant Andreu Nord")]),
    ("Ingressat a l'Hospital de la Santa Creu de Vallbona.",
     [("HOSPITAL", "Hospital de la Santa Creu de Vallbona")]),
    ("Estudi de la Universitat de Lleida.", [("INSTITUCION", "Universitat de Lleida")]),
    # eu
    ("Txostena: Arantzazu Unibertsitate Ospitalean ingresatu zen.",
     [("HOSPITAL", "Arantzazu Unibertsitate Ospitalean")]),
    ("Bidalketa: Zumardi Osasun Zentroa.", [("CENTRO_SALUD", "Zumardi Osasun Zentroa")]),
    ("Txostena: Zumardi Osasun Zentrotik bidali zuten.", [("CENTRO_SALUD", "Zumardi Osasun Zentrotik")]),
    # gl
    ("Ingresou no Complexo Hospitalario Universitario de Lugo Norte.",
     [("HOSPITAL", "Complexo Hospitalario Universitario de Lugo Norte")]),
    ("Atendido no Centro de Saúde Fontiñas Altas.", [("CENTRO_SALUD", "Centro de Saúde Fontiñas Altas")]),
    ("Informe do Servizo Galego de Saúde.", [("INSTITUCION", "Servizo Galego de Saúde")]),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_facility_names(engine: RuleEngine, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(engine, text, FACILITY_LABELS) == expected


BOUNDARIES = [
    # a trailing city is not part of the name, and is given as TERRITORIO
    ("Remitido por: Dra. Ana Gil. Unidad de Diálisis Hospital San Telmo Avilés c/ Mayor 4 33400 Asturias",
     ("HOSPITAL", "Hospital San Telmo"), ("TERRITORIO", "Avilés")),
    ("Evaluado en el Hospital Ramírez y Lasala de Madrid y a los 14 meses",
     ("HOSPITAL", "Hospital Ramírez y Lasala"), ("TERRITORIO", "Madrid")),
    ("Servicio de Cirugía Hospital Universitario Virgen de las Rocas de Granada, por presentar",
     ("HOSPITAL", "Hospital Universitario Virgen de las Rocas"), ("TERRITORIO", "Granada")),
    ("Servicio de Cirugía Hospital Universitario La Alegría Sevilla E-mail: x@y.es",
     ("HOSPITAL", "Hospital Universitario La Alegría"), ("TERRITORIO", "Sevilla")),
    # ... and so is a trailing country
    ("Dr. Luis Paz. Hospital San Lorenzo Mártir, Argentina",
     ("HOSPITAL", "Hospital San Lorenzo Mártir"), ("PAIS", "Argentina")),
    ("Consulta del Centro de Salud Zona 4 de Albacete por fiebre.",
     ("CENTRO_SALUD", "Centro de Salud Zona 4"), ("TERRITORIO", "Albacete")),
    ("Ingresou no Hospital Álvaro Cunqueiro de Vigo.",
     ("HOSPITAL", "Hospital Álvaro Cunqueiro"), ("TERRITORIO", "Vigo")),
    ("Visitada a l'Hospital del Mar, Barcelona.",
     ("HOSPITAL", "Hospital del Mar"), ("TERRITORIO", "Barcelona")),
    # a city right after the head is the name
    ("Hospital Universitario de Ceuta. Servicio de Urología.",
     ("HOSPITAL", "Hospital Universitario de Ceuta"), None),
    ("Complejo Hospitalario Universitario de A Coruña. España",
     ("HOSPITAL", "Complejo Hospitalario Universitario de A Coruña"), None),
    # street types, untyped streets before a postal code, contact and service words end the name
    ("Servicio de Cirugía Hospital Reina Berenguela Ctra. de Tarazona km 3 31500 Tudela",
     ("HOSPITAL", "Hospital Reina Berenguela"), ("CALLE", "Ctra. de Tarazona km 3")),
    ("Servicio de Urología Hospital Universitario Doctor Ferrán Gaspar Aguilar 90. 46017 Valencia",
     ("HOSPITAL", "Hospital Universitario Doctor Ferrán"), ("CALLE", "Gaspar Aguilar 90")),
    ("Servicio de Pediatría Hospital Virgen del Camino Real 31008 Pamplona",
     ("HOSPITAL", "Hospital Virgen del Camino Real"), None),
    ("Hospital General Sierra Baja Planta 3. Urología", ("HOSPITAL", "Hospital General Sierra Baja"), None),
    ("Hospital Santa Irene Tel. 910 000 000", ("HOSPITAL", "Hospital Santa Irene"), None),
    ("Hospital Santa Irene Servicio de Pediatría", ("HOSPITAL", "Hospital Santa Irene"), None),
    # a hyphen ends a name; a bracketed acronym after a hospital name is a hospital too
    ("consejo genético en el Hospital del Niño Jesús-. La técnica",
     ("HOSPITAL", "Hospital del Niño Jesús"), None),
    ("Hospital Universitario La Esperanza (HULE). Paseo del Río 3, 28046 Madrid",
     ("HOSPITAL", "Hospital Universitario La Esperanza"), ("HOSPITAL", "HULE")),
    # Catalan "d'" inside a name
    ("Servei de Cirurgia de l'Hospital Universitari Vall d'Aran, remès",
     ("HOSPITAL", "Hospital Universitari Vall d'Aran"), None),
]


@pytest.mark.parametrize(("text", "facility", "other"), BOUNDARIES)
def test_facility_boundaries(engine: RuleEngine, text: str, facility: tuple[str, str],
                             other: tuple[str, str] | None) -> None:
    spans = found(engine, text)
    assert facility in spans
    if other is not None:
        assert other in spans


NEGATIVE = [
    "Acude al Servicio de Urgencias por dolor torácico.",
    "Revisión en su centro de salud en 15 días.",
    "Tratamiento en hospital de día oncológico.",
    "Citado en el Hospital de Día de Oncología para la segunda dosis.",
    "Valorado por la Clínica de Heridas del servicio de Dermatología.",
    "Derivada a la Unidad de Nutrición Clínica y Dietética para su seguimiento.",
    "Proteinuria de 2,1 g/24 h. La función renal se mantuvo estable.",
    "Perfusión a 25 μg/h. A las 2 semanas mejoró el dolor.",
    "El paciente ingresa en planta de hospitalización.",
    "Se realizó una intervención de Hartmann sin incidencias.",
    "Informe del Cap de Servei de Cardiologia.",
    # "H." abbreviating something else: a species, hormones, a hernia, a haemorrhage
    "Gastritis crónica con H. Pylori positivo, erradicado.",
    "Hemocultivos positivos para H. Influenzae en Madrid.",
    "Endocarditis por H. aphrophilus sobre válvula protésica.",
    "Analítica con H. Tiroideas normales.",
    "Antecedente de H. Hiatal y reflujo.",
    "Ingresó por H. Subaracnoidea de Valencia a Madrid.",
]


def test_h_abbreviation_still_opens_a_hospital_name(engine: RuleEngine) -> None:
    spans = found(engine, "Remitido desde el H. Clínico de Valencia. Analítica: H. Tiroideas normales.")
    assert ("HOSPITAL", "H. Clínico") in spans or ("HOSPITAL", "H. Clínico de Valencia") in spans
    assert not any(text.startswith("H. Tiroideas") for _, text in spans)


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_facility(engine: RuleEngine, text: str) -> None:
    assert found(engine, text, FACILITY_LABELS) == []


def test_city_inside_the_name_is_not_territory(engine: RuleEngine) -> None:
    text = "Hospital Universitario de Ceuta. Servicio de Urología."
    assert ("TERRITORIO", "Ceuta") not in found(engine, text)


def test_street_fallback_keeps_the_head_and_first_word(engine: RuleEngine) -> None:
    # the full name would run into an untyped street the name rule cannot see; the CALLE rule wins
    # that overlap, and the shortest name (head and first word) is kept instead of nothing
    text = "Dr. Luis Mar. Oncología Médica Hospital General de Móstoles Río Cabriel, s/n E-28935 Móstoles"
    spans = found(engine, text)
    assert ("HOSPITAL", "Hospital General de Móstoles") in spans


def test_rules_cover_the_three_labels_and_a_city_rule() -> None:
    labels = {spec.label for spec in facility_rules()}
    assert labels == {*FACILITY_LABELS, "TERRITORIO"}
    assert facility_name_regex(short=True) != facility_name_regex()
