"""Nested entities: drug substances inside PROCEDIMIENTO entities (``alia_terms``), coded
(``alia_codes``), asserted like their container (``alia_context``), and written by every writer
(BRAT, JSONL record, entity table, FHIR); overlapping ``--entities-from`` entities are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

from alia_clin import TOKENIZER
from alia_clin.batch.processor import make_doc
from alia_clin.entities import NESTED_KEY, container_of, entity_spans, nested_entities
from alia_clin.fhir import FhirPolicy, doc_to_bundle, resources_by_type
from alia_clin.io.brat import parse_ann
from alia_clin.io.entity_table import entity_rows
from alia_clin.io.folders import NoteRecord
from alia_clin.io.writers import doc_to_brat, doc_to_record
from alia_clin.pipeline import codes, context, terms  # noqa: F401  (registers the factories)
from alia_clin.pipeline.spans import exact_spans

TEXT = (
    "Se inicia perfusión de dobutamina y furosemida. No se inicia perfusión de noradrenalina. "
    "Tratamiento con diuréticos. Dolor tras clopidogrel."
)
GIVEN = [
    ("perfusión de dobutamina y furosemida", "PROCEDIMIENTO"),
    ("perfusión de noradrenalina", "PROCEDIMIENTO"),
    ("Tratamiento con diuréticos", "PROCEDIMIENTO"),
    ("Dolor tras clopidogrel", "SINTOMA"),
]


def _offsets(text: str) -> tuple[int, int]:
    start = TEXT.index(text)
    return start, start + len(text)


def _nlp(nested: bool = True) -> spacy.language.Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_terms", config={"nested": nested})
    nlp.add_pipe("alia_codes")
    nlp.add_pipe("alia_context")
    nlp.initialize()
    return nlp


def _run(nlp: spacy.language.Language) -> Doc:
    doc = nlp.make_doc(TEXT)
    doc._.language = "es"
    doc.ents = exact_spans(doc, [(*_offsets(t), label) for t, label in GIVEN])
    return nlp(doc)


@pytest.fixture(scope="module")
def doc() -> Doc:
    return _run(_nlp())


def test_substances_inside_procedures_become_nested_drugs(doc: Doc) -> None:
    nested = [(s.text, s.label_) for s in nested_entities(doc)]
    assert nested == [("dobutamina", "FARMACO"), ("furosemida", "FARMACO"), ("noradrenalina", "FARMACO")]
    # a drug class ("diuréticos") is not nested; a drug inside a symptom is not either
    assert [(e.text, e.label_) for e in doc.ents] == GIVEN
    for span in nested_entities(doc):
        outer = container_of(span, list(doc.ents))
        assert outer is not None and outer.label_ == "PROCEDIMIENTO"


def test_nested_drugs_are_coded_and_asserted_like_their_container(doc: Doc) -> None:
    by_text = {s.text: s for s in nested_entities(doc)}
    assert by_text["dobutamina"].kb_id_ == "atc:C01CA07"
    assert by_text["furosemida"]._.codings["concept_id"] == "FUROSEMIDE"
    assert by_text["dobutamina"]._.assertion == "present"
    assert by_text["noradrenalina"]._.assertion == "negated"
    outer = {e.text: e for e in doc.ents}["perfusión de noradrenalina"]
    assert outer._.assertion == "negated"


def test_entity_spans_orders_containers_before_their_contents(doc: Doc) -> None:
    spans = [(s.start_char, s.end_char) for s in entity_spans(doc)]
    assert spans == sorted(spans, key=lambda se: (se[0], -se[1]))
    assert len(spans) == len(doc.ents) + 3


def test_nested_off_and_existing_group_kept() -> None:
    assert nested_entities(_run(_nlp(nested=False))) == []
    nlp = _nlp()
    doc = nlp.make_doc(TEXT)
    doc._.language = "es"
    doc.ents = exact_spans(doc, [(*_offsets(t), label) for t, label in GIVEN])
    doc.spans[NESTED_KEY] = exact_spans(doc, [(*_offsets("Dolor"), "SINTOMA")])
    doc = nlp(doc)
    texts = [s.text for s in nested_entities(doc)]
    assert texts == ["dobutamina", "furosemida", "noradrenalina", "Dolor"]
    # a given span with no container of its own is asserted on its own
    assert {s.text: s._.assertion for s in nested_entities(doc)}["Dolor"] == "present"


def test_phi_inside_a_procedure_is_never_a_nested_drug() -> None:
    nlp = _nlp()
    doc = nlp.make_doc(TEXT)
    doc._.language = "es"
    doc.ents = exact_spans(doc, [(*_offsets(t), label) for t, label in GIVEN])
    doc.spans["phi"] = exact_spans(doc, [(*_offsets("furosemida"), "NOMBRE_SUJETO_ASISTENCIA")])
    texts = [s.text for s in nested_entities(nlp(doc))]
    assert texts == ["dobutamina", "noradrenalina"]


def test_writers_emit_nested_entities(doc: Doc) -> None:
    doc._.note_id = "nested-1"
    ann = parse_ann(doc_to_brat(doc))
    entities = {(e.start, e.end, e.label) for e in ann.entities}
    assert (*_offsets("dobutamina"), "FARMACO") in entities
    assert (*_offsets("perfusión de dobutamina y furosemida"), "PROCEDIMIENTO") in entities
    record = doc_to_record(doc)
    drugs = [e for e in record["entities"] if e["label"] == "FARMACO"]
    assert [(e["start"], e["end"]) for e in drugs] == [
        _offsets("dobutamina"),
        _offsets("furosemida"),
        _offsets("noradrenalina"),
    ]
    assert [e.get("assertion") for e in drugs] == ["present", "present", "negated"]
    assert drugs[0]["code"] == "atc:C01CA07"
    rows = [r for r in entity_rows(doc) if r["label"] == "FARMACO"]
    assert [r["code"] for r in rows] == ["atc:C01CA07", "atc:C03CA01", "atc:C01CA03"]


def test_fhir_bundle_has_a_medication_statement_per_nested_drug(doc: Doc) -> None:
    doc._.patient_id = "p-1"
    doc._.note_id = "nested-1"
    bundle = doc_to_bundle(doc, policy=FhirPolicy(secret="test-secret"))
    meds = resources_by_type(bundle)["MedicationStatement"]
    codings = [c for m in meds for c in m["medicationCodeableConcept"]["coding"]]
    codes_ = sorted(c["code"] for c in codings if "atc" in c["system"])
    assert codes_ == ["C01CA03", "C01CA07", "C03CA01"]


def test_entities_from_keeps_overlapping_given_entities(tmp_path: Path) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    outer, inner, other = _offsets(GIVEN[0][0]), _offsets("dobutamina"), _offsets("Dolor tras")
    (tmp_path / "n1.ann").write_text(
        f"T1\tPROCEDIMIENTO {outer[0]} {outer[1]}\tx\n"
        f"T2\tFARMACO {inner[0]} {inner[1]}\tx\n"
        f"T3\tFARMACO {inner[0]} {inner[1]}\tx\n"
        f"T4\tSINTOMA {other[0]} {other[1]}\tx\n",
        encoding="utf-8",
    )
    doc = make_doc(nlp, NoteRecord(id="n1", text=TEXT), "es", tmp_path)
    assert [(e.start_char, e.end_char) for e in doc.ents] == [outer, other]
    assert [(s.start_char, s.end_char, s.label_) for s in nested_entities(doc)] == [(*inner, "FARMACO")]


def test_doc_bytes_round_trip_keeps_nested_codes_and_assertions(doc: Doc) -> None:
    clone = Doc(doc.vocab).from_bytes(doc.to_bytes())
    got = [(s.start_char, s.kb_id_, s._.assertion, s._.codings["concept_id"]) for s in nested_entities(clone)]
    want = [(s.start_char, s.kb_id_, s._.assertion, s._.codings["concept_id"]) for s in nested_entities(doc)]
    assert got == want and len(got) == 3


TESTS_TEXT = (
    "Hemocultivos negativos. Fibrilación auricular (FA) paroxística. Resonancia magnética (RM) "
    "cardiaca. FA paroxística. Palpitaciones por fibrilación auricular (FA). Alergia a ibuprofeno. "
    "Se pauta furosemida y diuréticos."
)
TESTS_GIVEN = [
    ("Hemocultivos negativos", "SINTOMA"),
    ("Fibrilación auricular (FA) paroxística", "ENFERMEDAD"),
    ("Resonancia magnética (RM) cardiaca", "PROCEDIMIENTO"),
    ("FA paroxística", "ENFERMEDAD"),
    ("Palpitaciones por fibrilación auricular (FA)", "SINTOMA"),
    ("Alergia a ibuprofeno", "ENFERMEDAD"),
    ("furosemida", "PROCEDIMIENTO"),
    ("diuréticos", "PROCEDIMIENTO"),
]


def _tests_doc(nlp: spacy.language.Language) -> Doc:
    doc = nlp.make_doc(TESTS_TEXT)
    doc._.language = "es"
    spans = []
    for text, label in TESTS_GIVEN:
        start = TESTS_TEXT.index(text)
        spans.append((start, start + len(text), label))
    doc.ents = exact_spans(doc, spans)
    return nlp(doc)


def test_procedures_in_findings_and_parenthesized_abbreviations_are_nested() -> None:
    doc = _tests_doc(_nlp())
    nested = [(s.text, s.label_) for s in nested_entities(doc)]
    # the test inside a finding; each abbreviation in parentheses, with its container's label; a
    # drug substance inside a disorder. Not nested: an abbreviation outside parentheses ("FA
    # paroxística"), a disorder inside a finding (only procedures are).
    assert nested == [
        ("Hemocultivos", "PROCEDIMIENTO"),
        ("FA", "ENFERMEDAD"),
        ("RM", "PROCEDIMIENTO"),
        ("ibuprofeno", "FARMACO"),
    ]
    assert {s.text: s.kb_id_ for s in nested_entities(doc)}["Hemocultivos"] == "snomed:30088009"


@pytest.mark.parametrize("relabel", [True, False])
def test_an_entity_that_is_exactly_a_drug_substance_becomes_farmaco(relabel: bool) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_terms", config={"relabel_substances": relabel})
    nlp.initialize()
    doc = _tests_doc(nlp)
    labels = {e.text: e.label_ for e in doc.ents}
    # a drug class ("diuréticos") and every other entity keep their label
    assert labels["diuréticos"] == "PROCEDIMIENTO"
    assert labels["furosemida"] == ("FARMACO" if relabel else "PROCEDIMIENTO")
    assert [(e.text, e.label_) for e in doc.ents if e.text != "furosemida"] == [
        g for g in TESTS_GIVEN if g[0] != "furosemida"
    ]


def test_fhir_has_no_medication_statement_for_a_drug_named_in_a_disorder() -> None:
    doc = _tests_doc(_nlp())
    assert ("ibuprofeno", "FARMACO") in [(s.text, s.label_) for s in nested_entities(doc)]
    doc._.patient_id = "p-1"
    doc._.note_id = "nested-2"
    bundle = doc_to_bundle(doc, policy=FhirPolicy(secret="test-secret"))
    by_type = resources_by_type(bundle)
    meds = by_type.get("MedicationStatement", [])
    codes_ = sorted(
        c["code"] for m in meds for c in m["medicationCodeableConcept"]["coding"] if "atc" in c["system"]
    )
    assert codes_ == ["C03CA01"]  # furosemida (relabelled), not the ibuprofeno of "Alergia a ibuprofeno"
    assert len(by_type["Procedure"]) >= 2  # the nested hemocultivos and RM are procedures


@pytest.mark.parametrize(
    ("text", "outer", "inner", "expected"),
    [
        # the test was done: a negation of what it found does not undo it
        (
            "Sin alteraciones en el ecocardiograma.",
            ("alteraciones en el ecocardiograma", "SINTOMA"),
            ("ecocardiograma", "PROCEDIMIENTO"),
            ("negated", "present"),
        ),
        (
            "Broncoaspirado: microbiología negativa.",
            ("Broncoaspirado: microbiología negativa", "SINTOMA"),
            ("Broncoaspirado", "PROCEDIMIENTO"),
            ("negated", "present"),
        ),
        # a test that was not done is negated on its own
        (
            "No se realizó ecocardiograma transtorácico.",
            ("ecocardiograma transtorácico", "SINTOMA"),
            ("ecocardiograma", "PROCEDIMIENTO"),
            ("negated", "negated"),
        ),
        # anything else takes its container's assertion
        (
            "Insuficiencia cardiaca (IC) descartada.",
            ("Insuficiencia cardiaca (IC) descartada", "ENFERMEDAD"),
            ("IC", "ENFERMEDAD"),
            ("negated", "negated"),
        ),
    ],
)
def test_nested_test_in_a_negated_entity_is_asserted_on_its_own(
    text: str, outer: tuple[str, str], inner: tuple[str, str], expected: tuple[str, str]
) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_context")
    nlp.initialize()
    doc = nlp.make_doc(text)
    doc._.language = "es"
    o, i = text.index(outer[0]), text.index(inner[0])
    doc.ents = exact_spans(doc, [(o, o + len(outer[0]), outer[1])])
    doc.spans[NESTED_KEY] = exact_spans(doc, [(i, i + len(inner[0]), inner[1])])
    doc = nlp(doc)
    assert (doc.ents[0]._.assertion, nested_entities(doc)[0]._.assertion) == expected
