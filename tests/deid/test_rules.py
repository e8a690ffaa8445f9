"""RuleEngine on synthetic snippets: labels, exact spans, checksums, context and languages."""

from __future__ import annotations

import pytest

from alia_clin.deid.rules import PhiMatch, RuleEngine, resolve_overlaps
from alia_clin.errors import AliaClinValueError


def spans(engine: RuleEngine, text: str) -> set[tuple[str, str]]:
    """Return (label, covered text) pairs found in ``text``."""
    return {(m.label, text[m.start:m.end]) for m in engine.analyze(text)}


PATIENT, STAFF, AGE = "NOMBRE_SUJETO_ASISTENCIA", "NOMBRE_PERSONAL_SANITARIO", "EDAD_SUJETO_ASISTENCIA"
ID, DATE = "ID_SUJETO_ASISTENCIA", "FECHAS"


def texts_of(engine: RuleEngine, text: str, label: str) -> list[str]:
    """Return the covered texts of the ``label`` matches in ``text``, in text order."""
    return [text[m.start:m.end] for m in engine.analyze(text) if m.label == label]


def test_header_block(engine: RuleEngine) -> None:
    text = (
        "Nombre: Lucía.\nNHC: 4412093.\nNASS: 31 77712345 09.\n"
        "Domicilio: Calle del Olmo Seco, 14, 3ºB.\n"
        "Localidad/ Provincia: Teruel.\nCP: 44002.\nFecha de nacimiento: 07/02/1961.\nPaís: España.\n"
        "Edad: 62 años Sexo: M.\nEpisodio: 55501234.\nMédico: Pedro Gil NºCol: 44 44 10293.\n"
    )
    found = spans(engine, text)
    for expected in [
        ("ID_SUJETO_ASISTENCIA", "4412093"),
        ("ID_ASEGURAMIENTO", "31 77712345 09"),  # invalid control: found through the label
        ("CALLE", "Calle del Olmo Seco, 14, 3ºB"),
        ("TERRITORIO", "Teruel"),
        ("TERRITORIO", "44002"),
        ("FECHAS", "07/02/1961"),
        ("PAIS", "España"),
        ("EDAD_SUJETO_ASISTENCIA", "62 años"),
        ("SEXO_SUJETO_ASISTENCIA", "M"),
        ("ID_CONTACTO_ASISTENCIAL", "55501234"),
        ("ID_TITULACION_PERSONAL_SANITARIO", "44 44 10293"),
    ]:
        assert expected in found, expected


def test_prose_age_sex_and_family(engine: RuleEngine) -> None:
    text = (
        "Varón de 53 años que consulta. Su hermana de 60 años de edad está sana. "
        "A los 3 meses de la cirugía."
    )
    found = spans(engine, text)
    assert ("SEXO_SUJETO_ASISTENCIA", "Varón") in found
    assert ("EDAD_SUJETO_ASISTENCIA", "53 años") in found
    assert ("EDAD_SUJETO_ASISTENCIA", "60 años") not in found
    assert ("EDAD_SUJETO_ASISTENCIA", "3 meses") not in found


def test_checksums_bare_ids(engine: RuleEngine) -> None:
    good = spans(engine, "DNI 12345678Z y afiliado 28 12345678 40, cuenta ES91 2100 0418 4502 0005 1332.")
    assert ("ID_SUJETO_ASISTENCIA", "12345678Z") in good
    assert ("ID_ASEGURAMIENTO", "28 12345678 40") in good
    assert ("OTROS_SUJETO_ASISTENCIA", "ES91 2100 0418 4502 0005 1332") in good
    bad = spans(engine, "Número 12345678A y afiliado 28 12345678 41, cuenta ES92 2100 0418 4502 0005 1332.")
    assert not any(label in {"ID_SUJETO_ASISTENCIA", "ID_ASEGURAMIENTO"} for label, _ in bad)
    assert not any(label == "OTROS_SUJETO_ASISTENCIA" for label, _ in bad)


