"""alia_sections: heading detection (es, ca, eu, gl), span._.section, and the assertions that
sections imply in alia_context."""

from __future__ import annotations

import spacy
from spacy.language import Language

from .conftest import TOKENIZER, annotate_with, char_span, make_nlp

NOTE = (
    "MOTIVO DE CONSULTA\nDolor torácico.\n"
    "Antecedentes personales: hipertensión arterial. No diabetes.\n"
    "Antecedentes familiares: madre con cardiopatía isquémica. Padre sin diabetes.\n"
    "Enfermedad actual: disnea de esfuerzo de dos semanas.\n"
    "Exploración física al ingreso: crepitantes bibasales.\n"
    "Pruebas complementarias: ecocardiograma.\n"
    "Juicio clínico: insuficiencia cardíaca.\n"
    "Plan: control en consultas."
)


def _sections(nlp: Language, text: str) -> list[tuple[str, str]]:
    doc = nlp(text)
    return [(s.label_, s.text.split("\n")[0][:30]) for s in doc.spans["sections"]]


def test_spanish_headings(nlp: Language) -> None:
    labels = [label for label, _ in _sections(nlp, NOTE)]
    assert labels == [
        "reason_for_visit",
        "past_history",
        "family_history",
        "present_illness",
        "physical_exam",
        "tests",
        "diagnosis",
        "plan",
    ]


def test_section_getter_and_heading_ends(nlp: Language) -> None:
    doc = nlp.make_doc(NOTE)
    i = NOTE.index("disnea")
    doc.ents = [char_span(doc, i, i + len("disnea"), "SINTOMA")]
    doc = nlp(doc)
    assert doc.ents[0]._.section == "present_illness"
    ends = doc.spans["sections"].attrs["heading_ends"]
    assert NOTE[ends[1] - 1] == ":"
    assert doc[0:1]._.section == "reason_for_visit"


def test_headings_in_other_languages(nlp: Language) -> None:
    ca = "Antecedents familiars: pare amb asma.\nExploració física: normal."
    assert [label for label, _ in _sections(nlp, ca)] == ["family_history", "physical_exam"]
    eu = "AURREKARIAK Ez du alergiarik. EGUNGO HISTORIA. Bularreko mina."
    assert [label for label, _ in _sections(nlp, eu)] == ["past_history", "present_illness"]
    gl = "Antecedentes familiares: nai con diabetes.\nXuízo clínico: pneumonía."
    assert [label for label, _ in _sections(nlp, gl)] == ["family_history", "diagnosis"]


def test_words_that_are_not_headings(nlp: Language) -> None:
    text = "Antecedentes de HTA. Se inicia tratamiento con furosemida. Buena evolución clínica."
    assert _sections(nlp, text) == []


def test_a_note_written_in_capitals(nlp: Language) -> None:
    text = (
        "ANTECEDENTES FAMILIARES: MADRE CON CARDIOPATÍA ISQUÉMICA.\n"
        "ENFERMEDAD ACTUAL\nDISNEA DE ESFUERZO. TRATAMIENTO CON FUROSEMIDA. EVOLUCIÓN FAVORABLE."
    )
    assert [label for label, _ in _sections(nlp, text)] == ["family_history", "present_illness"]
    for ordinary in (
        "ANTECEDENTES PERSONALES Niega alergias.",
        "ANTECEDENTES PERSONALES HTA y dislipemia.",
        "ANTECEDENTES PERSONALES 1) 2)",
    ):
        assert [label for label, _ in _sections(nlp, ordinary)] == ["past_history"]


def test_sections_imply_family_and_historical(nlp: Language) -> None:
    got = annotate_with(
        nlp,
        NOTE,
        ["hipertensión arterial", "diabetes", "cardiopatía isquémica", "diabetes", "disnea de esfuerzo"],
    )
    # dict keys collapse the two "diabetes"; check them through the doc instead
    assert got["hipertensión arterial"] == "historical"
    assert got["cardiopatía isquémica"] == "family"
    assert got["disnea de esfuerzo"] == "present"
    doc = nlp.make_doc(NOTE)
    starts = [i for i in range(len(NOTE)) if NOTE.startswith("diabetes", i)]
    doc.ents = [char_span(doc, s, s + 8, "ENFERMEDAD") for s in starts]
    doc = nlp(doc)
    # "No diabetes" in past history and "Padre sin diabetes": a negation trigger wins.
    assert [e._.assertion for e in doc.ents] == ["negated", "negated"]


def test_sections_can_be_switched_off() -> None:
    nlp = make_nlp(use_sections=False)
    got = annotate_with(nlp, NOTE, ["hipertensión arterial", "cardiopatía isquémica"])
    assert got == {"hipertensión arterial": "present", "cardiopatía isquémica": "family"}


