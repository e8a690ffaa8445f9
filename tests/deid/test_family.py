"""Relatives of the patient (MEDDOCAN FAMILIARES_SUJETO_ASISTENCIA): rules, overlaps, surrogates.

Every sentence here is synthetic, written for these tests.
"""

from __future__ import annotations

import re

import pytest
from presidio_analyzer import AnalyzerEngine

from alia_clin.deid.anonymize import anonymize
from alia_clin.deid.recognizers import AliaPatternRecognizer, build_recognizers
from alia_clin.deid.rules import RuleEngine, gated_finditer
from alia_clin.deid.specs import _alt, _trie_alt, build_specs
from alia_clin.deid.surrogates import SurrogateGenerator

from .helpers import phi_pairs

FAM = "FAMILIARES_SUJETO_ASISTENCIA"
SECRET = "clave-de-prueba"


spans = phi_pairs


def family(engine: RuleEngine, text: str) -> list[str]:
    """Return the texts of the relative spans found in ``text``, in text order."""
    return [t for label, t in spans(engine, text) if label == FAM]


# -- what is marked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acude acompañada de su hija. La familia solicita el alta y los padres refieren fiebre.",
         ["hija", "familia", "padres"]),
        ("Antecedentes familiares: tío materno con diabetes.\nPrimo de rama paterna con epilepsia.",
         ["tío materno", "Primo de rama paterna"]),
        ("Tiene tres hermanos y 4 hermanas; dos hijas sanas y cinco hermanos varones fallecidos.",
         ["tres hermanos", "4 hermanas", "dos hijas", "cinco hermanos varones"]),
        ("Es la menor de dos familiares afectos; el resto de los familiares, sanos.",
         ["dos familiares", "familiares"]),
        ("Vive con su mujer y su hermano gemelo; la abuela paterna y el hermano mayor, sanos.",
         ["mujer", "hermano gemelo", "abuela paterna", "hermano mayor"]),
        ("Tras el alta se avisa a su madre Lucía Ferrer Gil por teléfono.", ["madre Lucía Ferrer Gil"]),
        ("Se habló con los padres  Irene y José Luis para tranquilizarles.", ["padres  Irene y José Luis"]),
        ("Firma el consentimiento paterno para la intervención.", ["paterno"]),
        ("HERMANO con asma.", ["HERMANO"]),
    ],
)
def test_spanish_kin_spans(engine: RuleEngine, text: str, expected: list[str]) -> None:
    assert family(engine, text) == expected


def test_named_relative_in_apposition_or_after_a_label_is_its_own_span(engine: RuleEngine) -> None:
    text = "Acude con su padre (Andrés) y su hermana mayor, Noelia.\nMadre: Carmen Ruiz Peña."
    assert family(engine, text) == ["padre", "Andrés", "hermana mayor", "Noelia", "Madre", "Carmen Ruiz Peña"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acompañante: su esposa, Dña. Carmen Ruiz\n", ["esposa", "Carmen Ruiz"]),
        ("Vive con su hijo, D. Andrés Gil.\n", ["hijo", "Andrés Gil"]),
        ("Persona de contacto: Ana García Soler (hija) - Tel. 600 111 222\n", ["Ana García Soler", "hija"]),
        ("Cuidadora: Sra. Noelia Peña\n", ["Noelia Peña"]),
        ("Persona de contacte: Jordi Puig\n", ["Jordi Puig"]),
        ("Contacto: Hospital de día, planta 3.\n", []),
        ("Acude con su hija Amaia y su hijo Iñaki.", ["hija Amaia", "hijo Iñaki"]),
        ("Acode coa súa filla Sabela.", ["filla Sabela"]),
        ("Ve amb la seva filla Laia.", ["filla Laia"]),
    ],
)
def test_relative_named_after_a_courtesy_title_a_line_end_or_a_contact_label(
    engine: RuleEngine, text: str, expected: list[str]
) -> None:
    """"su esposa, Dña. Carmen Ruiz" at a line end and a contact person's label ("Persona de
    contacto:", "Cuidadora:", ca "Persona de contacte:") name a relative; the name is its own
    span, the title is not in it, and a label before no given name finds nothing. Basque,
    Galician and Catalan given names ("Amaia", "Sabela", "Laia") count as given names."""
    assert family(engine, text) == expected