def test_phone_fax_email_url(engine: RuleEngine) -> None:
    text = (
        "Tel.: 976 55 12 34 Fax: 976-551-299 E-mail: ana.gil@salud.example.es "
        "Web: www.salud-ejemplo.es/citas"
    )
    found = spans(engine, text)
    assert ("NUMERO_TELEFONO", "976 55 12 34") in found
    assert ("NUMERO_FAX", "976-551-299") in found
    assert ("CORREO_ELECTRONICO", "ana.gil@salud.example.es") in found
    assert ("URL_WEB", "www.salud-ejemplo.es/citas") in found
    assert not any(label == "URL_WEB" and "@" in t for label, t in found)
    assert spans(engine, "correo: pepe.es@clinica.org") == {("CORREO_ELECTRONICO", "pepe.es@clinica.org")}
    assert ("NUMERO_TELEFONO", "612345678") in spans(engine, "Móvil +34 612345678.") | spans(
        engine, "Móvil 612345678."
    )


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Ingresó el 3 de marzo de 2015 por disnea.", "3 de marzo de 2015"),
        ("En marzo de 2015 inició tratamiento.", "marzo de 2015"),
        ("Va ingressar el 3 de març de 2015.", "3 de març de 2015"),
        ("Va ingressar el 12 d'abril del 2016.", "12 d'abril del 2016"),
        ("Ospitalera 2015eko martxoaren 3an etorri zen.", "2015eko martxoaren 3an"),
        ("Ingresou o 3 de xuño de 2015 no hospital.", "3 de xuño de 2015"),
        ("Alta o 14 de decembro.", "14 de decembro"),
        ("Diagnosticado en 2006 de LLC.", "2006"),
        ("Control el 21-03-07 sin cambios.", "21-03-07"),
    ],
)
def test_dates_each_language(engine: RuleEngine, text: str, date: str) -> None:
    assert ("FECHAS", date) in spans(engine, text)


def test_bare_number_is_not_a_year(engine: RuleEngine) -> None:
    assert not any(label == "FECHAS" for label, _ in spans(engine, "Recibió 2000 mg de paracetamol."))


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Vive en la calle Mayor, 12, 2º dcha de Soria.", "calle Mayor, 12, 2º dcha"),
        ("Remitido por: Dra. Sara Luz. Avda. de la Paz, 45 50008 Zaragoza", "Avda. de la Paz, 45"),
        ("Adreça: Carrer de la Riera, 8, 1r 2a\n", "Carrer de la Riera, 8, 1r 2a"),
        ("Domicili: Passeig de Gràcia, 101\n", "Passeig de Gràcia, 101"),
        ("Helbidea: Nagusia kalea 5, 3. ezkerra\n", "Nagusia kalea 5, 3. ezkerra"),
        ("Enderezo: Rúa do Vilar, 22, 1º\n", "Rúa do Vilar, 22, 1º"),
        ("Se trasladó a Praza do Obradoiro, 3 en 2010.", "Praza do Obradoiro, 3"),
    ],
)
def test_streets_each_language(engine: RuleEngine, text: str, street: str) -> None:
    assert ("CALLE", street) in spans(engine, text)


def test_ages_each_language(engine: RuleEngine) -> None:
    assert ("EDAD_SUJETO_ASISTENCIA", "53 anys") in spans(engine, "Home de 53 anys amb dolor.")
    assert ("EDAD_SUJETO_ASISTENCIA", "53 urte") in spans(engine, "53 urteko gizona etorri da.")
    assert ("EDAD_SUJETO_ASISTENCIA", "53 anos") in spans(engine, "Muller de 53 anos con dor.")
    assert ("SEXO_SUJETO_ASISTENCIA", "gizona") in spans(engine, "53 urteko gizona etorri da.")


def test_facilities_and_health_cards(engine: RuleEngine) -> None:
    text = "Derivada al Hospital Universitario Virgen del Pilar desde el Centro de Salud Las Eras."
    found = spans(engine, text)
    assert ("HOSPITAL", "Hospital Universitario Virgen del Pilar") in found
    assert ("CENTRO_SALUD", "Centro de Salud Las Eras") in found
    assert ("ID_ASEGURAMIENTO", "PEGA0850101002") in spans(engine, "CIP PEGA0850101002.")
    assert ("ID_ASEGURAMIENTO", "AN0123456789") in spans(engine, "Tarjeta AN0123456789.")


