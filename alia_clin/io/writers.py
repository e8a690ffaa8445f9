"""Turn processed Docs into output records: BRAT ``.ann`` content, JSON records, de-identified text.

Reads ``doc.spans["phi"]`` (PHI), ``doc.ents`` and ``doc.spans["nested_entities"]`` (clinical
entities, :func:`alia_clin.entities.entity_spans`) and, when present,
``span._.assertion`` and ``doc.cats``; writes nothing to the Doc.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from ..deid.document import deidentify_doc
from ..entities import entity_spans
from .brat import format_ann

PHI_KEY = "phi"
#: Assertion values (``span._.assertion``) → BRAT attribute names of the folder contract.
ASSERTION_ATTRIBUTES = {
    "negated": "Negated",
    "uncertain": "Uncertain",
    "historical": "Historical",
    "hypothetical": "Hypothetical",
    "family": "Family",
}


def phi_spans(doc: Doc) -> list[Span]:
    """The PHI spans of ``doc`` (empty when de-identification did not run)."""
    return list(doc.spans[PHI_KEY]) if PHI_KEY in doc.spans else []


def _assertion(span: Span) -> str | None:
    if span.has_extension("assertion"):
        value = span._.assertion
        return str(value) if value else None
    return None


def doc_to_brat(doc: Doc) -> str:
    """BRAT content: PHI ``T`` lines, then entity ``T`` lines, then assertion ``A`` lines."""
    items: list[tuple[int, int, str]] = [(s.start_char, s.end_char, s.label_) for s in phi_spans(doc)]
    attributes: list[tuple[int, str]] = []
    for ent in entity_spans(doc):
        items.append((ent.start_char, ent.end_char, ent.label_))
        name = ASSERTION_ATTRIBUTES.get(_assertion(ent) or "")
        if name:
            attributes.append((len(items) - 1, name))
    return format_ann(doc.text, items, attributes)


def doc_to_record(doc: Doc, *, include_text: bool = False) -> dict[str, Any]:
    """A JSON-able record of every annotation, with offsets (span text only if asked)."""
    group = doc.spans.get(PHI_KEY)
    scores = group.attrs.get("scores", []) if group is not None else []
    sources = group.attrs.get("sources", []) if group is not None else []
    phi = []
    for i, span in enumerate(phi_spans(doc)):
        item: dict[str, Any] = {"start": span.start_char, "end": span.end_char, "label": span.label_}
        if i < len(scores):
            item["score"] = scores[i]
        if i < len(sources):
            item["source"] = sources[i]
        if include_text:
            item["text"] = span.text
        phi.append(item)
    ents = []
    for ent in entity_spans(doc):
        e: dict[str, Any] = {"start": ent.start_char, "end": ent.end_char, "label": ent.label_}
        if ent.kb_id_:
            e["code"] = ent.kb_id_
        if ent.has_extension("codings") and ent._.codings:
            e["codings"] = ent._.codings["codings"]
        assertion = _assertion(ent)
        if assertion:
            e["assertion"] = assertion
        if include_text:
            e["text"] = ent.text
        ents.append(e)
    record: dict[str, Any] = {"id": doc._.note_id, "phi": phi, "entities": ents}
    if doc.has_extension("measurements") and doc._.measurements:
        record["measurements"] = list(doc._.measurements)
    if "sections" in doc.spans:
        record["sections"] = [
            {"start": s.start_char, "end": s.end_char, "label": s.label_} for s in doc.spans["sections"]
        ]
    if doc.cats:
        record["cats"] = {k: float(v) for k, v in doc.cats.items()}
    return record


def deidentified_text(
    doc: Doc, operator: str, *, secret: str | bytes | None = None, patient_key: str | None = None
) -> str:
    """The de-identified text of ``doc`` under ``operator`` (``doc.text`` stays untouched)."""
    return deidentify_doc(doc, operator, secret=secret, patient_key=patient_key).text
