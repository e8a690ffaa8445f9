"""Entity edges (:mod:`alia_clin.clinical.edges`): a continuation is joined to the entity before
it (kept nested), function words at entity edges are trimmed, other labels and well-formed
entities are left alone. Synthetic sentences only."""

from __future__ import annotations

import pytest
import spacy

from alia_clin.clinical.edges import repair_entity_edges
from alia_clin.entities import nested_entities

from .docs import blank_nlp, doc_with_ents

LABELS = frozenset({"ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"})


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return blank_nlp()


def _ents(doc: spacy.tokens.Doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


@pytest.mark.parametrize(
    ("text", "ents", "whole", "inner"),
    [
        (
            "Ventrículo izquierdo no dilatado, levemente hipertrófico.",
            [("Ventrículo izquierdo no dilatado", "SINTOMA"), (", levemente hipertrófico", "ENFERMEDAD")],
            ("Ventrículo izquierdo no dilatado, levemente hipertrófico", "ENFERMEDAD"),
            ("Ventrículo izquierdo no dilatado", "SINTOMA"),
        ),
        (
            "Hemocultivos: dos muestras positivas para S. aureus.",
            [("Hemocultivos", "PROCEDIMIENTO"), (": dos muestras positivas para S. aureus", "SINTOMA")],
            ("Hemocultivos: dos muestras positivas para S. aureus", "SINTOMA"),
            ("Hemocultivos", "PROCEDIMIENTO"),
        ),
        (
            "Se hizo una ergometría que resultó normal.",
            [("ergometría", "PROCEDIMIENTO"), ("que resultó normal", "SINTOMA")],
            ("ergometría que resultó normal", "SINTOMA"),
            ("ergometría", "PROCEDIMIENTO"),
        ),
        (
            "VI no dilatado con hipertrofia concéntrica leve.",
            [("VI no dilatado", "SINTOMA"), ("con hipertrofia concéntrica leve", "ENFERMEDAD")],
            ("VI no dilatado con hipertrofia concéntrica leve", "ENFERMEDAD"),
            ("VI no dilatado", "SINTOMA"),
        ),
    ],
)
def test_continuation_is_joined_and_the_first_part_kept_nested(
    nlp: spacy.language.Language,
    text: str,
    ents: list[tuple[str, str]],
    whole: tuple[str, str],
    inner: tuple[str, str],
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    assert repair_entity_edges(doc, LABELS) == (1, 0)
    assert _ents(doc) == [whole]
    assert [(e.text, e.label_) for e in nested_entities(doc)] == [inner]


def test_chain_of_continuations_becomes_one_entity(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(
        nlp,
        "VI no dilatado, con hipertrofia leve y función conservada.",
        [
            ("VI no dilatado", "SINTOMA"),
            (", con hipertrofia leve", "ENFERMEDAD"),
            ("y función conservada", "SINTOMA"),
        ],
    )
    assert repair_entity_edges(doc, LABELS) == (2, 0)
    assert _ents(doc) == [("VI no dilatado, con hipertrofia leve y función conservada", "SINTOMA")]
    assert sorted(e.text for e in nested_entities(doc)) == [
        "VI no dilatado",
        "VI no dilatado, con hipertrofia leve",
    ]


@pytest.mark.parametrize(
    ("text", "ents", "after"),
    [
        # a dangling preposition at the end
        ("Inicia tratamiento con bisoprolol.", [("tratamiento con", "PROCEDIMIENTO")], ["tratamiento"]),
        # a continuation with no entity right before it: trimmed, not joined
        ("Se palpa masa, con bordes lisos.", [(", con bordes lisos", "SINTOMA")], ["bordes lisos"]),
        # both edges
        ("Refiere y disnea de esfuerzo y.", [("y disnea de esfuerzo y", "SINTOMA")], ["disnea de esfuerzo"]),
        # an article or a possessive at the start, a dangling "no" at the end
        (
            "Cardiopatía isquémica no revascularizada.",
            [("Cardiopatía isquémica no", "ENFERMEDAD")],
            ["Cardiopatía isquémica"],
        ),
        (
            "Se revisa su tratamiento habitual.",
            [("su tratamiento habitual", "PROCEDIMIENTO")],
            ["tratamiento habitual"],
        ),
        ("Persiste la disnea tras el alta.", [("la disnea tras", "SINTOMA")], ["disnea"]),
        # only function words: removed
        (
            "Dolor torácico y con fiebre.",
            [("Dolor torácico", "SINTOMA"), ("con", "SINTOMA")],
            ["Dolor torácico"],
        ),
    ],
)
def test_function_word_edges_are_trimmed(
    nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]], after: list[str]
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    joined, trimmed = repair_entity_edges(doc, LABELS)
    assert joined == 0 and trimmed >= 1
    assert [e.text for e in doc.ents] == after
    assert nested_entities(doc) == []


@pytest.mark.parametrize(
    ("text", "ents"),
    [
        # gold-like spans: "se" may start, "a" and ")" may end, a connector inside is fine
        ("Se implanta un stent en DA.", [("Se implanta un stent en DA", "PROCEDIMIENTO")]),
        (
            "Tiene insuficiencia cardiaca con FEVI reducida.",
            [("insuficiencia cardiaca con FEVI reducida", "ENFERMEDAD")],
        ),
        ("Prueba de Coombs (directa) negativa.", [("Prueba de Coombs (directa)", "PROCEDIMIENTO")]),
        # two entities with text between them are not joined
        ("Disnea; y luego fiebre.", [("Disnea", "SINTOMA"), ("fiebre", "SINTOMA")]),
    ],
)
def test_well_formed_entities_are_left_alone(
    nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]]
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    assert repair_entity_edges(doc, LABELS) == (0, 0)
    assert _ents(doc) == ents


def test_checklist_answers_are_not_entities(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(
        nlp,
        "Disnea: no. Ortopnea: SI. Edemas:  ausentes. SI en seguimiento.",
        [
            ("Disnea", "SINTOMA"),
            ("Ortopnea", "SINTOMA"),
            ("SI", "SINTOMA"),
            ("ausentes", "SINTOMA"),
            ("SI", "ENFERMEDAD"),
        ],
    )
    assert repair_entity_edges(doc, LABELS) == (0, 2)
    # the last "SI" follows no colon: an abbreviation, kept
    assert _ents(doc) == [("Disnea", "SINTOMA"), ("Ortopnea", "SINTOMA"), ("SI", "ENFERMEDAD")]


@pytest.mark.parametrize(
    ("language", "text", "ents", "after"),
    [
        # Catalan "i" (and), "amb", "per": trimmed in a Catalan note only
        ("ca", "Derivat per dispnea i edemes.", [("dispnea i", "SINTOMA")], ["dispnea"]),
        ("ca", "Tractament amb furosemida.", [("amb furosemida", "FARMACO")], ["furosemida"]),
        ("es", "Derivado por disnea i edemas.", [("disnea i", "SINTOMA")], ["disnea i"]),
        # a capital "I" is a type or a class, never "and"
        ("ca", "Diabetis mellitus tipus I.", [("Diabetis mellitus tipus I", "ENFERMEDAD")],
         ["Diabetis mellitus tipus I"]),
        # Galician "co" (with the), "ou" (or)
        ("gl", "Acode co edema nos nocelos.", [("co edema", "SINTOMA")], ["edema"]),
        ("gl", "Dor ou opresión torácica.", [("Dor ou", "SINTOMA")], ["Dor"]),
        # an elision apostrophe starts no entity, in any language; a quotation mark stays
        ("ca", "Es retira l'enalapril.", [("'enalapril", "FARMACO")], ["enalapril"]),
        ("es", "Episodio d’edema agudo.", [("’edema agudo", "ENFERMEDAD")], ["edema agudo"]),
        ("es", "Imagen de 'fuga de contraste' hacia el abdomen.", [("'fuga de contraste'", "SINTOMA")],
         ["'fuga de contraste'"]),
    ],
)
def test_edges_of_the_note_language(
    nlp: spacy.language.Language, language: str, text: str, ents: list[tuple[str, str]], after: list[str]
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    repair_entity_edges(doc, LABELS, language=language)
    assert [e.text for e in doc.ents] == after


def test_punctuation_alone_is_not_an_entity(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(nlp, "Es retira l'enalapril.", [("'", "FARMACO"), ("enalapril", "FARMACO")])
    assert repair_entity_edges(doc, LABELS) == (0, 1)
    assert _ents(doc) == [("enalapril", "FARMACO")]


def test_other_labels_are_neither_joined_nor_trimmed(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(
        nlp,
        "Paciente de Valencia, con disnea y.",
        [("Paciente de Valencia", "TERRITORIO"), (", con disnea y", "SINTOMA")],
    )
    assert repair_entity_edges(doc, LABELS) == (0, 1)
    assert _ents(doc) == [("Paciente de Valencia", "TERRITORIO"), ("disnea", "SINTOMA")]


@pytest.mark.parametrize(
    ("text", "ent", "after"),
    [
        (
            "Stent a descendente anterior (DA) proximal.",
            "Stent a descendente anterior (DA",
            "Stent a descendente anterior (DA)",
        ),
        (
            "Anticuerpos antinucleares (inmunofluorescencia): positivos.",
            "Anticuerpos antinucleares (inmunofluorescencia",
            "Anticuerpos antinucleares (inmunofluorescencia)",
        ),
    ],
)
def test_open_bracket_is_closed(nlp: spacy.language.Language, text: str, ent: str, after: str) -> None:
    doc = doc_with_ents(nlp, text, [(ent, "PROCEDIMIENTO")])
    assert repair_entity_edges(doc, LABELS) == (0, 1)
    assert [e.text for e in doc.ents] == [after]


@pytest.mark.parametrize(
    ("text", "ents", "after"),
    [
        # the ")" is too far, on another line, or after another entity
        (
            "Cirugía (injerto de vena safena a descendente anterior y a marginal).",
            [("Cirugía (injerto", "PROCEDIMIENTO")],
            ["Cirugía (injerto"],
        ),
        (
            "Ecocardiograma (transtorácico\ncontrol).",
            [("Ecocardiograma (transtorácico", "PROCEDIMIENTO")],
            ["Ecocardiograma (transtorácico"],
        ),
        (
            "Tratamiento (enalapril y furosemida).",
            [("Tratamiento (enalapril y", "PROCEDIMIENTO"), ("furosemida", "FARMACO")],
            ["Tratamiento (enalapril", "furosemida"],
        ),
    ],
)
def test_open_bracket_left_open(
    nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]], after: list[str]
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    repair_entity_edges(doc, LABELS)
    assert [e.text for e in doc.ents] == after


def test_open_bracket_is_not_closed_over_phi(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(nlp, "Consulta (Dr. Pérez) hoy.", [("Consulta (Dr.", "PROCEDIMIENTO")])
    phi = {t.i for t in doc if t.text == "Pérez"}
    assert repair_entity_edges(doc, LABELS, phi) == (0, 0)
    assert [e.text for e in doc.ents] == ["Consulta (Dr."]
