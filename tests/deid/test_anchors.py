"""Keyword-anchored search: same matches as ``finditer``, found only around keywords."""

from __future__ import annotations

import re

import pytest

from alia_clin.deid.anchors import LINE, TOKEN, NoteIndex, anchored_finditer, find_anchor
from alia_clin.deid.rules import RuleEngine, _lower_pattern

#: Synthetic notes (no corpus text) with the shapes the rules look for, plus traps.
NOTES = [
    "Nombre:  Ana.\nApellidos: De la Fuente Ruiz.\nNHC: 4412093.\nNASS: 31 77712345 09.\n"
    "Domicilio: Calle del Olmo Seco, 14, 3ºB.\nLocalidad/ Provincia: Teruel.\nCP: 44002.\n"
    "Fecha de nacimiento: 07/02/1961.\nPaís: España.\nEdad: 62 años Sexo: M.\n"
    "Nº episodio: 12-ABC-0001234.\nMédico: Pedro Gil  NºCol: 44 44 10293.\n",
    "Mujer de 45 años, natural de Perú, que acude el 3 de marzo de 2019 al Hospital General de "
    "Teruel.   Tel: +34 978 123 456.   e-mail: ana.gil@ejemplo.es   www.ejemplo.org\n"
    "A los 12 años, dos hermanos. DNI 12345678Z. IP 10.0.0.1. En 2015 y en mayo de 2016.",
    "Remitido por: Dra. Marta Ruiz-Sanz Servicio de Urología. HOSPITAL UNIVERSITARIO SAN JUAN.\n"
    "Avda. de la Paz 12, 2º izq. 28013 Madrid\tC/ Mayor, s/n\n\n  edad   de   70 años\n",
    "",
    "sin datos relevantes",
]


def test_anchored_runs_match_finditer(engine: RuleEngine) -> None:
    """Every anchored runner finds exactly what the plain regex finds."""
    anchored = [run for run, _ in engine._runs if run.anchor is not None]
    assert len(anchored) > 20
    for text in NOTES:
        lower = text.lower()
        lower_index = NoteIndex(lower, lowered=True)
        text_index = NoteIndex(text, lower_index)
        for run in anchored:
            assert run.anchor is not None
            subject = lower if run.on_lower else text
            pattern = _lower_pattern(run.fallback.pattern) if run.on_lower else run.fallback.pattern
            full = re.compile(pattern, run.fallback.flags & ~re.IGNORECASE)
            expected = [m.span() for m in full.finditer(subject)]
            index = lower_index if run.on_lower else text_index
            assert [m.span("_all") for m in anchored_finditer(run.anchor, index)] == expected


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(?<![\w])edad[ \t]*:[ \t]*(?P<v>\d+)", "edad: 4, xedad: 5, edad:\t\t  6 edad 7"),
        (
            r"(?<![\w])(?:\d{1,2}[ \t]+de[ \t]+)?(?:enero|marzo)(?:[ \t]+\d{4})?",
            "1 de  enero 2020, marzo, 3 de marzo",
        ),
        (r"[\w.+-]*\w@[\w-]+\.[a-z]{2,}", "x a.b@c.es y@z.org @no"),
        (r"(?<![\w])\d{8}[A-Z]", "12345678Z 1234567A 123456789B"),
        (r"[A-Z][a-z]+[ \t]+\d{5}", "Teruel 44002 y Soria 42001"),
        (r"ab|abc", "abcabab"),
    ],
)
def test_synthetic_patterns(pattern: str, text: str) -> None:
    anchor = find_anchor(pattern, 0)
    if anchor is None:
        pytest.skip("no anchor estimated cheaper than a scan")
    expected = [m.span() for m in re.finditer(pattern, text)]
    assert [m.span("_all") for m in anchored_finditer(anchor, NoteIndex(text))] == expected


def test_anchor_bounds() -> None:
    """Blank runs count once; unbounded name-like prefixes stay within the line or token."""
    a = find_anchor(r"(?<![\w])edad[ \t]*:[ \t]*(?P<v>\d+)", 0)
    assert a is not None and set(a.offsets.values()) == {0}
    b = find_anchor(r"[\w.+-]*\w@[\w-]+\.[a-z]{2,}", 0)
    assert b is not None and b.offsets == {"@": TOKEN}
    c = find_anchor(r"[A-Z][a-z]*(?:[ ][A-Z][a-z]*)*[ ]Ospitalea", 0)
    assert c is not None and max(c.offsets.values()) == LINE


def test_no_anchor_for_empty_or_case_insensitive() -> None:
    assert find_anchor(r"a*", 0) is None
    assert find_anchor(r"hospital", re.IGNORECASE) is None


def test_back_counts_blank_runs_once() -> None:
    index = NoteIndex("ab    cd x")
    # "cd" starts at 6; two compressed characters back: the blank run and "b"
    assert index.back(6, 2) == 1
    assert index.back(6, 0) == 6


def test_backreferences_are_not_anchored() -> None:
    assert find_anchor(r"(edad)[ ]\1", 0) is None
    assert find_anchor(r"(?P<w>edad)[ ](?P=w)", 0) is None