def test_a_word_that_is_no_given_name_does_not_make_a_named_relative(engine: RuleEngine) -> None:
    # "Rh" is no given name: only the kin word is marked
    assert family(engine, "Diabetes gestacional y madre Rh negativo.") == ["madre"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Antecedents familiars: la mare i el germà gran amb diabetis. Els seus pares viuen a casa.",
         ["mare", "germà gran", "pares"]),
        ("La seva dona i dues filles l'acompanyen. L'avi matern va morir als 70 anys.",
         ["dona", "dues filles", "avi matern", "70 anys"]),
    ],
)
def test_catalan(engine: RuleEngine, text: str, expected: list[str]) -> None:
    assert family(engine, text) == expected


def test_basque(engine: RuleEngine) -> None:
    text = "Aurrekari familiarrak: aitak eta bere amak diabetesa dute. Anaia zaharrena osasuntsu dago."
    assert family(engine, text) == ["aitak", "amak", "Anaia zaharrena"]


def test_galician(engine: RuleEngine) -> None:
    text = "Antecedentes familiares: a nai e o irmán maior con diabetes. Os pais acompañan ao paciente."
    assert family(engine, text) == ["nai", "irmán maior", "pais"]


# -- what is not marked --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Sin antecedentes familiares de interés.",
        "Antecedentes personales y familiares sin interés.",
        "Seguimiento en medicina familiar y por su médico de familia.",
        "Trasplante autólogo de células madre en 2019.",
        "Exploración de los pares craneales normal.",
        "Toma lactancia materna exclusiva.",
        "Es hijo único. Casado y sin hijos.",
        "No refiere relaciones con pareja de riesgo.",
        "Parells cranials normals. Antecedents familiars sense interès.",
        "Ama de casa, sin hábitos tóxicos.",
    ],
)
def test_negative_sentences(engine: RuleEngine, text: str) -> None:
    assert family(engine, text) == []


def test_woman_as_sex_word_stays_sex_and_age(engine: RuleEngine) -> None:
    text = "Mujer de 45 años que consulta por disnea."
    assert spans(engine, text) == [("SEXO_SUJETO_ASISTENCIA", "Mujer"), ("EDAD_SUJETO_ASISTENCIA", "45 años")]


def test_place_names_with_kin_words_stay_places(engine: RuleEngine) -> None:
    text = "Domicilio: Avda. del Padre Claret 12.\nHospital General Hermanos Falcó 3, 02006 Albacete."
    found = spans(engine, text)
    assert FAM not in {label for label, _ in found}
    assert ("CALLE", "Avda. del Padre Claret 12") in found


# -- ages of relatives and overlaps ----------------------------------------------------------------


def test_relative_age_is_a_span_of_its_own(engine: RuleEngine) -> None:
    text = (
        "Antecedentes familiares:\nHermano menor de 58 años con nefropatía.\n"
        "Hermana sana de 61 años.\nAbuela materna intervenida a los 40 años de cataratas.\n"
        "Dos primas de 12 y 9 años, sanas."
    )
    assert family(engine, text) == [
        "Hermano menor", "58 años", "Hermana", "61 años", "Abuela materna", "40 años",
        "Dos primas", "12", "9 años",
    ]
    assert "EDAD_SUJETO_ASISTENCIA" not in {label for label, _ in spans(engine, text)}


def test_relative_age_wins_a_tie_with_the_patient_age_rule(engine: RuleEngine) -> None:
    # "edad" before the number boosts the patient-age rule to 1.0: the relative still wins
    text = "Padre operado en edad avanzada a los 70 años."
    assert spans(engine, text) == [(FAM, "Padre"), (FAM, "70 años")]


