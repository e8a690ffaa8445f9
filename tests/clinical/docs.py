"""Helpers for the clinical tests: a blank pipeline with alia_clin's tokenizer and docs with
given entities (synthetic text only)."""

from __future__ import annotations

import spacy
from spacy.tokens import Doc

from alia_clin import TOKENIZER
from alia_clin.pipeline.spans import exact_spans


def blank_nlp() -> spacy.language.Language:
    """A blank Spanish pipeline with alia_clin's word/punctuation tokenizer."""
    return spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})


def doc_with_ents(nlp: spacy.language.Language, text: str, ents: list[tuple[str, str]]) -> Doc:
    """``text`` with ``ents`` (wording, label; each the next occurrence after the previous one)
    as ``doc.ents``."""
    doc = nlp.make_doc(text)
    spans, pos = [], 0
    for part, label in ents:
        start = text.index(part, pos)
        pos = start + len(part)
        spans.append((start, pos, label))
    doc.ents = exact_spans(doc, spans)
    return doc
