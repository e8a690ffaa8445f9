"""Notes with decomposed accents (NFD: "n" + U+0303) give the same PHI as composed notes."""

from __future__ import annotations

import unicodedata

from alia_clin.deid.anonymize import anonymize
from alia_clin.deid.compose import compose
from alia_clin.deid.rules import RuleEngine

NOTE = (
    "Paciente: Begoña Muñoz Ibáñez. Médico: Dr. José Gómez Peña.\n"
    "Domicilio: Calle Núñez de Balboa 12, 28001 Madrid. Acude con su hermana María."
)


def test_compose_maps_every_composed_character_to_its_whole_cluster() -> None:
    assert compose(NOTE) is None  # already composed: nothing to do
    text = "Mun\u0303oz x\u0303y"  # "ñ" composes; "x" + tilde has no composed form
    c = compose(text)
    assert c is not None
    assert c.text == "Muñoz x\u0303y"
    assert c.span(0, 5) == (0, 6)  # "Muñoz" covers the base and its mark
    assert c.span(2, 3) == (2, 4)  # "ñ" alone
    assert c.span(6, 7) == (7, 9)  # "x" alone takes its tilde with it
    assert len(c.starts) == len(c.ends) == len(c.text)


def test_decomposed_note_gives_the_same_phi(engine: RuleEngine) -> None:
    nfd = unicodedata.normalize("NFD", NOTE)
    assert len(nfd) > len(NOTE)
    composed = [(m.label, NOTE[m.start:m.end]) for m in engine.analyze(NOTE)]
    decomposed = [(m.label, unicodedata.normalize("NFC", nfd[m.start:m.end])) for m in engine.analyze(nfd)]
    assert decomposed == composed
    assert ("NOMBRE_SUJETO_ASISTENCIA", "Begoña Muñoz Ibáñez") in decomposed
    for m in engine.analyze(nfd):  # no span splits a letter from its accent
        assert not unicodedata.combining(nfd[m.start])
        if m.end < len(nfd):
            assert not unicodedata.combining(nfd[m.end])


def test_decomposed_names_do_not_leak(engine: RuleEngine) -> None:
    nfd = unicodedata.normalize("NFD", NOTE)
    phi = [(m.start, m.end, m.label) for m in engine.analyze(nfd)]
    out = unicodedata.normalize("NFC", anonymize(nfd, phi, operator="tag").text)
    for word in ("Begoña", "Muñoz", "Ibáñez", "Gómez", "Peña", "Núñez", "María"):
        assert word not in out