def test_overlaps_and_options() -> None:
    a = PhiMatch(0, 10, "A", 0.6, "x")
    b = PhiMatch(5, 12, "B", 0.9, "y")
    c = PhiMatch(12, 14, "C", 0.5, "z")
    assert resolve_overlaps([a, b, c]) == [b, c]
    only_dates = RuleEngine(("es",), labels={"FECHAS"})
    assert {m.label for m in only_dates.analyze("Edad: 40 años. Fecha: 01/02/2003.")} == {"FECHAS"}
    assert RuleEngine(min_score=1.01).analyze("Fecha: 01/02/2003.") == []
    with pytest.raises(AliaClinValueError, match="E005"):
        RuleEngine(("fr",))


def test_analyze_is_deterministic_and_sorted(engine: RuleEngine) -> None:
    text = "NHC: 123456. Tel: 600 111 222. 3 de marzo de 2015."
    first = engine.analyze(text)
    assert first == engine.analyze(text)
    assert [m.start for m in first] == sorted(m.start for m in first)


READINGS = [
    "Analítica: hemoglobina 12,7 g/dl. Leucocitos: 10300. Plaquetas: 354000. Coagulación normal.",
    "Troponina T 279 y NT-proBNP 12626. Se realiza ecocardiograma urgente.",
    "Plaquetas 89 x10^9/L (nadir 31000). Bioquímica: glucosa 139 mg/dl.",
    "Colecalciferol 25000 UI (1 ampolla cada 30 días), pancreatina 10000 U (3-3-3).",
    "Trombofilia con mutación del gen de la protrombina 20210A. EPOC GOLD B.",
    "Creatinina normal, Leucocitos 17850 Neutrófilos 86 %. Ca 125: 46852 U/ml.",
    "Tinzaparina 14000U cada 24 horas. AFP 30571, BHGC desconocida.",
]


@pytest.mark.parametrize("text", READINGS)
def test_counts_and_doses_are_no_postal_codes(engine: RuleEngine, text: str) -> None:
    assert not any(label == "TERRITORIO" for label, _ in spans(engine, text))


@pytest.mark.parametrize(("text", "code", "city"), [
    ("Calle del Abedul 5-7, 2º dcha 28036 Madrid, España", "28036", "Madrid"),
    ("Avda. Amazonas Central, SN 28300, Aranjuez", "28300", "Aranjuez"),
    ("C/ Illas 5-5º izquierda 33012 Oviedo", "33012", "Oviedo"),
    ("Altos de Nava, s/n 24071 León", "24071", "León"),
    ("Hospital Universitario de Navarra 31008 Pamplona", "31008", "Pamplona"),
])
def test_postal_codes_after_floors_and_names_stay(
    engine: RuleEngine, text: str, code: str, city: str
) -> None:
    found = spans(engine, text)
    assert ("TERRITORIO", code) in found and ("TERRITORIO", city) in found


def test_street_stops_before_postal_code_and_phone(engine: RuleEngine) -> None:
    text = "Domicilio: Calle Mayor 12, 3º B, 28013 Madrid. Tel.: 612 345 678."
    found = spans(engine, text)
    assert ("CALLE", "Calle Mayor 12, 3º B") in found
    assert ("TERRITORIO", "28013") in found
    assert ("TERRITORIO", "Madrid") in found
    assert ("NUMERO_TELEFONO", "612 345 678") in found
    assert [s for label, s in found if label == "CALLE"] == ["Calle Mayor 12, 3º B"]


