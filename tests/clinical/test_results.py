"""Test-and-result findings (:mod:`alia_clin.clinical.results`): a PROCEDIMIENTO directly followed
by a result SINTOMA becomes one SINTOMA with the test nested; anything else is left alone."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

from alia_clin.clinical.results import merge_test_results
from alia_clin.entities import nested_entities

from .docs import blank_nlp, doc_with_ents


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return blank_nlp()


def _ents(doc: Doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


@pytest.mark.parametrize(
    ("text", "ents", "finding"),
    [
        (
            "Hemocultivos negativos.",
            [("Hemocultivos", "PROCEDIMIENTO"), ("negativos", "SINTOMA")],
            "Hemocultivos negativos",
        ),
        (
            "Auscultación cardiaca: rítmica, sin soplos.",
            [("Auscultación cardiaca", "PROCEDIMIENTO"), (": rítmica", "SINTOMA")],
            "Auscultación cardiaca: rítmica",
        ),
        (
            "Serología de Chagas : Negativa.",
            [("Serología de Chagas", "PROCEDIMIENTO"), ("Negativa", "SINTOMA")],
            "Serología de Chagas : Negativa",
        ),
        # spaces only, on one line: any first word of the result
        ("Iones normales.", [("Iones", "PROCEDIMIENTO"), ("normales", "SINTOMA")], "Iones normales"),
        (
            "Enzimas hepáticas ligeramente elevadas.",
            [("Enzimas hepáticas", "PROCEDIMIENTO"), ("ligeramente elevadas", "SINTOMA")],
            "Enzimas hepáticas ligeramente elevadas",
        ),
    ],
)
def test_test_and_result_become_one_finding_with_the_test_nested(
    nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]], finding: str
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    assert merge_test_results(doc) == 1
    assert _ents(doc) == [(finding, "SINTOMA")]
    assert [(s.text, s.label_) for s in nested_entities(doc)] == [ents[0]]


@pytest.mark.parametrize(
    ("text", "ents"),
    [
        # a finding of its own, not a result word, after a colon or a line break
        ("ECG: ritmo sinusal.", [("ECG", "PROCEDIMIENTO"), ("ritmo sinusal", "SINTOMA")]),
        ("ECG\nritmo sinusal.", [("ECG", "PROCEDIMIENTO"), ("ritmo sinusal", "SINTOMA")]),
        # something other than spaces or colons in between
        ("Hemocultivos, negativos.", [("Hemocultivos", "PROCEDIMIENTO"), ("negativos", "SINTOMA")]),
        # other labels
        ("Fiebre negativa.", [("Fiebre", "SINTOMA"), ("negativa", "SINTOMA")]),
        ("Hemocultivos normal.", [("Hemocultivos", "PROCEDIMIENTO"), ("normal", "ENFERMEDAD")]),
        # a result word with no entity after the test
        ("Coagulación normal.", [("Coagulación", "PROCEDIMIENTO")]),
    ],
)
def test_other_pairs_are_left_alone(
    nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]]
) -> None:
    doc = doc_with_ents(nlp, text, ents)
    assert merge_test_results(doc) == 0
    assert _ents(doc) == ents
    assert nested_entities(doc) == []


def test_several_pairs_in_one_note_and_a_second_pass_changes_nothing(nlp: spacy.language.Language) -> None:
    text = "Coagulación normal. ECG: ritmo sinusal. Urocultivo: negativo. Dolor torácico."
    ents = [
        ("Coagulación", "PROCEDIMIENTO"),
        ("normal", "SINTOMA"),
        ("ECG", "PROCEDIMIENTO"),
        ("ritmo sinusal", "SINTOMA"),
        ("Urocultivo", "PROCEDIMIENTO"),
        ("negativo", "SINTOMA"),
        ("Dolor torácico", "SINTOMA"),
    ]
    doc = doc_with_ents(nlp, text, ents)
    assert merge_test_results(doc) == 2
    expected = [
        ("Coagulación normal", "SINTOMA"),
        ("ECG", "PROCEDIMIENTO"),
        ("ritmo sinusal", "SINTOMA"),
        ("Urocultivo: negativo", "SINTOMA"),
        ("Dolor torácico", "SINTOMA"),
    ]
    assert _ents(doc) == expected
    assert [s.text for s in nested_entities(doc)] == ["Coagulación", "Urocultivo"]
    assert merge_test_results(doc) == 0
    assert _ents(doc) == expected
