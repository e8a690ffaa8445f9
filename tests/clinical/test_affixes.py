"""Glued affixes (:mod:`alia_clin.clinical.affixes`): an entity boundary that cuts a word at a
hyphen moves to the end of the glued word; hyphenated lists, neighbours and PHI are respected.
Synthetic sentences only."""

from __future__ import annotations

import pytest
import spacy

from alia_clin.clinical.affixes import complete_glued_affixes

from .docs import blank_nlp, doc_with_ents


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return blank_nlp()


@pytest.mark.parametrize(
    ("text", "cut", "label", "whole"),
    [
        (
            "Neumonía bilateral por COVID-19, sin ingreso.",
            "Neumonía bilateral por COVID",
            "ENFERMEDAD",
            "Neumonía bilateral por COVID-19",
        ),
        ("Se inicia iSGLT-2 por insuficiencia cardiaca.", "iSGLT", "FARMACO", "iSGLT-2"),
        ("Se retira ARA-II a dos semanas.", "ARA-", "FARMACO", "ARA-II"),
        ("Serología SARS-CoV-2 al ingreso.", "Serología SARS-CoV-", "PROCEDIMIENTO", "Serología SARS-CoV-2"),
        ("Ciclos con 5-fluorouracilo y cisplatino.", "fluorouracilo", "FARMACO", "5-fluorouracilo"),
        ("Tratamiento con anti-PCSK9 mensual.", "PCSK9", "FARMACO", "anti-PCSK9"),
        ("Bolos de 6-metilprednisolona.", "metilprednisolona", "FARMACO", "6-metilprednisolona"),
    ],
)
def test_cut_word_is_completed(
    nlp: spacy.language.Language, text: str, cut: str, label: str, whole: str
) -> None:
    doc = doc_with_ents(nlp, text, [(cut, label)])
    assert complete_glued_affixes(doc) == 1
    assert [(e.text, e.label_) for e in doc.ents] == [(whole, label)]


@pytest.mark.parametrize(
    ("text", "ents"),
    [
        # a hyphenated list of drugs: two entities, no number or prefix across the hyphen
        (
            "Esquema bortezomib-ciclofosfamida-dexametasona.",
            [("bortezomib", "FARMACO"), ("ciclofosfamida", "FARMACO")],
        ),
        # a number glued before a number-starting entity, or inside a longer word, is not a prefix
        ("Dosis 1-0-1 de enalapril.", [("enalapril", "FARMACO")]),
        ("Tipo B12-anemia.", [("anemia", "ENFERMEDAD")]),
        # the number suffix must end the word
        ("Gen MYH7-2b alterado.", [("MYH7", "PROCEDIMIENTO")]),
        # already whole
        ("Infección por COVID-19.", [("COVID-19", "ENFERMEDAD")]),
    ],
)
def test_left_alone(nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]]) -> None:
    doc = doc_with_ents(nlp, text, ents)
    before = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    assert complete_glued_affixes(doc) == 0
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == before


def test_does_not_reach_a_neighbour_or_phi(nlp: spacy.language.Language) -> None:
    doc = doc_with_ents(nlp, "Control DAI-2 semanal.", [("DAI", "PROCEDIMIENTO"), ("2", "SINTOMA")])
    assert complete_glued_affixes(doc) == 0
    doc = doc_with_ents(nlp, "Vista por COVID-19 hoy.", [("COVID", "ENFERMEDAD")])
    phi = {t.i for t in doc if t.text == "19"}
    assert complete_glued_affixes(doc, phi) == 0
    assert [e.text for e in doc.ents] == ["COVID"]
