"""alia_context scope boundaries: forward terminators (")" and ":"), conjunctions ending a
negation's scope, concessive/causal terminators, glued full stops and the "no sabe" family
(synthetic sentences only)."""

from __future__ import annotations

import pytest
import spacy

from alia_clin.context import ContextLexicon, load_lexicon_data
from alia_clin.context.sentences import doc_words, split_sentences

from .conftest import TOKENIZER, Annotate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a trigger inside parentheses does not reach past them
        (
            "Saturación 93 % (sin oxígeno) crepitantes bibasales.",
            {"oxígeno": "negated", "crepitantes bibasales": "present"},
        ),
        # a parenthesis opened after the trigger is an aside: the scope goes on past it
        ("Sospecha (por imagen) de neoplasia pulmonar.", {"neoplasia pulmonar": "uncertain"}),
        # a backward trigger still reads through a closing parenthesis
        ("Amiodarona (Trangorex) suspendida.", {"Trangorex": "negated"}),
    ],
)
def test_closing_parenthesis_ends_forward_scope(
    annotate: Annotate, text: str, expected: dict[str, str]
) -> None:
    assert annotate(text, list(expected)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Extremidades sin edemas Neurológico: consciente y orientado.",
            {"edemas": "negated", "consciente": "present"},
        ),
        # only bridge words between the trigger and the colon: no cut
        ("No presenta: fiebre ni disnea.", {"fiebre": "negated", "disnea": "negated"}),
        # backward triggers read through a colon
        ("Toxoplasma: negativo.", {"Toxoplasma": "negated"}),
    ],
)
def test_colon_ends_forward_scope(annotate: Annotate, text: str, expected: dict[str, str]) -> None:
    assert annotate(text, list(expected)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spanish coordinates negated items with "ni": "y" starts an affirmed item
        ("Sin fiebre y buen estado general.", {"fiebre": "negated", "buen estado general": "present"}),
        ("No refiere disnea y tolera la dieta.", {"disnea": "negated", "dieta": "present"}),
        (
            "Abdomen sin defensa e hiperperistaltismo.",
            {"defensa": "negated", "hiperperistaltismo": "present"},
        ),
        # a list going on to "ni" keeps the scope
        ("Sin fiebre y tos ni disnea.", {"fiebre": "negated", "tos": "negated", "disnea": "negated"}),
        # triggers taking coordinated objects, and outcomes, reach both items
        (
            "Se descarta trombosis venosa y quiste de Baker.",
            {"trombosis venosa": "negated", "quiste de Baker": "negated"},
        ),
        ("Se suspende enalapril y furosemida.", {"enalapril": "negated", "furosemida": "negated"}),
        # uncertainty is not ended by "y"
        (
            "Compatible con neumonía y derrame pleural.",
            {"neumonía": "uncertain", "derrame pleural": "uncertain"},
        ),
    ],
)
def test_conjunction_ends_negation_scope(annotate: Annotate, text: str, expected: dict[str, str]) -> None:
    assert annotate(text, list(expected)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Sin mejoría a pesar de tratamiento con laxantes.",
            {"mejoría": "negated", "tratamiento con laxantes": "present"},
        ),
        (
            "No se realizan más pruebas dada la situación basal.",
            {"pruebas": "negated", "situación basal": "present"},
        ),
        (
            "Sin complicaciones posteriormente traslado a planta.",
            {"complicaciones": "negated", "traslado": "present"},
        ),
    ],
)
def test_concessive_and_causal_terminators(annotate: Annotate, text: str, expected: dict[str, str]) -> None:
    assert annotate(text, list(expected)) == expected


def test_glued_full_stop_ends_sentence(annotate: Annotate) -> None:
    got = annotate("No fiebre.Tos productiva desde ayer.", ["fiebre", "Tos productiva"])
    assert got == {"fiebre": "negated", "Tos productiva": "present"}


def test_sentence_splitter_glued_full_stop() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    doc = nlp("Sin fiebre.Tos seca. Cultivo de E.Coli y Dr.Pérez con FEVI 3.5 cm.")
    words = doc_words(doc)
    sents = split_sentences(doc.text, words)
    texts = [doc.text[words[s].start : words[e - 1].end] for s, e in sents]
    assert texts == ["Sin fiebre.", "Tos seca.", "Cultivo de E.Coli y Dr.Pérez con FEVI 3.5 cm."]


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("No sabe precisar el inicio del dolor.", "dolor"),
        ("No sabe si ha presentado pérdida de conciencia.", "pérdida de conciencia"),
        ("No sabemos si síncope o crisis.", "síncope"),
    ],
)
def test_not_knowing_is_uncertain(annotate: Annotate, text: str, entity: str) -> None:
    assert annotate(text, [entity])[entity] == "uncertain"


