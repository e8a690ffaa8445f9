"""Localities (TERRITORIO) in the rules layer: the place gazetteer and postal codes.

Every address and sentence below is invented for these tests.
"""

from __future__ import annotations

import re

import pytest

from alia_clin.deid.rules import RuleEngine
from alia_clin.deid.specs import _trie_alt, load_resource


def spans(engine: RuleEngine, text: str, label: str = "TERRITORIO") -> list[str]:
    """Return the ``label`` spans found in ``text`` as covered text, in order."""
    return [text[m.start:m.end] for m in engine.analyze(text) if m.label == label]


POSITIVE = [
    # a province or city named in prose, without a postal code or label
    ("Varón de 50 años residente en Badajoz, sin antecedentes.", ["Badajoz"]),
    ("Acude desde Extremadura por dolor torácico.", ["Extremadura"]),
    ("Fue trasladado al hospital de referencia en Santander (España).", ["Santander"]),
    # co-official and Latin-American names
    ("Ingresó tras un viaje a Donostia y a Bizkaia.", ["Donostia", "Bizkaia"]),
    ("Vive a Girona i treballa a Lleida.", ["Girona", "Lleida"]),
    ("Reside en A Coruña desde 2010.", ["A Coruña"]),
    ("Remitida desde Ciudad de Guatemala.", ["Ciudad de Guatemala"]),
    ("Procede de Buenos Aires, Argentina.", ["Buenos Aires"]),
    # a manufacturer's city in a product reference
    ("colirio (Laboratorio Ficticio, Barcelona, España) cada 8 horas", ["Barcelona"]),
    # after a postal code: one locality, two words, or a locality then its province
    ("C/ Pez 3, 28400 Collado Villalba", ["28400", "Collado Villalba"]),
    ("Camino Alto s/n 13600 Alcázar de San Juan (Ciudad Real)",
     ["13600", "Alcázar de San Juan", "Ciudad Real"]),
    ("Ctra. Vieja 5 50800 Zuera Zaragoza", ["50800", "Zuera", "Zaragoza"]),
    ("Calle Sol 1 38760 Los Llanos de Aridane Tenerife.", ["38760", "Los Llanos de Aridane", "Tenerife"]),
    # the "E-" prefix of a Spanish postal code is part of it
    ("Plaza Nueva 2 E-31008 Pamplona", ["E-31008", "Pamplona"]),
    # labelled foreign postal codes
    ("Localidad: Rosario.\nCP: S2000.\n", ["Rosario", "S2000"]),
    ("CP: C1059ABG.\n", ["C1059ABG"]),
    ("C.P. 40140-276 Heredia", ["40140-276"]),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_places_found(engine: RuleEngine, text: str, expected: list[str]) -> None:
    assert spans(engine, text) == expected


NEGATIVE = [
    # lower-case words, parts of longer words, e-mail addresses and web domains
    "Presenta una cuenca ocular hundida y lima las uñas.",
    "Escribir a consulta.malaga@ejemplo.es o visitar www.madrid.org.",
    "Tratamiento con Madridol 5 mg (nombre inventado).",
    # a given name that is also a city is not in the gazetteer
    "Nombre: Santiago Gil Paz.",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_no_place(engine: RuleEngine, text: str) -> None:
    assert spans(engine, text) == []


def test_names_win_over_places(engine: RuleEngine) -> None:
    """A surname that is also a city stays inside the person name."""
    text = "Nombre: Ana Toledo León.\n"
    assert spans(engine, text) == []
    assert spans(engine, text, "NOMBRE_SUJETO_ASISTENCIA") == ["Ana Toledo León"]


def test_facility_and_street_win_over_places(engine: RuleEngine) -> None:
    text = "Hospital Universitario de Getafe. Avenida de Madrid 5, 28905 Getafe"
    assert "Avenida de Madrid 5" in spans(engine, text, "CALLE")
    assert spans(engine, text) == ["28905", "Getafe"]


def test_trie_alternation_matches_exactly_the_words() -> None:
    words = ["Ávila", "Ávila de Abajo", "Avilés", "León", "Leganés", "La Coruña"]
    rx = re.compile(rf"^{_trie_alt(words)}$")
    for w in words:
        assert rx.match(w), w
    assert rx.match("La  Coruña")  # a run of spaces
    for w in ["Ávil", "Avila", "Leon", "Le", "La", "Ávila de"]:
        assert not rx.match(w), w


def test_gazetteer_is_well_formed() -> None:
    places = load_resource("places")
    assert isinstance(places["_about"], str)
    lists = {k: v for k, v in places.items() if not k.startswith("_")}
    assert {"provinces", "regions", "islands", "cities_es", "international"} <= set(lists)
    for key, names in lists.items():
        assert len(names) == len(set(names)), key
        for name in names:
            assert name == name.strip() and name[:1].isupper(), (key, name)


def test_lower_pattern_keeps_escapes_and_group_names() -> None:
    """Case-insensitive rules run lower-cased; ``\\W`` must not become ``\\w`` on the way."""
    from alia_clin.deid.rules import _lower_pattern

    assert _lower_pattern(r"(?P<Val>Calle[^\W\d_]\S\D)\.") == r"(?P<Val>calle[^\W\d_]\S\D)\."
    assert re.fullmatch(_lower_pattern(r"(?P<v>C[^\W\d_])"), "ca")
    assert not re.fullmatch(_lower_pattern(r"(?P<v>C[^\W\d_])"), "c-")
