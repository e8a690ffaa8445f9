"""Street addresses (CALLE) in the rules layer: synthetic addresses, positive and negative.

Every address below is invented for these tests. A positive row gives the exact span expected;
a negative row gives text in which no CALLE span may be found at all.
"""

from __future__ import annotations

import pytest

from alia_clin.deid.rules import RuleEngine


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine(labels={"CALLE", "HOSPITAL", "CENTRO_SALUD", "INSTITUCION", "TERRITORIO",
                              "NOMBRE_PERSONAL_SANITARIO", "FECHAS", "PAIS"})


def streets(engine: RuleEngine, text: str) -> list[str]:
    """Return the CALLE spans found in ``text`` as covered text, in order."""
    return [text[m.start:m.end] for m in engine.analyze(text) if m.label == "CALLE"]


POSITIVE = [
    # abbreviations of street types, numbers, floors and doors
    ("Domicilio: Pº de la Castellana, 120, 4º izq.\n", "Pº de la Castellana, 120, 4º izq"),
    ("Domicilio: Urb. Los Pinos, 7, bajo B.\n", "Urb. Los Pinos, 7, bajo B"),
    ("Domicilio: C/ Alcalá 22, escalera 2, 3º D.\n", "C/ Alcalá 22, escalera 2, 3º D"),
    ("Domicilio: Avda. del Puerto 9, portal 3, 1º A.\n", "Avda. del Puerto 9, portal 3, 1º A"),
    ("Dirección: Calle Orense s/n.\n", "Calle Orense s/n"),
    ("Remitido por: Dra. Ana Sol. Ctra. de Logroño km 12, 50011 Zaragoza", "Ctra. de Logroño km 12"),
    ("Remitido por: Dr. Luis Mar. Pol. Ind. Las Arenas, nave 4, 46014 Valencia",
     "Pol. Ind. Las Arenas, nave 4"),
    ("Remitido por: Dr. Luis Mar. Bifurcación Ríos Rosas-Santa Engracia, s/n 28003 Madrid",
     "Bifurcación Ríos Rosas-Santa Engracia, s/n"),
    # all-capitals street types (MEDDOCAN guidelines: "AV. San Francisco 7, 3D 50006 Zaragoza")
    ("Remitido por: Jorge Sanz Ríos. AV. San Telmo 7, 3D 50006 Zaragoza.", "AV. San Telmo 7, 3D"),
    ("DOMICILIO: CALLE MAYOR 12, 3º B\n", "CALLE MAYOR 12, 3º B"),
    # co-official languages
    ("Adreça: Travessera de Gràcia, 58, 3r 1a.\n", "Travessera de Gràcia, 58, 3r 1a"),
    ("Enderezo: Rúa da Raíña 8, baixo.\n", "Rúa da Raíña 8, baixo"),
    ("Remitido por: Dra. Ana Sol. Kale Nagusia 14 48001 Bilbao", "Kale Nagusia 14"),
    # untyped street at a sentence start before a postal code; Galician connector "da"
    ("Responsable clínico: Dra. Uxía Rey. Costa da Unión, 41 15898 Santiago", "Costa da Unión, 41"),
    # untyped street after a facility name, before the postal code: the street opens with a
    # given name or an opener ("San", "Doctor") and holds no later one …
    ("Remitido por: Dra. Eva Ros Hospital Universitario Doctor Castro Anselmo Pardo 90. 46017 Valencia",
     "Anselmo Pardo 90"),
    ("Hospital Universitario Son Verde Andrea Llull, 55 07014 Palma", "Andrea Llull, 55"),
    ("Hospital Comarcal del Norte San Cibrán s/n (27003) Lugo.", "San Cibrán s/n"),
    ("Centro de Salud Las Eras Sant Antoni Maria Claret, 167 08025 Barcelona",
     "Sant Antoni Maria Claret, 167"),
    ("Centro Médico Deportivo Federico Mompou 50 04006 Almería. España", "Federico Mompou 50"),
    ("Servicio de Patología Forense Campus Universitario, s/n. 06006 Badajoz", "Campus Universitario, s/n"),
    # … or is one capitalised word before a comma and the number
    ("Hospital General La Loma Centro Concordia, 3 E-13600 Pueblo Nuevo", "Concordia, 3"),
    ("Fundació Pere Riba Tarragona, 340-350 - 08025 Barcelona", "Tarragona, 340-350"),
    # a typed street after a facility stays the typed street
    ("Hospital Infanta Leonor Paseo de Oriente, 34, 28703 Madrid", "Paseo de Oriente, 34"),
    # sender line: an untyped street after a sentence end, number, then the town (no postal code)
    ("Remitido por: Dra. Pía Soto. Santa Rosa 571, Recoleta Chile E-mail: pia@example.org", "Santa Rosa 571"),
    ("Remitido por: Dr. Ángel Ruiz. Unidad de Mama. Hospital San Jorge. Jardines 14, Lima.", "Jardines 14"),
    # Latin-American formats: grid numbers and Mexican colonias
    ("Remitido por: Dr. Luis Mar. Calle 45 Sur # 12-30, Bogotá.", "Calle 45 Sur # 12-30"),
    ("Remitido por: Dr. Luis Mar. Carrera 7 No. 40-62 Bogotá", "Carrera 7 No. 40-62"),
    ("Remitido por: Dr. Luis Mar. Av. Insurgentes Sur 1582, Col. Crédito Constructor, 03940 México.",
     "Av. Insurgentes Sur 1582, Col. Crédito Constructor"),
    # a labelled address that fills its line keeps floor and door across a period …
    ("Domicilio: C Zubieta, 4. Bajo B.\n", "C Zubieta, 4. Bajo B"),
    ("Domicilio: Pza. del Olmo, 2. Esc. 3, 1º A..\n", "Pza. del Olmo, 2. Esc. 3, 1º A"),
    # … building, staircase and flat after the number; "Nº" after a period; "Boulevard"; "Gran Vía"
    ("Remitido por: Dra. Ana Sol Pz de Lugo,3, Ed.RIO, Esc.1a,2ºB 30009 Murcia",
     "Pz de Lugo,3, Ed.RIO, Esc.1a,2ºB"),
    ("Remitido por: Dr. Luis Mar. C/ Ramón Sijé 410, Apto. 12 Montevideo 11600, Uruguay",
     "C/ Ramón Sijé 410, Apto. 12"),
    ("Remitido por: Dr. Luis Mar. C/ Luis Vives. Nº 10 5ºA izq. 28009 Madrid",
     "C/ Luis Vives. Nº 10 5ºA izq"),
    ("Facultad de Medicina Boulevard Louis Braille, 17. 29071 Málaga", "Boulevard Louis Braille, 17"),
    ("Servicio de Patología, 5a planta Gran Vía, 240. Barcelona 08014", "Gran Vía, 240"),
    # a street written in lower case, with its number after a comma or before a postal code
    ("Vive con su hija en la calle olmos, 23, 2 A de Soria.", "calle olmos, 23, 2 A"),
    ("Remitido por: Iker Mendi calle lizarra 15, 20134 Donostia", "calle lizarra 15"),
]

