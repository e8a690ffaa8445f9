"""Notes with decomposed accents, odd spaces or invisible characters give the same PHI as plain notes."""

from __future__ import annotations

import unicodedata

import pytest

from alia_clin.deid.anonymize import anonymize
from alia_clin.deid.reading import reading_copy
from alia_clin.deid.rules import RuleEngine

NOTE = (
    "Paciente: Begoña Muñoz Ibáñez. Médico: Dr. José Gómez Peña. Teléfono: 600 111 222.\n"
    "Domicilio: Calle Núñez de Balboa 12, 28001 Madrid. Acude con su hermana María."
)
WORDS = ("Begoña", "Muñoz", "Ibáñez", "Gómez", "Peña", "Núñez", "María", "600 111 222")


def _plain(text: str) -> str:
    """The note's words as a reader sees them (composed, plain spaces, no invisible characters)."""
    copy = reading_copy(text)
    return text if copy is None else copy.text


def test_reading_copy_maps_every_character_to_its_whole_cluster() -> None:
    assert reading_copy(NOTE) is None  # nothing odd: nothing to do
    text = "Mun\u0303oz x\u0303y\u00a0Ga\u00adrcía"  # "ñ" composes; "x" + tilde has no composed form
    copy = reading_copy(text)
    assert copy is not None
    assert copy.text == "Muñoz x\u0303y García"
    assert copy.span(0, 5) == (0, 6)  # "Muñoz" covers the base and its mark
    assert copy.span(2, 3) == (2, 4)  # "ñ" alone
    assert copy.span(6, 7) == (7, 9)  # "x" alone takes its tilde with it
    assert copy.span(10, 16) == (11, 18)  # "García" covers its soft hyphen
    assert len(copy.starts) == len(copy.ends) == len(copy.text)


VARIANTS = {
    "decomposed accents": unicodedata.normalize("NFD", NOTE),
    "no-break spaces": NOTE.replace(" ", "\u00a0"),
    "narrow and thin spaces": NOTE.replace(" ", "\u202f").replace("Dr.\u202f", "Dr.\u2009"),
    "soft hyphens and zero-width spaces": NOTE.replace("Muñoz", "Mu\u00adñoz").replace("Gómez", "Gó\u200bmez")
    .replace("María", "\u200bMaría\u200b"),
}


@pytest.mark.parametrize("kind", list(VARIANTS))
def test_odd_characters_give_the_same_phi(engine: RuleEngine, kind: str) -> None:
    text = VARIANTS[kind]
    expected = [(m.label, NOTE[m.start:m.end]) for m in engine.analyze(NOTE)]
    found = engine.analyze(text)
    assert [(m.label, _plain(text[m.start:m.end])) for m in found] == expected
    assert ("NOMBRE_SUJETO_ASISTENCIA", "Begoña Muñoz Ibáñez") in expected
    for m in found:  # no span splits a letter from its accent
        assert not unicodedata.combining(text[m.start])
        if m.end < len(text):
            assert not unicodedata.combining(text[m.end])


@pytest.mark.parametrize("kind", list(VARIANTS))
def test_odd_characters_do_not_leak(engine: RuleEngine, kind: str) -> None:
    text = VARIANTS[kind]
    phi = [(m.start, m.end, m.label) for m in engine.analyze(text)]
    out = _plain(anonymize(text, phi, operator="tag").text)
    for word in WORDS:
        assert word not in out


def test_presidio_recognizers_read_the_plain_copy_too() -> None:
    from alia_clin.deid.recognizers import build_recognizers

    names = next(r for r in build_recognizers("es") if r.name == "PatientNameRecognizer")
    text = VARIANTS["no-break spaces"]
    found = {_plain(text[r.start:r.end]) for r in names.analyze(text, [])}
    assert "Begoña Muñoz Ibáñez" in found
