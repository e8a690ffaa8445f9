"""Case folding of text written in capitals before the encoder reads it."""

from __future__ import annotations

import pytest

from alia_clin.encoder.casing import MIN_LETTERS, fold_capitals, lower_same_length, strip_accents_same_length

ORDINARY = (
    "ANTECEDENTES PERSONALES:\n"
    "HTA, DM2 y FA en tratamiento con apixabán. FEVI 35 %.\n"
    "EXPLORACIÓN FÍSICA\n"
    "Crepitantes bibasales, edemas maleolares."
)
SHOUTING = (
    "ANTECEDENTES PERSONALES:\n"
    "HTA, DM2.\n"
    "MUJER DE 71 AÑOS QUE ACUDE POR DISNEA DE MEDIANOS ESFUERZOS Y EDEMAS EN MIEMBROS INFERIORES.\n"
)


def test_lower_same_length_keeps_every_offset() -> None:
    text = "İSTANBUL, ÑANDÚ, Çà, L·L, ÉMILE 😀\r\n\tFEVI"
    low = lower_same_length(text)
    assert len(low) == len(text)
    assert low[0] == "İ"  # its lower case has two characters: kept
    assert low[1:] == text[1:].lower()


def test_ordinary_notes_are_left_alone() -> None:
    assert fold_capitals(ORDINARY) is ORDINARY
    assert fold_capitals("") == ""
    assert fold_capitals("123 / 456") == "123 / 456"


def test_a_note_in_capitals_is_read_in_lower_case() -> None:
    folded = fold_capitals(SHOUTING)
    assert folded == SHOUTING.lower()
    assert len(folded) == len(SHOUTING)


def test_a_long_line_in_capitals_is_folded_inside_an_ordinary_note() -> None:
    line = (
        "PACIENTE REMITIDO DESDE ATENCIÓN PRIMARIA POR DISNEA PROGRESIVA DE DOS SEMANAS"
        " Y EDEMAS EN AMBAS PIERNAS"
    )
    assert sum(c.isalpha() for c in line) >= MIN_LETTERS
    tail = "\nSe pauta furosemida oral y se cita en consulta de insuficiencia cardiaca en un mes.\n" * 2
    text = ORDINARY + "\n" + line + tail
    folded = fold_capitals(text)
    assert folded == ORDINARY + "\n" + line.lower() + tail


@pytest.mark.parametrize("mode", ["none", "capitals", "all"])
def test_modes(mode: str) -> None:
    folded = fold_capitals(ORDINARY, mode)
    assert len(folded) == len(ORDINARY)
    assert folded == (ORDINARY.lower() if mode == "all" else ORDINARY)
    assert fold_capitals(SHOUTING, "none") is SHOUTING


def test_accents_are_stripped_in_place() -> None:
    text = "Disnea súbita, cardiopatía; ÚLTIMA dosis; niño; açúcar; pingüino; ÅNGSTRÖM; İ\r\n"
    bare = strip_accents_same_length(text)
    assert bare == "Disnea subita, cardiopatia; ULTIMA dosis; niño; açucar; pinguino; ANGSTROM; I\r\n"
    assert len(bare) == len(text)
    plain = "HTA, DM2 y FA en tratamiento con apixaban. FEVI 35 %.\n"
    assert strip_accents_same_length(plain) == plain
