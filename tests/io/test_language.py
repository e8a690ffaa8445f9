"""Per-note language detection (es/ca/eu/gl) on the shipped synthetic examples."""

from __future__ import annotations

from importlib import resources

import pytest

from alia_clin.io.language import detect_language, resolve_language

EXAMPLES = resources.files("alia_clin") / "resources" / "examples"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if p.name.endswith(".txt")))
def test_shipped_examples(name: str) -> None:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert detect_language(text) == name[:2]


def test_short_sentences_and_fallback() -> None:
    assert detect_language("Pacient amb dispnea i febre, sense dolor toràcic.") == "ca"
    assert detect_language("Gaixoak ez du sukarrik eta ez du eztulik.") == "eu"
    assert detect_language("Paciente con febre e tose, non refire dor torácica.") == "gl"
    assert detect_language("Paciente con fiebre y tos, no refiere dolor torácico.") == "es"
    assert detect_language("TA 120/80", fallback="ca") == "ca"  # too short to judge


def test_resolve_prefers_record_then_forced() -> None:
    assert resolve_language("Pacient amb febre i tos persistent.", "GL", "auto") == "gl"
    assert resolve_language("Pacient amb febre i tos persistent.", None, "es") == "es"
    assert resolve_language("Pacient amb febre i tos persistent.", "xx", "auto") == "ca"
