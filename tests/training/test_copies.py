"""Training copies of notes in lower case and without accents (``alia_clin.training.copies``)."""

from __future__ import annotations

from alia_clin.training.copies import accent_free_copy, lower_case_copy, with_copies
from alia_clin.training.corpora import Example


def test_lower_case_copy_keeps_gold_offsets() -> None:
    text = "Ingresa por IC DESCOMPENSADA. ÚLTIMA DOSIS: ÑAME."
    ex = Example("n1", text, [(12, 28, "ENFERMEDAD")], ["x/train"])
    copy = lower_case_copy(ex)
    assert copy.id == "n1#lower" and copy.spans == ex.spans and copy.sources == ex.sources
    assert copy.text == ex.text.lower() and copy.text[12:28] == "ic descompensada"
    assert ex.text[12:28] == "IC DESCOMPENSADA"


def test_accent_free_copy_keeps_gold_offsets() -> None:
    text = "Insuficiencia cardíaca y disnea súbita en niño; pingüino. ÚLTIMA."
    ex = Example("n1", text, [(0, 22, "ENFERMEDAD"), (25, 38, "SINTOMA")], ["x/train"])
    copy = accent_free_copy(ex)
    assert copy.id == "n1#noaccent" and copy.spans == ex.spans and copy.sources == ex.sources
    assert copy.text == "Insuficiencia cardiaca y disnea subita en niño; pinguino. ULTIMA."
    assert copy.text[25:38] == "disnea subita" and len(copy.text) == len(text)


def test_with_copies_copies_the_originals_only() -> None:
    notes = [
        Example("a", "Disnea SÚBITA.", [(0, 13, "SINTOMA")], ["x/train"]),
        Example("b", "Fiebre.", [(0, 6, "SINTOMA")], ["x/train"]),
    ]
    assert [e.id for e in with_copies(notes)] == ["a", "b"]
    assert [e.id for e in with_copies(notes, case=True)] == ["a", "b", "a#lower", "b#lower"]
    both = with_copies(notes, case=True, accent=True)
    assert [e.id for e in both] == ["a", "b", "a#lower", "b#lower", "a#noaccent", "b#noaccent"]
    # the accent-free copy is made from the original, not from the lower-case copy
    assert both[4].text == "Disnea SUBITA." and both[2].text == "disnea súbita."
    assert all(e.spans == n.spans for e, n in zip(both, notes * 3, strict=True))
    assert notes[0].text == "Disnea SÚBITA."  # the originals are not changed
