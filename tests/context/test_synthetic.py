"""Catalan and Galician synthetic sentences (written for this project, no real data): every
trigger type; the assertion accuracy must be at least 0.90."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacy.language import Language

from .conftest import annotate_with, char_span

DATA = Path(__file__).parent


@pytest.mark.parametrize("lang", ["ca", "gl"])
def test_synthetic_accuracy(nlp: Language, lang: str) -> None:
    rows = [
        json.loads(line) for line in (DATA / f"data_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(rows) >= 60
    labels = {e[2] for r in rows for e in r["entities"]}
    assert labels == {"present", "negated", "uncertain", "hypothetical", "historical", "family"}
    correct = total = 0
    for row in rows:
        text = row["text"]
        doc = nlp.make_doc(text)
        doc._.language = row["language"]
        doc.ents = [char_span(doc, s, e, "ENT") for s, e, _ in row["entities"]]
        doc = nlp(doc)
        for ent, (_s, _e, gold) in zip(doc.ents, row["entities"], strict=True):
            total += 1
            correct += ent._.assertion == gold
    assert correct / total >= 0.90


def test_annotate_helper_keeps_order(nlp: Language) -> None:
    assert annotate_with(nlp, "Sense febre.", ["febre"], lang="ca") == {"febre": "negated"}
