"""Per-note language detection (es/ca/eu/gl) on the shipped synthetic examples."""

from __future__ import annotations

from importlib import resources

import pytest
from spacy.language import Language

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


@pytest.fixture(scope="module")
def nlp() -> Language:
    from alia_clin import load

    return load()


@pytest.mark.parametrize(
    ("text", "lang", "drug"),
    [
        ("Paciente de 80 anos con insuficiencia cardíaca. Suspéndese enalapril.", "gl", "enalapril"),
        ("Pacient de 80 anys amb insuficiència cardíaca. Es retira el bisoprolol.", "ca", "bisoprolol"),
    ],
)
def test_nlp_on_a_bare_text_reads_the_notes_own_language(
    nlp: Language, text: str, lang: str, drug: str
) -> None:
    """``nlp(text)`` sets no language; the context stage detects it (and writes it), so the note
    gets its own lexicon: "suspéndese" / "es retira" are discontinuations only in gl / ca."""
    doc = nlp(text)
    assert doc._.language == lang
    assert {e.text: e._.assertion for e in doc.ents}[drug] == "negated"
    given = nlp.make_doc(text)
    given._.language = "es"  # a language the caller sets is kept
    assert nlp(given)._.language == "es"
