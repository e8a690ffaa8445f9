"""PHI rules on notes written in capitals or in lower case (names, countries, relatives).

Hospital systems export notes in capitals and some notes are typed in lower case; the rules that
read capitalised words found no name there. Every note here is synthetic, written for these tests.
"""

from __future__ import annotations

import pytest

from alia_clin.deid.rules import RuleEngine

from .helpers import phi_pairs

PATIENT = "NOMBRE_SUJETO_ASISTENCIA"
CLINICIAN = "NOMBRE_PERSONAL_SANITARIO"
FAM = "FAMILIARES_SUJETO_ASISTENCIA"


spans = phi_pairs


def labelled(engine: RuleEngine, text: str, label: str) -> list[str]:
    return [t for lab, t in spans(engine, text) if lab == label]


# -- names after a form label or a title ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "patient", "clinician"),
    [
        (
            "NOMBRE: ANA.\nAPELLIDOS: GIL DE LA TORRE.\nMÉDICO: DR. LUIS SANZ PÉREZ NºCOL: 28 28 12345.\n",
            ["ANA", "GIL DE LA TORRE"],
            ["LUIS SANZ PÉREZ"],
        ),
        (
            "nombre: ana.\napellidos: gil de la torre.\nmédico: dr. luis sanz pérez nºcol: 28 28 12345.\n",
            ["ana", "gil de la torre"],
            ["luis sanz pérez"],
        ),
        # the same note as written: the cased rules add nothing to the ordinary ones
        (
            "Nombre: Ana.\nApellidos: Gil de la Torre.\nMédico: Dr. Luis Sanz Pérez NºCol: 28 28 12345.\n",
            ["Ana", "Gil de la Torre"],
            ["Luis Sanz Pérez"],
        ),
    ],
)
def test_names_on_form_lines_in_any_case(
    engine: RuleEngine, text: str, patient: list[str], clinician: list[str]
) -> None:
    assert labelled(engine, text, PATIENT) == patient
    assert labelled(engine, text, CLINICIAN) == clinician


@pytest.mark.parametrize(
    "text",
    ["Responsable médico: Rocío Gavira Moreno.\n", "RESPONSABLE MÉDICA: ROCÍO GAVIRA MORENO.\n",
     "especialidad: cardiología. médico: rocío gavira moreno.\n"],
)
def test_clinician_labels_after_a_field_or_with_their_noun(engine: RuleEngine, text: str) -> None:
    assert [t.lower() for t in labelled(engine, text, CLINICIAN)] == ["rocío gavira moreno"]


@pytest.mark.parametrize(
    ("text", "clinician"),
    [
        ("Médico: Dra. María O'Donnell Ruiz.\n", "María O'Donnell Ruiz"),
        ("Médico: Dra. María O’Donnell Ruiz.\n", "María O’Donnell Ruiz"),
        ("Metge: Dr. Eugeni d'Ors i Rovira.\n", "Eugeni d'Ors i Rovira"),
        ("Remitido por: Dr. Luca D'Angelo Bianchi.\n", "Luca D'Angelo Bianchi"),
        ("MÉDICO: DRA. MARÍA O'DONNELL RUIZ.\n", "MARÍA O'DONNELL RUIZ"),
        ("médico: dra. maría o'donnell ruiz.\n", "maría o'donnell ruiz"),
    ],
)
def test_surnames_with_an_apostrophe_stay_in_the_name(engine: RuleEngine, text: str, clinician: str) -> None:
    assert labelled(engine, text, CLINICIAN) == [clinician]


def test_a_name_in_capitals_ends_before_an_address_or_an_email(engine: RuleEngine) -> None:
    text = (
        "REMITIDO POR: DRA. Mª JOSÉ RUIZ C/ MAYOR 5, 28013 MADRID.\n"
        "RESPONSABLE CLÍNICO: JUAN LEÓN DURO JLEON@EJEMPLO.ES\n"
        "MÉDICO: ROSA  PONS VIDAL  SERVICIO DE CARDIOLOGÍA\n"
    )
    assert labelled(engine, text, CLINICIAN) == ["Mª JOSÉ RUIZ", "JUAN LEÓN DURO", "ROSA  PONS VIDAL"]
    assert ("CORREO_ELECTRONICO", "JLEON@EJEMPLO.ES") in spans(engine, text)
    assert ("CALLE", "C/ MAYOR 5") in spans(engine, text)


def test_a_title_in_prose_gives_the_name_up_to_a_function_word(engine: RuleEngine) -> None:
    assert labelled(engine, "VALORADO POR EL DR. GARCÍA QUE INDICA INGRESO.\n", CLINICIAN) == ["GARCÍA"]
    assert labelled(engine, "valorado por el dr. garcía que indica ingreso.\n", CLINICIAN) == ["garcía"]