NEGATIVE = [
    "Se cayó en la calle hace 2 días.",
    "Vive en la calle con su hija desde 2015.",
    "Acudió el 12 de marzo de 2015; lo encontraron en la calle.",
    "Pasa el día en la calle, 3 veces por semana acude al centro.",
    "Pautado Paracetamol 1 g cada 8 horas y Enalapril 20 mg, 1-0-1.",
    "Tratamiento: dosis de 5 mg, 28001 unidades.",
    "Ingresó en el Hospital Clínico San Carlos, 12 de marzo de 2015.",
    "Derivado al Hospital Universitario Virgen del Pilar el 03/05/2016.",
    "Hospital Virgen de la Luz, 2 ingresos previos en 2014.",
    "Calle 3 veces al día, según refiere.",
    "LE CUESTA TRABAJO 2 DÍAS. APARTADO 3 DEL INFORME.",
    # a sender line's service, floor or consulting room is not a street
    "Remitido por: Dr. Luis Sanz. Servicio de Cardiología. Hospital 12 de Octubre. Madrid.",
    "Remitido por: Dra. Ana Gil. Planta 3. Madrid",
    "Firmado por: Dr. Juan Gil. Consulta 12, Madrid",
    # "domicilio:" inside a heading is not an address label
    "Medicación en domicilio: omeprazol 20 mg/24 h, bisoprolol 2,5 mg/24 h.",
    "Hospitalización a Domicilio : alta para seguimiento por su equipo.",
    # an e-mail address after an address label is not a street
    "Responsable clínico: Dr. Luis Mar Dirección: lmar1950@example.org\n",
]