@pytest.mark.parametrize(
    ("text", "street"),
    [
        # untyped street right after a hospital name, before the postal code
        ("Hospital General Universitario Pedro Soto, s/n 02006 Albacete.", "Pedro Soto, s/n"),
        ("Hospital de Soria Monte Verde, 7 24071 Pueblo.", "Monte Verde, 7"),
        # abbreviations inside the name, dotted street type
        ("Ver: Dra. Ana Sol. Calle del Dr. Pérez Gil, 46, 28007 Madrid", "Calle del Dr. Pérez Gil, 46"),
        ("Ver: Dra. Ana Sol. Avenida. Castellana, 261 E-28046 Madrid", "Avenida. Castellana, 261"),
        # floor and door tails; "E-" of the postal code is not a door
        ("Ver: Dr. Luis Mar. Plaza de la Luna, 32 - P1- 2B 41003 Sevilla", "Plaza de la Luna, 32 - P1- 2B"),
        ("Ver: Dr. Luis Mar, calle Galaxia 6, esc. 2, 2ºb 28023. Madrid", "calle Galaxia 6, esc. 2, 2ºb"),
        ("Ver: Dr. Luis Mar. C/ Juan Bosco, 17, 2º Izda. 31007 Pamplona", "C/ Juan Bosco, 17, 2º Izda"),
        ("Ver: Dr. Luis Mar. C/ Ramón y Cajal, 3 E-47005 Valladolid", "C/ Ramón y Cajal, 3"),
        ("Ver: Dr. Luis Mar. Carretera Nacional 330 km 539 50800 Zuera", "Carretera Nacional 330 km 539"),
        ("Ver: Dr. Luis Mar. Avda. Martín Lagos, s/n C.P. 28045 Madrid", "Avda. Martín Lagos, s/n"),
    ],
)
def test_street_patterns(engine: RuleEngine, text: str, street: str) -> None:
    assert ("CALLE", street) in spans(engine, text)


def test_street_never_crosses_a_sentence_end(engine: RuleEngine) -> None:
    found = spans(engine, "Vive en la calle Mayor. A las 3 de la tarde acudió.")
    assert not any(label == "CALLE" for label, _ in found)
    assert ("CALLE", "Calle Luna 3") in spans(engine, "Domicilio: Calle Luna 3. Refiere dolor.\n")


def test_hoisted_lookbehind_keeps_matches() -> None:
    engine = RuleEngine(labels={"ID_SUJETO_ASISTENCIA"})
    found = {(m.start, m.end) for m in engine.analyze("x12345678Z 12345678Z")}
    assert found == {(11, 20)}


def test_patient_names_after_labels(engine: RuleEngine) -> None:
    text = (
        "Nombre:  Elvira.\nApellidos: De la Fuente Saiz.\nNom: Jordi\nIzena: Miren\n"
        "Abizenak: Etxeberria Goñi\n"
    )
    found = spans(engine, text)
    for name in ("Elvira", "De la Fuente Saiz", "Jordi", "Miren", "Etxeberria Goñi"):
        assert ("NOMBRE_SUJETO_ASISTENCIA", name) in found


def test_patient_name_in_columns_or_surnames_first(engine: RuleEngine) -> None:
    """A labelled patient name goes on across a tab, a run of spaces or a comma ("Apellidos,
    Nombre"); each part is its own span. A next column is no name part when it does not end there."""
    cases = [
        ("Apellidos:\tGil\tSanz\nNombre:\tAna Belén\n", ["Gil", "Sanz", "Ana Belén"]),
        ("Apellido 1: Gil     Apellido 2: Sanz      Nombre: Ana\n", ["Gil", "Sanz", "Ana"]),
        ("Paciente: Gil Sanz, Ana María       Edad: 58 años\n", ["Gil Sanz", "Ana María"]),
        ("PACIENTE: GIL      SANZ      ANA     NHC: 1234567\n", ["GIL", "SANZ", "ANA"]),
        ("PACIENTE: GIL SANZ, ANA MARÍA.\n", ["GIL SANZ", "ANA MARÍA"]),
        ("Cognoms:\tPuig\tSoler\n", ["Puig", "Soler"]),
        ("Nombre: Ana Gil    Fecha de nacimiento: 01/02/1960\n", ["Ana Gil"]),
        ("Paciente: Ana Gil, de 58 años, remitida por disnea.\n", ["Ana Gil"]),
    ]
    for text, names in cases:
        assert sorted(texts_of(engine, text, "NOMBRE_SUJETO_ASISTENCIA")) == sorted(names), names


def test_clinician_names_after_labels_and_titles(engine: RuleEngine) -> None:
    text = (
        "Médico: Tomasa Ruiz-Peral Bosch  NºCol: 44 44 10293.\n"
        "Remitido por: Dra. Inés Gil del Campo Servicio de Cardiología. Hospital Central.\n"
        "Responsable clínico: Dr. D. Ramón Sanz Vidal Calle Mayor 3 44001 Teruel\n"
        "Metgessa: Núria Puig i Soler\n"
        "Atentamente, Dr. Ramón Sanz Vidal.\n"
    )
    found = spans(engine, text)
    for name in ("Tomasa Ruiz-Peral Bosch", "Inés Gil del Campo", "Ramón Sanz Vidal", "Núria Puig i Soler"):
        assert ("NOMBRE_PERSONAL_SANITARIO", name) in found
    names = [value for label, value in found if label.startswith("NOMBRE")]
    assert not any("Servicio" in value or "Calle" in value for value in names)


