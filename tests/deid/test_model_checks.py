"""The model layer's sex candidates: a clinical abbreviation is no sex; sex words and codes, and
the other words MEDDOCAN counts as PHI, stay."""

from __future__ import annotations

import pytest

from alia_clin.deid.model_checks import plausible_model_span
from alia_clin.deid.rules import PhiMatch
from alia_clin.pipeline.deid import MODEL_SOURCE, _plausible_model_candidates

SEX = "SEXO_SUJETO_ASISTENCIA"


@pytest.mark.parametrize("word", ["VI", "HVI", "QRS", "FEVI", "ECG"])
def test_clinical_abbreviations_are_no_sex(word: str) -> None:
    assert not plausible_model_span(SEX, word)
    assert plausible_model_span("HOSPITAL", word)  # only the sex label is checked


KEPT = ["H", "M", "F", "VARÓN", "MUJER", "NIÑA", "Varón", "mujeres", "blanca", "NEGRA", "Recién", "gizona",
        "HOME"]


@pytest.mark.parametrize("word", KEPT)
def test_sex_words_codes_and_other_words_stay(word: str) -> None:
    assert plausible_model_span(SEX, word)


def test_only_model_candidates_are_checked() -> None:
    text = "VI dilatado. Varón de 70 años."
    model_vi = PhiMatch(0, 2, SEX, 0.9, MODEL_SOURCE)
    rule_vi = PhiMatch(0, 2, SEX, 0.9, "SexRecognizer")
    model_sex = PhiMatch(13, 18, SEX, 0.9, MODEL_SOURCE)
    assert _plausible_model_candidates([model_vi, rule_vi, model_sex], text) == [rule_vi, model_sex]
