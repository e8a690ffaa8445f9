"""alia_codes: kb_id_ and codings on entities, uncoded labels untouched, round-trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

from alia_clin import TOKENIZER
from alia_clin.errors import AliaClinRuntimeError
from alia_clin.pipeline import codes  # noqa: F401  (registers the factory)
from alia_clin.pipeline.spans import exact_spans

TEXT = "Ingresa por insuficiencia cardiaca. Tratada con furosemida. Refiere disnea. Tumor raro."


def _nlp() -> spacy.language.Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_codes")
    nlp.initialize()
    return nlp


def _doc(nlp: spacy.language.Language) -> Doc:
    doc = nlp.make_doc(TEXT)
    items = []
    for words, label in (("insuficiencia cardiaca", "ENFERMEDAD"), ("furosemida", "FARMACO"),
                         ("disnea", "SINTOMA"), ("Tumor raro", "MORFOLOGIA_NEOPLASIA")):
        start = TEXT.index(words)
        items.append((start, start + len(words), label))
    doc.ents = exact_spans(doc, items)
    return doc


def test_codes_written() -> None:
    nlp = _nlp()
    doc = nlp.get_pipe("alia_codes")(_doc(nlp))
    got = {e.text: e.kb_id_ for e in doc.ents}
    assert got["insuficiencia cardiaca"] == "snomed:84114007"
    assert got["furosemida"] == "atc:C03CA01"
    assert got["disnea"].startswith("snomed:")
    assert got["Tumor raro"] == ""
    hf = next(e for e in doc.ents if e.label_ == "ENFERMEDAD")
    systems = {c["system"] for c in hf._.codings["codings"]}
    assert "http://snomed.info/sct" in systems and len(systems) >= 2


def test_uninitialized_raises() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_codes")
    with pytest.raises(AliaClinRuntimeError, match=r"\[E001\]"):
        nlp("texto")


def test_roundtrip_fresh_process(tmp_path: Path) -> None:
    nlp = _nlp()
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "alia_codes" / "concepts.tsv").exists()
    script = (
        "import json, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'p')!r})\n"
        f"text = {TEXT!r}\n"
        "doc = nlp.make_doc(text)\n"
        "start = text.index('furosemida')\n"
        "doc.ents = [doc.char_span(start, start + 10, label='FARMACO')]\n"
        "doc = nlp.get_pipe('alia_codes')(doc)\n"
        "print(json.dumps([e.kb_id_ for e in doc.ents]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["atc:C03CA01"]


PHI_TEXT = "Remitido por: Dr. Jorge Salas Peña. NASS: 28 1234567. Tratamiento: telmisartán 40 mg."


@pytest.mark.parametrize("drop", [True, False])
def test_uncoded_entities_made_of_phi_are_removed(drop: bool) -> None:
    """A name and an identifier taken for findings go; a coded drug that the PHI layer took for a
    name stays; an entity that only overlaps PHI stays."""
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_codes", config={"drop_uncoded_phi": drop})
    nlp.initialize()
    doc = nlp.make_doc(PHI_TEXT)

    def at(words: str, label: str) -> tuple[int, int, str]:
        start = PHI_TEXT.index(words)
        return start, start + len(words), label

    doc.spans["phi"] = exact_spans(doc, [at("Jorge Salas Peña", "NOMBRE_PERSONAL_SANITARIO"),
                                         at("28 1234567", "ID_ASEGURAMIENTO"),
                                         at("telmisartán", "NOMBRE_PERSONAL_SANITARIO")])
    doc.ents = exact_spans(doc, [at("Dr. Jorge", "SINTOMA"), at("Salas Peña", "SINTOMA"),
                                 at("28", "ENFERMEDAD"), at("telmisartán", "FARMACO")])
    doc.spans["nested_entities"] = exact_spans(doc, [at("Peña", "SINTOMA")])
    doc = nlp.get_pipe("alia_codes")(doc)
    kept = [e.text for e in doc.ents]
    if drop:
        assert kept == ["Dr. Jorge", "telmisartán"] and list(doc.spans["nested_entities"]) == []
    else:
        assert kept == ["Dr. Jorge", "Salas Peña", "28", "telmisartán"]
        assert [s.text for s in doc.spans["nested_entities"]] == ["Peña"]