def test_clinician_name_surnames_first_after_a_label(engine: RuleEngine) -> None:
    """After a clinician label, "Apellidos, Nombre" gives both parts; a bare title in prose does not
    take the word after a comma ("Dr. Gil, Cardiólogo" is the profession)."""
    cases = [
        ("Médico responsable: López Fernández, María\n", ["López Fernández", "María"]),
        ("Firmado: LOPEZ FERNANDEZ, MARIA (Nº Col. 474712345)\n", ["LOPEZ FERNANDEZ", "MARIA"]),
        ("Facultativo: Dr. GARCÍA RUIZ, PEDRO\n", ["GARCÍA RUIZ", "PEDRO"]),
        ("Valorado por el Dr. Gil, Cardiólogo, sin cambios.\n", ["Gil"]),
        ("Médico: Ana Gil, Servicio de Cardiología.\n", ["Ana Gil"]),
    ]
    for text, names in cases:
        assert sorted(texts_of(engine, text, "NOMBRE_PERSONAL_SANITARIO")) == sorted(names), names


def test_a_name_starts_at_a_word_boundary(engine: RuleEngine) -> None:
    """In capitals the name words do not match, and "DRA." must not leave its "A." as an initial."""
    text = "REMITIDO POR: DRA. MARTA RUIZ SOLER. SERVICIO DE CARDIOLOGÍA.\nRemitido por: Dra. Inés Gil.\n"
    found = spans(engine, text)
    assert ("NOMBRE_PERSONAL_SANITARIO", "A.") not in found
    assert ("NOMBRE_PERSONAL_SANITARIO", "Inés Gil") in found


def test_a_locality_stops_before_a_contact_word_in_capitals(engine: RuleEngine) -> None:
    found = spans(engine, "C/ MAYOR, 9. 28009 MADRID E-MAIL: X@Y.ES\n02006 ALBACETE TEL.: 967 597 100\n")
    assert ("TERRITORIO", "MADRID") in found and ("TERRITORIO", "ALBACETE") in found
    assert not any(label == "TERRITORIO" and ("E-MAIL" in value or "TEL" in value) for label, value in found)


def test_names_need_capitals_and_skip_place_titles(engine: RuleEngine) -> None:
    found = spans(engine, "Paciente: mujer de 40 años.\nVive en la Calle del Dr. Fleming 3, 44001 Teruel.\n")
    assert not any(label.startswith("NOMBRE") for label, _ in found)


