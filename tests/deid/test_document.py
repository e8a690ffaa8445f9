"""deidentify_doc: operators over a processed Doc, offsets mapped into the de-identified text."""

from __future__ import annotations

import alia_clin
from alia_clin.deid.document import deidentify_doc


def test_surrogate_consistent_for_patient_and_offsets_map(synthetic_note: str) -> None:
    nlp = alia_clin.build_rules_pipeline()
    doc = nlp(synthetic_note)
    doc._.patient_id = "patient-1"
    a = deidentify_doc(doc, "surrogate", secret="k1")
    b = deidentify_doc(nlp(synthetic_note), "surrogate", secret="k1", patient_key="patient-1")
    assert a.text == b.text
    for span in doc.spans["phi"]:
        assert span.text not in a.text or span.label_ == "SEXO_SUJETO_ASISTENCIA"
    # a clinical word outside PHI keeps its exact text at its mapped offsets
    start = synthetic_note.index("disnea")
    new_start, new_end = a.offset_map.to_new(start, start + len("disnea"))
    assert a.text[new_start:new_end] == "disnea"
    assert doc.text == synthetic_note


def test_tag_operator(synthetic_note: str) -> None:
    doc = alia_clin.build_rules_pipeline()(synthetic_note)
    out = deidentify_doc(doc, "tag").text
    assert "[FECHAS]" in out and "03/02/2024" not in out