def test_lexicon_compiles_boundary_options() -> None:
    lex = ContextLexicon.from_data(load_lexicon_data("es"))
    assert {")", ":"} <= lex.forward_terminators
    assert lex.conjunctions == frozenset({"y", "e"})
    descarta = next(r for r in lex.rules["se"] if r.tokens == ("se", "descarta"))
    assert descarta.coordinates and not descarta.result
    assert not next(r for r in lex.rules["sin"] if r.tokens == ("sin",)).coordinates
    for lang in ("ca", "gl", "eu"):
        assert {")", ":"} <= ContextLexicon.from_data(load_lexicon_data(lang)).forward_terminators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "con" ends a scope ("sin fiebre, con disnea") but not inside "tratamiento con"
        ("Sin tratamiento con furosemida.", {"furosemida": "negated"}),
        ("No se inicia tratamiento con bisoprolol.", {"bisoprolol": "negated"}),
        ("Se decide no iniciar terapia con dapagliflozina.", {"dapagliflozina": "negated"}),
        ("No precisa anticoagulación con acenocumarol.", {"acenocumarol": "negated"}),
        # the terminator still works elsewhere, and a treatment stated without a trigger is present
        ("Sin fiebre con disnea.", {"fiebre": "negated", "disnea": "present"}),
        ("HTA en tratamiento con enalapril.", {"HTA": "present", "enalapril": "present"}),
        # discontinued or resolved (NUBes reads these as negated; result triggers)
        ("Suspenderá el acenocumarol hasta la consulta.", {"acenocumarol": "negated"}),
        ("Al retirarle la sonda vesical orina sin problemas.", {"sonda vesical": "negated"}),
        ("Ha dejado de tomar furosemida.", {"furosemida": "negated"}),
        ("Se anula la intervención quirúrgica.", {"intervención quirúrgica": "negated"}),
        # "falta de" negates what follows, but not inside the symptom "falta de aire"
        ("Falta de respuesta al tratamiento diurético.", {"respuesta": "negated"}),
        ("Refiere falta de aire.", {"falta de aire": "present"}),
        # uncertain
        ("Se plantea el diagnóstico de miocarditis.", {"miocarditis": "uncertain"}),
        ("Lesiones que parecen metástasis hepáticas.", {"metástasis hepáticas": "uncertain"}),
        ("Anemia que justificaría la astenia.", {"Anemia": "uncertain"}),
    ],
)
def test_treatment_discontinuation_and_lack_triggers(
    annotate: Annotate, text: str, expected: dict[str, str]
) -> None:
    assert annotate(text, list(expected)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "nula/nulo" before or after what it annuls
        ("Paciente pléjico con nula actividad en el miembro superior.", {"actividad": "negated"}),
        ("Afasia con repetición nula.", {"Afasia": "present", "repetición": "negated"}),
        # refusal: the refused treatment did not happen, coordinated objects included
        ("La familia rechaza la cirugía convencional.", {"cirugía convencional": "negated"}),
        (
            "Rechaza valoración y tratamiento oncológico.",
            {"valoración": "negated", "tratamiento oncológico": "negated"},
        ),
        # "en ningún momento" reaches past the preterite that follows it
        ("En ningún momento se apreció afectación bulbar.", {"afectación bulbar": "negated"}),
        # the noun "ingreso" no longer ends a scope (the preterite "ingresó" still does)
        ("No requirió ingreso en la unidad coronaria.", {"ingreso": "negated"}),
        ("Sin fiebre e ingresó con disnea.", {"fiebre": "negated", "disnea": "present"}),
        # drugs listed but not taken
        ("Omeprazol (no toma), furosemida 40 mg.", {"Omeprazol": "negated", "furosemida": "present"}),
        # impossibility and withdrawal (result triggers)
        ("Marcha imposible por dolor inguinal.", {"Marcha": "negated"}),
        ("Se recomienda quitar grapas en su centro de salud.", {"grapas": "negated"}),
        ("Han desaparecido los signos de hemorragia subaracnoidea.", {"hemorragia subaracnoidea": "negated"}),
    ],
)
def test_refusal_null_and_not_taken_triggers(annotate: Annotate, text: str, expected: dict[str, str]) -> None:
    assert annotate(text, list(expected)) == expected



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "con" no longer cuts these negations
        ("Fiebre no asociada con tos.", {"Fiebre": "present", "tos": "negated"}),
        ("Dolor sin relación con el esfuerzo.", {"Dolor": "present", "esfuerzo": "negated"}),
        ("Soplo sin relación con fiebre, con disnea.", {"fiebre": "negated", "disnea": "present"}),
        # resolved: a result trigger right after the finding only
        ("Derrame pericárdico resuelto.", {"Derrame pericárdico": "negated"}),
        ("La neumonía se resolvió con antibiótico.", {"neumonía": "negated"}),
        ("Se realiza drenaje y queda resuelto el derrame.", {"drenaje": "present"}),
        # improbable: uncertain in both directions
        ("Es improbable una endocarditis.", {"endocarditis": "uncertain"}),
        ("Endocarditis muy improbable.", {"Endocarditis": "uncertain"}),
    ],
)
def test_negex_mes_coverage_triggers(annotate: Annotate, text: str, expected: dict[str, str]) -> None:
    assert annotate(text, list(expected)) == expected