def test_patient_age_next_to_a_relative_stays_a_patient_age(engine: RuleEngine) -> None:
    text = "Varón de 45 años. Su madre es diabética."
    assert spans(engine, text) == [
        ("SEXO_SUJETO_ASISTENCIA", "Varón"), ("EDAD_SUJETO_ASISTENCIA", "45 años"), (FAM, "madre"),
    ]
    # a clause break ("que") keeps the age with the patient
    assert family(engine, "Su madre refiere que a los 3 años tuvo convulsiones.") == ["madre"]
    # another relative between the kin word and the age: the patient is described
    assert family(engine, "Hijo de padres sanos operado a los 3 años.") == ["Hijo", "padres"]


def test_patient_name_label_wins_over_a_kin_word_inside_it(engine: RuleEngine) -> None:
    assert spans(engine, "Apellidos: Madre Torres.") == [("NOMBRE_SUJETO_ASISTENCIA", "Madre Torres")]
    text = "Nombre: Ana Torres.\nMadre: Carmen Ruiz."
    assert spans(engine, text) == [
        ("NOMBRE_SUJETO_ASISTENCIA", "Ana Torres"), (FAM, "Madre"), (FAM, "Carmen Ruiz"),
    ]


def test_kin_phrase_that_loses_an_overlap_keeps_its_noun(engine: RuleEngine) -> None:
    # "varón de 27 años" is read as sex + age; the shorter kin noun survives
    found = spans(engine, "El hijo varón de 27 años está sano.")
    assert (FAM, "hijo") in found
    assert ("SEXO_SUJETO_ASISTENCIA", "varón") in found


def test_family_rules_run_before_the_patient_age_rules() -> None:
    names = [s.name for s in build_specs()]
    assert names.index("FamilyRecognizer") < names.index("AgeRecognizer")


# -- Presidio --------------------------------------------------------------------------------------


def test_presidio_analyzer_finds_relatives(offline_analyzer: AnalyzerEngine) -> None:
    text = "Acude con su madre Lucía Ferrer. Tío materno fallecido a los 60 años."
    results = offline_analyzer.analyze(text, language="es", entities=[FAM])
    found = {text[r.start:r.end] for r in results if r.score >= 0.5}
    assert {"madre Lucía Ferrer", "Tío materno", "60 años"} <= found
    names = {r.recognition_metadata["recognizer_name"] for r in results}
    assert names == {"FamilyRecognizer"}


@pytest.mark.parametrize(("language", "text", "expected"), [
    ("ca", "La mare i els seus pares.", {"mare", "pares"}),
    ("eu", "Bere amak eta aitak.", {"amak", "aitak"}),
    ("gl", "A nai e o irmán maior.", {"nai", "irmán maior"}),
])
def test_recognizer_per_language(language: str, text: str, expected: set[str]) -> None:
    rec = next(r for r in build_recognizers(language) if r.name == "FamilyRecognizer")
    assert isinstance(rec, AliaPatternRecognizer)
    results = rec.analyze(text, entities=[FAM])
    assert expected <= {text[r.start:r.end] for r in results}


# -- surrogates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["madre", "padres", "tres hermanos", "Tío materno", "Primo de rama paterna",
                                   "familia", "cinco hermanos varones", "la seva dona"])
def test_kin_only_surrogate_keeps_the_kin_words(value: str) -> None:
    assert SurrogateGenerator(SECRET, "pac-1").surrogate(FAM, value) == value


def test_named_relative_surrogate_keeps_kin_word_and_replaces_the_name() -> None:
    gen = SurrogateGenerator(SECRET, "pac-1")
    out = gen.surrogate(FAM, "madre Lucía Ferrer") or ""
    kin, given, surname = out.split(" ")
    assert kin == "madre"
    assert given != "Lucía" and surname != "Ferrer"
    # the same name in a patient-name span gets the same surrogate words
    assert gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Lucía Ferrer") == f"{given} {surname}"


