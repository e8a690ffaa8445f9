"""The entity table's text policies: no PHI text unless ``all``, even through a clinical entity."""

from __future__ import annotations

import spacy
from spacy.tokens import Span

from alia_clin import TOKENIZER
from alia_clin.io.entity_table import entity_rows
from alia_clin.pipeline.spans import exact_spans

TEXT = "Paciente: Lucía Ferrán Oliva. Disnea de esfuerzo."


def _doc():  # type: ignore[no-untyped-def]
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    doc = nlp(TEXT)
    name = (TEXT.index("Lucía"), TEXT.index(". Disnea"))
    doc.spans["phi"] = exact_spans(doc, [(*name, "NOMBRE_SUJETO_ASISTENCIA")])
    # the entity model took the name for a symptom, beside a real one
    symptom = (TEXT.index("Disnea"), len(TEXT) - 1)
    spans = exact_spans(doc, [(*name, "X"), (*symptom, "X")])
    doc.ents = [Span(doc, s.start, s.end, label="SINTOMA") for s in spans]
    return doc


def test_entity_text_policies() -> None:
    doc = _doc()
    texts = {policy: [(r["kind"], r["text"]) for r in entity_rows(doc, text_policy=policy)]
             for policy in ("none", "entities", "all")}
    assert texts["none"] == [("phi", ""), ("entity", ""), ("entity", "")]
    assert texts["entities"] == [("phi", ""), ("entity", ""), ("entity", "Disnea de esfuerzo")]
    assert texts["all"] == [("phi", "Lucía Ferrán Oliva"), ("entity", "Lucía Ferrán Oliva"),
                            ("entity", "Disnea de esfuerzo")]