@pytest.mark.parametrize(
    "text",
    [
        # a heading that ends in a label word, not a form field
        "INFORME CLÍNICO DEL PACIENTE: ADOLESCENTE DE 14 AÑOS CON FIEBRE.\n",
        "Informe clínico del paciente: adolescente de 14 años con fiebre.\n",
        # lower-case words after a capitalised label in an ordinary note are not a name
        "Paciente: refiere dolor torácico desde ayer.\n",
        # no end of a name in sight: prose, not a name
        "REMITIDO POR: SU MÉDICO DE CABECERA PARA VALORACIÓN DE DISNEA DE ESFUERZO PROGRESIVA Y EDEMAS\n",
        # a clinical statement after a form label, in capitals or lower case (name_prose_words)
        "PACIENTE: REFIERE DOLOR TORÁCICO DESDE HACE DOS DÍAS.\n",
        "paciente: refiere dolor torácico desde ayer.\n",
        "ENFERMERA: TOMA DE CONSTANTES NORMAL.\n",
        "enfermera: paciente consciente y orientada.\n",
        "MÉDICO: VALORA Y PAUTA FUROSEMIDA.\n",
        "METGE: PRESENTA FEBRE DES D'AHIR.\n",
        "PACIENTE: ESTÁ ESTABLE, AFEBRIL.\n",
        # a service, not a person (specialty names are name stop words)
        "REMITIDO POR: CARDIOLOGÍA DE ZONA.\n",
        "MÉDICO: UROLOGIA\n",
        "Remitido por: Neumología.\n",
        # a label word qualifying the noun before it: "tratamiento médico:" heads a drug list
        "Tratamiento médico: telmisartán 40 mg/día, bisoprolol 2,5 mg.\n",
        "TRATAMIENTO MÉDICO: ENALAPRIL 10 MG/12 H.\n",
        "siguiente tratamiento médico: ácido acetilsalicílico 100 mg al día.\n",
    ],
)
def test_no_name_where_the_words_are_prose(engine: RuleEngine, text: str) -> None:
    assert not labelled(engine, text, PATIENT) and not labelled(engine, text, CLINICIAN)


def test_a_name_ends_before_a_clinical_verb(engine: RuleEngine) -> None:
    assert labelled(engine, "DR. GARCÍA INDICA INGRESO EN PLANTA.\n", CLINICIAN) == ["GARCÍA"]
    assert labelled(engine, "MÉDICO: DRA. ANA GIL VALORA AL PACIENTE.\n", CLINICIAN) == ["ANA GIL"]
    assert labelled(engine, "NOMBRE: JUAN PÉREZ LÓPEZ  EDAD: 54\n", PATIENT) == ["JUAN PÉREZ LÓPEZ"]


def test_a_name_ends_before_a_particle_and_a_stop_word(engine: RuleEngine) -> None:
    # without that end the name would have none, and would leak
    text = "REMITIDO POR: DRA. ANA GIL TORRES DE UROLOGÍA.\n"
    assert labelled(engine, text, CLINICIAN) == ["ANA GIL TORRES"]
    assert labelled(engine, text.lower(), CLINICIAN) == ["ana gil torres"]


def test_a_lone_particle_is_never_a_name_word(engine: RuleEngine) -> None:
    # "DE" alone before the digits must not make "ROSA DE" a name
    assert labelled(engine, "NOMBRE: ROSA DE 14 AÑOS.\n", PATIENT) == []
    assert labelled(engine, "APELLIDOS: RUIZ DE LA FUENTE.\n", PATIENT) == ["RUIZ DE LA FUENTE"]


# -- countries -----------------------------------------------------------------------------------


def test_countries_in_capitals_and_lower_case(engine: RuleEngine) -> None:
    text = "PAÍS: FRANCIA.\npaís de nacimiento: españa.\nnatural de marruecos.\n"
    assert labelled(engine, text, "PAIS") == ["FRANCIA", "españa", "marruecos"]


@pytest.mark.parametrize(
    "text",
    [
        "los resultados irán al centro de salud.\n",  # a verb
        "trabaja en cuba de fermentación.\n",  # a vat
        "LA PACIENTE, ARGENTINA DE 40 AÑOS.\n",  # a nationality
    ],
)
def test_country_names_that_are_common_words_stay_words(engine: RuleEngine, text: str) -> None:
    assert labelled(engine, text, "PAIS") == []


# -- relatives -----------------------------------------------------------------------------------


def test_relatives_in_capitals_after_an_article_or_possessive(engine: RuleEngine) -> None:
    text = "LA MADRE TIENE MIOPÍA Y SU HERMANO ASMA. LA FAMILIA DESCONOCE EL MOTIVO.\n"
    assert labelled(engine, text, FAM) == ["MADRE", "HERMANO", "FAMILIA"]


@pytest.mark.parametrize(
    "text",
    [
        "DOMICILIO: AVDA. DEL PADRE CLARET 12.\n",
        "HOSPITAL GENERAL HERMANOS FALCÓ.\n",
        "CÉLULAS MADRE Y SIN HIJOS.\n",
        "ANTECEDENTES FAMILIARES: SIN INTERÉS.\n",
    ],
)
def test_kin_words_in_capitals_without_an_article_stay_unmarked(engine: RuleEngine, text: str) -> None:
    assert labelled(engine, text, FAM) == []