def test_relative_age_surrogate_is_shifted_like_an_age() -> None:
    out = SurrogateGenerator(SECRET, "pac-1").surrogate(FAM, "58 años") or ""
    number, unit = out.split(" ")
    assert unit == "años"
    assert 1 <= abs(int(number) - 58) <= 5


def test_anonymize_text_with_relatives(engine: RuleEngine) -> None:
    text = "Acude con su madre Lucía Ferrer. Hermano menor de 58 años."
    phi = [(m.start, m.end, m.label) for m in engine.analyze(text)]
    tagged = anonymize(text, phi, operator="tag").text
    assert tagged == f"Acude con su [{FAM}]. [{FAM}] de [{FAM}]."
    out = anonymize(text, phi, operator="surrogate", secret=SECRET, patient_key="pac-1").text
    assert out.startswith("Acude con su madre ") and "Lucía" not in out and "Ferrer" not in out
    assert "Hermano menor de " in out and "58 años" not in out


# -- the fast engine's start gate ------------------------------------------------------------------

GATE_NOTES = [
    "Antecedentes familiares:\nHermano menor de 58 años.\nDos primas de 12 y 9 años, sanas.\n"
    "Madre: Carmen Ruiz. Acude con su padre (Andrés) y 3 hermanos. Tío materno operado a los 40 años.",
    "Fecha: 12/03/2020. 25 mg/día, 3 comprimidos. Calle Hermanos Falcó 3, 02006 Albacete.",
    "La seva dona i dues filles. Bere amak eta aitak. A nai e o irmán maior. Consentimiento paterno.",
    "NACIDO EN MARRUECOS, VIVE EN ESPAÑA DESDE 2010. VIAJE A REINO UNIDO Y A COSTA DE MARFIL.",
    "natural de rumanía; reside en francia. viajó a estados unidos y a nueva zelanda. madre: ana gil.",
    "Remitido al Hospital Universitario Doctor Peset Gaspar Aguilar 90. 46017 Valencia. Centro de Salud "
    "Las Huelgas Constitución, 3 13600. C.S. Delicias Calle Mayor 4, 50017. Dr. Luis Sanz. DRA. ANA GIL\n"
    "PACIENTE: JUAN PÉREZ. Médico: Dra. Gil. nombre: juan pérez. médico: dr. luis sanz. dra. ana gil.",
    "Persona de contacto: Ana Gil (hija). Cuidadora: Sra. Noelia Peña.",
    "El Sr. García y Doña Carmen Gil. D. Juan Sanz. La enfermera Lucía Martín. Dr. D. Ramón Sanz.",
    "",
]


def test_gated_runs_match_finditer(engine: RuleEngine) -> None:
    """A runner with a ``starts`` regex finds exactly what scanning with its regex finds.

    Case-insensitive runners (``on_lower``) run over the lower-cased note, so they are compared there.
    """
    gated = [run for run, members in engine._runs if run.starts is not None]
    assert len(gated) >= 8
    assert any(run.on_lower for run in gated)  # the country names in capitals or lower case
    for note in GATE_NOTES:
        for run in gated:
            assert run.starts is not None
            text = note.lower() if run.on_lower else note
            positions = [m.start() for m in run.starts.finditer(text)]
            expected = [m.span() for m in run.regex.finditer(text)]
            assert [m.span() for m in gated_finditer(run.regex, text, positions)] == expected


def test_gated_finditer_keeps_finditer_semantics() -> None:
    regex = re.compile(r"(?<![\w])ab+")
    text = "ab abb xab abbb"
    positions = [0, 1, 3, 7, 11]  # a superset of the match starts, one inside "xab"
    assert [m.group() for m in gated_finditer(regex, text, positions)] == ["ab", "abb", "abbb"]
    # matches do not overlap: a start inside an earlier match is skipped
    assert [m.span() for m in gated_finditer(re.compile(r"a\w+"), "aaaa", [0, 1, 2])] == [(0, 4)]