def test_phones_double_spaced_or_after_a_plural_label(engine: RuleEngine) -> None:
    """Digit groups two spaces apart are one phone; a plural label ("Teléfonos", "Tels.",
    "Móviles", "Telèfons") is context like the singular one."""
    cases = [
        ("Teléfono: 600  111  222.", ["600  111  222"]),
        ("Tfno.: 983  12  34  56 (casa).", ["983  12  34  56"]),
        ("Teléfonos: 976 123 456  976 654 321.", ["976 123 456", "976 654 321"]),
        ("Tels.: 976 123 456, 612 345 678.", ["976 123 456", "612 345 678"]),
        ("Móviles: 612 345 678 y 699 112 233.", ["612 345 678", "699 112 233"]),
        ("Telèfons: 972 123 456.", ["972 123 456"]),
        ("Teléfono: 976 123 456  2 veces al día.", ["976 123 456"]),
        ("Glucemias 98  110  95  102  99 mg/dl; valores 7  8  9  6  5  4  3  2  1.", []),
    ]
    for text, phones in cases:
        assert texts_of(engine, text, "NUMERO_TELEFONO") == phones, phones


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("Mujer, 67 años, sin alergias conocidas.", AGE, ["67 años"]),
        ("Varón, de 58 años, con disnea.", AGE, ["58 años"]),
        ("Paciente (71 años) remitido.", AGE, ["71 años"]),
        ("Varón de 67a. Paciente de 45 a.", AGE, ["67a.", "45 a."]),
        ("Mujer, 2 años de evolución de la disnea.", AGE, []),
        ("Pacientes de 6 a 8 horas de ayuno.", AGE, []),
        ("Fecha y hora: 2024-03-12T10:35:00", DATE, ["2024-03-12"]),
        ("Visto el 03/2024 en consulta.", DATE, ["03/2024"]),
        ("ANA positivos 1/2048 y 1/1280.", DATE, []),
        ("DNI: 12.345.678-Z", ID, ["12.345.678-Z"]),
        ("DNI: 12.345.678-A", ID, []),
        ("D./Dña.: Rosa María Vázquez Iglesias\n", PATIENT, ["Rosa María Vázquez Iglesias"]),
        ("Sr. Antonio García, de 80 años, acude solo.", PATIENT, ["Antonio García"]),
        ("Sr. Antonio García, de 80 años, acude solo.", AGE, ["80 años"]),
        ("La Sra. Ruiz refiere mejoría. Doña Carmen Gil firma.", PATIENT, ["Ruiz", "Carmen Gil"]),
        ("Déficit de vitamina D. Se pauta colecalciferol.", PATIENT, []),
        ("Responsable clínico: Dr. D. Ramón Sanz Vidal\n", PATIENT, []),
        ("Exploración hecha por la enfermera Lucía Martín.", STAFF, ["Lucía Martín"]),
        ("La infermera Núria Vila i Soler fa la cura.", STAFF, ["Núria Vila i Soler"]),
        ("Valorado por la enfermera de enlace.", STAFF, []),
        ("Cura hecha por la enfermera Uxía Otero.", STAFF, ["Uxía Otero"]),
        ("Médico:  Luis  Sanz  del  Campo  NºCol:  28  28  12345\n", STAFF, ["Luis  Sanz  del  Campo"]),
        ("Remitido  por:  Dr.  Pedro  Gil  de  la  Fuente.", STAFF, ["Pedro  Gil  de  la  Fuente"]),
        ("APELLIDOS:  GIL  DE  LA  FUENTE.", PATIENT, ["GIL  DE  LA  FUENTE"]),
        ("Fecha nacimiento: 14/07/1948 (75 años)\n", AGE, ["75 años"]),
        ("Paciente: Juan García Pérez, de 67 años, natural de Soria.", AGE, ["67 años"]),
        ("Dolor en Madrid, de 2 años de evolución.", AGE, []),
    ],
)
def test_forms_that_leaked_from_exports_and_prose(
    engine: RuleEngine, text: str, label: str, expected: list[str]
) -> None:
    """An age after a sex word or "paciente" and a comma or bracket, "67 a." after an introducer,
    ISO timestamps, month/year with a two-digit month and a DNI with thousands dots; names after
    "D./Dña.:", "Sr.", "Doña" (a given name after "D." or "Doña") and after a role noun ("la
    enfermera Lucía Martín"); an age after a birth date in brackets or after a name and ", de".
    Not a duration, a range of hours, a titre, a DNI whose letter does not check, "vitamina D.
    Se", a title after "Dr." or a role noun before no given name."""
    assert texts_of(engine, text, label) == expected


def test_phone_country_code_follows_meddocan(engine: RuleEngine) -> None:
    """MEDDOCAN leaves a leading "+" out of the phone span (the digits of the code stay in)."""
    found = spans(engine, "Tel.: +34 978 123 456. Móvil 0034 612 345 678.")
    assert ("NUMERO_TELEFONO", "34 978 123 456") in found
    assert ("NUMERO_TELEFONO", "0034 612 345 678") in found


def test_all_caps_hospital(engine: RuleEngine) -> None:
    found = spans(engine, "Traslado al HOSPITAL GENERAL DE LA VEGA ALTA. Alta.")
    assert ("HOSPITAL", "HOSPITAL GENERAL DE LA VEGA ALTA") in found


def test_alphanumeric_episode(engine: RuleEngine) -> None:
    found = spans(engine, "Nº episodio: 31-URG-0004567.\nEpisodio: 7788123.\n")
    assert ("ID_CONTACTO_ASISTENCIAL", "31-URG-0004567") in found
    assert ("ID_CONTACTO_ASISTENCIAL", "7788123") in found
