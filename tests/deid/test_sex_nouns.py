"""Sex words standing alone (SEXO_SUJETO_ASISTENCIA): MEDDOCAN marks them wherever they refer to
the patient. Every sentence below is invented for these tests."""

from __future__ import annotations

import pytest

from alia_clin.deid.rules import RuleEngine


def sex(engine: RuleEngine, text: str) -> list[str]:
    return [text[m.start:m.end] for m in engine.analyze(text) if m.label == "SEXO_SUJETO_ASISTENCIA"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("La exploración del niño fue normal.", ["niño"]),
        ("La niña no rechaza las frutas.", ["niña"]),
        ("Tras un año, la mujer ha recuperado la función renal.", ["mujer"]),
        ("Mujer, diagnosticada de HTA a los 14 años.", ["Mujer"]),
        ("Varón de 67 años con disnea.", ["Varón"]),  # the age-anchored rule still applies
        ("El nen presenta febre.", ["nen"]),
        ("A muller refire dor torácica.", ["muller"]),
        ("Neska ospitalera ekarri dute.", ["Neska"]),
    ],
)
def test_sex_noun_found(engine: RuleEngine, text: str, expected: list[str]) -> None:
    assert sex(engine, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Acude acompañado de su mujer.",  # a relative, not the patient's sex
        "Sus niños están sanos.",
        "Nuevo tratamiento con niñolina (nombre inventado).",  # inside a longer word
        "La cuidadora es una hermana de la otra mujer.",
    ],
)
def test_sex_noun_not_found(engine: RuleEngine, text: str) -> None:
    assert sex(engine, text) == []