def test_trie_matches_the_same_words_as_an_alternation() -> None:
    words = ["hijo", "hijos", "hija", "hijas", "hermano", "her", "tía", "tío", "Tía", "avi", "àvia"]
    trie = re.compile(rf"(?<![\w]){_trie_alt(words, spaces=False)}(?![\w])")
    alternation = re.compile(rf"(?<![\w]){_alt(words, spaces=False)}(?![\w])")
    text = "hijo hijos hij hijas hermanos her tía Tía TÍA tío avi àvia avia hermano.hija"
    assert [m.span() for m in trie.finditer(text)] == [m.span() for m in alternation.finditer(text)]
    assert re.search(_trie_alt([], spaces=False), "cualquier texto") is None


def test_word_gate_finds_every_position_the_starts_regex_finds() -> None:
    """The word-index gate of the family rules is a superset of their ``starts`` regex scan."""
    from alia_clin.deid.anchors import NoteIndex
    from alia_clin.deid.rules import word_gate

    engine = RuleEngine(labels={FAM})
    run = next(r for r, _ in engine._runs if r.gate_words)
    assert run.starts is not None
    texts = [
        "Su madre y tres hermanos sanos. Tío materno con DM2. 2 hijas, la mayor de 12 años.",
        "MADRE: Ana Gil. Los Padres refieren fiebre; cinco Hermanos varones fallecidos.",
        "Avi patern amb HTA; la seva mare, de 70 anys. Aitak eta 3 anaiak osasuntsu.",
        "Sin antecedentes familiares. Comadre y padrenuestro no son parientes.",
    ]
    for text in texts:
        lower = text.lower()
        by_regex = {m.start() for m in run.starts.finditer(text)}
        by_words = set(word_gate(NoteIndex(lower, lowered=True), run.gate_words, run.gate_before))
        assert by_regex <= by_words, text


def test_every_word_gate_finds_every_position_its_starts_regex_finds(engine: RuleEngine) -> None:
    """Each word-index gate (countries in any case, streets after a facility …) is a superset of
    its ``starts`` regex scan, and gating with it finds what scanning the note finds."""
    from alia_clin.deid.anchors import NoteIndex
    from alia_clin.deid.rules import word_gate

    runs = [r for r, _ in engine._runs if r.gate_words]
    assert any(r.on_lower for r in runs) and any(not r.on_lower for r in runs)
    for run in runs:
        assert run.starts is not None
        seen = False
        for note in GATE_NOTES:
            lower = note.lower()
            text = lower if run.on_lower else note
            by_regex = {m.start() for m in run.starts.finditer(text)}
            by_words = set(word_gate(NoteIndex(lower, lowered=True), run.gate_words, run.gate_before))
            assert by_regex <= by_words
            seen = seen or bool(by_regex)
            assert [m.span() for m in gated_finditer(run.regex, text, sorted(by_words))] == [
                m.span() for m in run.regex.finditer(text)
            ]
        assert seen, run.regex.pattern[:40]


def test_gated_rules_find_the_same_spans_when_lower_casing_changes_the_length(engine: RuleEngine) -> None:
    """A note whose lower-casing changes its length ("İ" becomes two characters) skips the word
    index: its gated patterns run from their ``starts`` regex instead, with the same spans."""
    for note in GATE_NOTES:
        odd = note + "\nİ"  # appended, so no offset before it moves
        assert len(odd.lower()) != len(odd)
        assert engine.analyze(odd) == engine.analyze(note)


def test_first_word_gate_takes_each_forms_first_word_and_rejects_a_form_without_one() -> None:
    from alia_clin.deid.specs import _first_word_gate
    from alia_clin.errors import AliaClinValueError

    gate = _first_word_gate(["Centro de Salud", "C.S.", "Izen-abizenak", "Àrea Bàsica"], "heads")
    assert gate.gate_words == ("c", "centro", "izen", "àrea")
    starts = re.compile(gate.starts)
    found = [m.group() for m in starts.finditer("CENTRO; c.s. Àrea izen-x Centros")]
    assert found == ["CENTRO", "c", "Àrea", "izen"]
    with pytest.raises(AliaClinValueError, match="E054"):
        _first_word_gate(["(C.S.)"], "heads")
