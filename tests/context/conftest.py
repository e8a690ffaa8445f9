"""Fixtures for the context tests: a blank pipeline with alia_sections + alia_context."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from alia_clin.pipeline import context, sections, tokenizer  # noqa: F401  (factories)
from alia_clin.pipeline.context import ContextComponent

TOKENIZER = {"nlp": {"tokenizer": {"@tokenizers": "alia_clin.WordPunctTokenizer.v1"}}}


def context_pipe(nlp: Language, name: str = "alia_context") -> ContextComponent:
    """The alia_context pipe of ``nlp``, typed."""
    pipe = nlp.get_pipe(name)
    assert isinstance(pipe, ContextComponent)
    return pipe


def char_span(doc: Doc, start: int, end: int, label: str = "ENT") -> Span:
    """``doc.char_span`` that must succeed."""
    span = doc.char_span(start, end, label=label)
    assert span is not None
    return span


def make_nlp(**context_cfg: object) -> Language:
    """A fresh, initialized blank pipeline with alia_sections and alia_context."""
    nlp = spacy.blank("es", config=TOKENIZER)
    nlp.add_pipe("alia_sections")
    nlp.add_pipe("alia_context", config=dict(context_cfg))
    nlp.initialize()
    return nlp


@pytest.fixture(scope="module")
def nlp() -> Language:
    return make_nlp()


Annotate = Callable[..., dict[str, str]]


def annotate_with(nlp: Language, text: str, entities: list[str], lang: str = "es") -> dict[str, str]:
    """Run the pipeline on ``text`` with ``entities`` (first occurrence of each, in order) as ents."""
    doc = nlp.make_doc(text)
    doc._.language = lang
    spans = []
    pos = 0
    for ent in entities:
        i = text.index(ent, pos)
        spans.append(char_span(doc, i, i + len(ent)))
        pos = i + len(ent)
    doc.ents = spans
    out: Doc = nlp(doc)
    return {e.text: e._.assertion for e in out.ents}


@pytest.fixture(scope="module")
def annotate(nlp: Language) -> Annotate:
    def run(text: str, entities: list[str], lang: str = "es") -> dict[str, str]:
        return annotate_with(nlp, text, entities, lang)

    return run