def test_context_works_without_sections_pipe() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    nlp.add_pipe("alia_context")
    nlp.initialize()
    got = annotate_with(nlp, "Antecedentes personales: no diabetes. HTA.", ["diabetes", "HTA"])
    assert got == {"diabetes": "negated", "HTA": "present"}


def _labels(nlp: Language, text: str) -> list[str]:
    return [label for label, _ in _sections(nlp, text)]


def test_ap_in_an_examination_is_an_auscultation(nlp: Language) -> None:
    exam = "Exploración física:\nAC: rítmica sin soplos.\nAP: crepitantes en ambas bases.\nAbdomen: blando."
    assert _labels(nlp, exam) == ["physical_exam"]
    got = annotate_with(nlp, exam, ["crepitantes"])
    assert got == {"crepitantes": "present"}
    # outside a recognized examination, the word after "AP:" tells an auscultation or a
    # pathology result (anatomía patológica) from the past history
    inline = "A la exploración, TA 140/80. AC: rítmico. AP: murmullo vesicular con crepitantes bibasales."
    assert _labels(nlp, inline) == []
    assert _labels(nlp, "Se reseca la lesión. AP: adenocarcinoma de colon pT3N0.") == []
    history = "AP: HTA, DM2, dislipemia.\nEA: disnea de esfuerzo."
    assert _labels(nlp, history) == ["past_history", "present_illness"]


def test_abbreviated_headings(nlp: Language) -> None:
    text = "MC: disnea.\nAP: HTA. EA: disnea de 3 días.\nJC: insuficiencia cardiaca."
    assert _labels(nlp, text) == ["reason_for_visit", "past_history", "present_illness", "diagnosis"]


def test_a_heading_line_with_more_words(nlp: Language) -> None:
    text = "Antecedentes cardiológicos\nIAM en 2010.\nEVOLUCIÓN CLÍNICA\nBuena.\nExploración física en UCI"
    assert _labels(nlp, text) == ["past_history", "evolution", "physical_exam"]
    bracket = "Mujer de 80 años.\nFactores de riesgo cardiovascular (FRCV): HTA.\nEA (hoy): tos."
    assert _labels(nlp, bracket) == ["past_history", "present_illness"]
    # nor a phrase and more words after a sentence end
    assert _labels(nlp, "Tiene HTA. Antecedentes de tabaquismo\nDisnea.") == []
    # a line that runs on is not a heading
    assert _labels(nlp, "Evolución clínica favorable con diuréticos y controles semanales en consulta") == []


def test_more_headings(nlp: Language) -> None:
    text = (
        "Historia cardiológica: IAM en 2010.\nSituación basal: independiente.\n"
        "Tratamiento actual: furosemida.\nHistorial actual: disnea.\nConstantes vitales: TA 120/80 mmHg."
    )
    assert _labels(nlp, text) == [
        "past_history",
        "social_history",
        "medication",
        "present_illness",
        "physical_exam",
    ]
    assert _labels(nlp, "Antecedentes: HTA.\nProbas: ECG en ritmo sinusal.") == ["past_history", "tests"]
    # "Historia cardiológica" is a heading at the start of a line only, not inside a paragraph
    assert _labels(nlp, "Ingresa por síncope. Historia cardiológica: IAM en 2010. Se realiza ECG.") == []


def test_the_current_episode_after_the_past_history(nlp: Language) -> None:
    for text in (
        "Antecedentes personales: HTA, DM2. Acude a urgencias por disnea de 3 días.",
        "Antecedentes personales:\nHTA, DM2.\nVarón de 61 años que ingresa por disnea de 3 días.",
        "Tratamiento habitual: enalapril.\nEs remitido a nuestro centro por disnea de 3 días.",
        "Antecedents personals: HTA. Acudeix a urgències per disnea de 3 dies.",
    ):
        if text.startswith("Antecedentes personales: HTA"):
            assert annotate_with(nlp, text, ["HTA"]) == {"HTA": "historical"}
        assert _labels(nlp, text)[-1] == "present_illness", text
        assert annotate_with(nlp, text, ["disnea"]) == {"disnea": "present"}, text
    doc = nlp("Antecedentes personales: HTA. Acude por disnea.")
    implicit = doc.spans["sections"][1]
    assert implicit.text.startswith("Acude")
    assert doc.spans["sections"].attrs["heading_ends"][1] == implicit.start_char
    # past tenses narrate the history itself
    past = "Antecedentes personales: HTA. Ingresó en 2019 por disnea. Acudió a urgencias por dolor torácico."
    assert _labels(nlp, past) == ["past_history"]
    assert annotate_with(nlp, past, ["disnea"])["disnea"] == "historical"

