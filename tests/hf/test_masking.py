"""Explicit HF mention finding and masking (synthetic sentences)."""

from __future__ import annotations

import pytest

from alia_clin.hf.masking import find_hf_mentions, mask_hf_mentions


def _found(text: str) -> list[str]:
    return [text[m.start : m.end] for m in find_hf_mentions(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Ingresa por insuficiencia cardiaca congestiva descompensada.",
            ["insuficiencia cardiaca congestiva descompensada"],
        ),
        (
            "Antecedente de Insuficiencia Cardíaca con FEVI reducida.",
            ["Insuficiencia Cardíaca con FEVI reducida"],
        ),
        ("Diagnóstico: ICFEr en tratamiento.", ["ICFEr"]),
        ("Episodio previo de ICC y de IC aguda.", ["ICC", "IC"]),
        ("Fallo cardiaco global.", ["Fallo cardiaco global"]),
        ("Pacient amb insuficiència cardíaca crònica.", ["insuficiència cardíaca crònica"]),
        ("Bihotz-gutxiegitasuna du.", ["Bihotz-gutxiegitasuna"]),
        ("Known HFpEF and congestive heart failure.", ["HFpEF", "congestive heart failure"]),
    ],
)
def test_finds_explicit_mentions(text: str, expected: list[str]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "HR 1,4 (IC 95 % 1,1-1,8).",
        "IC del 95 % entre 2 y 3.",
        "IC: a cardiología.",
        "Portador de ICD desde 2019.",
        "Insuficiencia mitral y renal; frecuencia cardiaca 80 lpm; ICTUS previo.",
    ],
)
def test_leaves_other_uses_alone(text: str) -> None:
    assert _found(text) == []


def test_mask_keeps_length_and_offsets() -> None:
    text = "Mujer con IC crónica. Edemas maleolares.\nSin otra insuficiencia cardiaca."
    masked = mask_hf_mentions(text)
    assert len(masked) == len(text)
    assert "IC" not in masked.split() and "insuficiencia" not in masked
    start = text.index("Edemas")
    assert masked[start : start + 6] == "Edemas"
    assert masked.count("\n") == text.count("\n")
    assert mask_hf_mentions("") == ""