@pytest.mark.parametrize(("text", "street"), POSITIVE)
def test_street_found_with_exact_span(engine: RuleEngine, text: str, street: str) -> None:
    assert street in streets(engine, text)


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_street_in_prose_doses_or_dates(engine: RuleEngine, text: str) -> None:
    assert streets(engine, text) == []


def test_street_after_facility_leaves_the_facility_out(engine: RuleEngine) -> None:
    text = "Hospital Comarcal del Norte San Cibrán s/n (27003) Lugo."
    found = streets(engine, text)
    assert found == ["San Cibrán s/n"]
    assert not any("Hospital" in s or "Norte" in s for s in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # roads with their code, an optional "From-To" and s/n or km
        ("Hospital Comarcal del Sur Ctra. N-340 Cádiz-Málaga, s/n 11300 La Línea",
         "Ctra. N-340 Cádiz-Málaga, s/n"),
        ("Remitido por: Dr. Luis Mar. Carretera C-35, km 4 08400 Granollers", "Carretera C-35, km 4"),
        # a door after "bajo"; "s / n" with spaces; "Prolongación" and "Pz" as street types
        ("Remitido por: Dra. Ana Sol. C/ Olmo 3, bajo der. 41500 Alcalá de Guadaíra", "C/ Olmo 3, bajo der"),
        ("Hospital San Telmo. Prolongación Dr. Gómez, s / n, 41700 Dos Hermanas",
         "Prolongación Dr. Gómez, s / n"),
        ("Responsable clínico: Pedro Gil Sanz Pz de Oriente, 2 30009 Murcia", "Pz de Oriente, 2"),
        # an abbreviated street type in a labelled address does not end the address
        ("Domicilio: Pa. De Los Pinos 22 3A.\n", "Pa. De Los Pinos 22 3A"),
    ],
)
def test_more_street_forms(engine: RuleEngine, text: str, expected: str) -> None:
    assert expected in streets(engine, text)


def test_labelled_line_stops_at_prose_after_a_sentence_end(engine: RuleEngine) -> None:
    assert streets(engine, "Domicilio: Calle Luna 3. Refiere dolor torácico.\n") == ["Calle Luna 3"]
    # a place name or a postal code after the street keeps the line rule out
    assert streets(engine, "Domicilio: Calle Luna 3, Toledo.\n") == ["Calle Luna 3"]


def test_facility_head_abbreviations_are_capitalised(engine: RuleEngine) -> None:
    # "h. u." gives the head "H. U.", so the street after the hospital is found …
    text = "Remitido por: Dr. Luis Mar. H. U. Virgen de la Luz Gaspar Aguilar 90. 46017 Valencia"
    assert streets(engine, text) == ["Gaspar Aguilar 90"]
    # … and a lower-case "h." (hours) is no facility head that would cut the street short
    assert streets(engine, "Pauta cada 12 h. General Ricardos 9 28019 Madrid") == ["General Ricardos 9"]
